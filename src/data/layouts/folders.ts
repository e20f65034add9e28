// Folder-per-class datasets: FI (`emotion_dataset/<class>/`), Panda's Emotion-6
// (`images/<primary>/<secondary>/`, with the archive's `digust` typo), EmotionROI (`images/<class>/` +
// `training_testing_split/{training,testing}.txt`), IAPS (folder per label, or a ratings file with a
// valence threshold) and `plain` (`<root>/<class>/` with any taxonomy: new datasets need no code).
// Datasets without an official split are evaluation-only: every image goes to `test` unless split lists
// are given.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { dataError } from '../errors.js';
import { idFromRelative, isDir, isImageFile, listImages, subdirs } from '../files.js';
import type { IngestItem, LayoutResult, Problem } from '../manifest.js';
import type { Split } from '../splits.js';
import { pickColumn, readTable } from '../table-file.js';
import { findClass, type Taxonomy, type TaxonomyClass } from '../taxonomy.js';

export type FolderLayout = 'fi' | 'emotion6' | 'emotionroi' | 'iaps' | 'plain';

export interface FolderOptions {
  readonly root: string;
  readonly layout: FolderLayout;
  readonly taxonomy: Taxonomy;
  /** Folder name -> class id, for folders that do not spell a class id or display name. */
  readonly aliases: Readonly<Record<string, string>>;
  /** Split lists (one relative path per line, first token): images not listed are left out. */
  readonly splitFiles?: Readonly<Partial<Record<Split, string>>>;
  /** A class folder that is not a class of the taxonomy: fail (default) or leave its images out. */
  readonly unknownClass: 'fail' | 'skip';
  /** IAPS: a ratings table (CSV/TSV/JSONL) with an image id and a mean valence column. */
  readonly ratings?: string;
  readonly ratingsIdColumn?: string;
  readonly ratingsValenceColumn?: string;
  /** IAPS: valence above is positive, below is negative, equal is left out. */
  readonly valenceThreshold: number;
}

/** Default taxonomy per layout. */
export const LAYOUT_TAXONOMY: Readonly<Record<Exclude<FolderLayout, 'plain'>, string>> = {
  fi: 'fi8',
  emotion6: 'emotion6_6',
  emotionroi: 'emotionroi6',
  iaps: 'iaps2',
};

/** Known misspelled folders of the public archives. */
export const LAYOUT_ALIASES: Readonly<Record<FolderLayout, Readonly<Record<string, string>>>> = {
  fi: {},
  emotion6: { digust: 'disgust' },
  emotionroi: {},
  iaps: {},
  plain: {},
};

export function expectedLayout(layout: FolderLayout, tax: Taxonomy): string {
  const classes = tax.classes.map((c) => c.id).join(', ');
  switch (layout) {
    case 'fi':
      return `Expected the FI layout:\n  <root>/emotion_dataset/<class>/*.jpg   (or <root>/<class>/*.jpg)\n  <class> one of ${classes}`;
    case 'emotion6':
      return `Expected Panda's Emotion-6 layout:\n  <root>/images/<primary>/<secondary>/*.jpg   (or <root>/<primary>/...)\n  <primary> one of ${classes}`;
    case 'emotionroi':
      return `Expected the EmotionROI layout:\n  <root>/images/<class>/*.jpg\n  <root>/training_testing_split/training.txt, testing.txt   lines "<class>/<file>" (optional: without them every image is test)\n  <class> one of ${classes}`;
    case 'iaps':
      return `Expected an IAPS layout:\n  folders:  <root>/<label>/*.jpg   <label> one of ${classes}\n  ratings:  ratings: FILE (CSV/TSV with a picture id column, e.g. IAPS, and a mean valence column, e.g. valmn) + images anywhere under <root> named <id>.jpg`;
    case 'plain':
      return `Expected a folder per class:\n  <root>/<class>/*.jpg   <class> one of ${classes}`;
  }
}

/** The folder the class folders live in: `<root>/<sub>` when it exists, else `<root>`. */
function classBase(root: string, sub: string | undefined): string {
  return sub && isDir(join(root, sub)) ? join(root, sub) : root;
}

function classOf(opts: FolderOptions, folder: string): TaxonomyClass | undefined {
  const alias = opts.aliases[folder] ?? opts.aliases[folder.toLowerCase()];
  return findClass(opts.taxonomy, alias ?? folder);
}

interface Found {
  readonly items: IngestItem[];
  readonly excluded: Problem[];
  readonly extra?: Record<string, unknown>;
}

/** Images of `<base>/<class>/**`, labelled by the class folder; ids are paths relative to `root`. */
function scanClassFolders(opts: FolderOptions, base: string, secondaryCounts?: Record<string, number>): Found {
  const folders = isDir(base) ? subdirs(base) : [];
  const known = folders.filter((f) => classOf(opts, f));
  if (!known.length) {
    throw dataError(base, `no class folders found${folders.length ? ` (found ${folders.slice(0, 8).join(', ')})` : ''}`, expectedLayout(opts.layout, opts.taxonomy));
  }
  const items: IngestItem[] = [];
  const excluded: Problem[] = [];
  for (const folder of folders) {
    const c = classOf(opts, folder);
    const dir = join(base, folder);
    if (!c) {
      if (opts.unknownClass === 'fail') {
        throw dataError(
          dir,
          `"${folder}" is not a class of ${opts.taxonomy.id} (${opts.taxonomy.classes.map((k) => k.id).join(', ')})`,
          `Rename the folder, map it with aliases: { ${folder}: <class> }, or set unknown_class: skip.\n${expectedLayout(opts.layout, opts.taxonomy)}`,
        );
      }
      for (const rel of listImages(dir)) excluded.push({ ref: join(dir, rel), reason: `folder "${folder}" is not a class of ${opts.taxonomy.id}` });
      continue;
    }
    const prefix = relative(opts.root, dir).split(sep).join('/');
    for (const rel of listImages(dir)) {
      const path = join(dir, rel);
      items.push({ id: idFromRelative(prefix ? `${prefix}/${rel}` : rel), path, split: 'test', classId: c.id });
      if (secondaryCounts) {
        const parts = rel.split('/');
        const secondary = parts.length > 1 ? (opts.aliases[parts[0]] ?? parts[0]) : '(none)';
        const key = `${c.id}/${secondary}`;
        secondaryCounts[key] = (secondaryCounts[key] ?? 0) + 1;
      }
    }
  }
  return { items, excluded };
}

/** Applies split lists: listed images get that split, unlisted ones are left out, listed-but-absent are missing. */
function applySplitLists(found: Found, lists: Readonly<Partial<Record<Split, string>>>, base: string, root: string): { items: IngestItem[]; missing: Problem[]; excluded: Problem[] } {
  const byRel = new Map<string, IngestItem>();
  for (const it of found.items) {
    byRel.set(relative(base, it.path).split('\\').join('/'), it);
    byRel.set(relative(root, it.path).split('\\').join('/'), it);
  }
  const assigned = new Map<IngestItem, Split>();
  const missing: Problem[] = [];
  for (const [split, file] of Object.entries(lists) as [Split, string][]) {
    if (!existsSync(file)) throw dataError(file, `split list for ${split} not found`);
    readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
      const entry = raw.trim().split(/\s+/)[0];
      if (!entry) return;
      const where = `${relative(root, file) || basename(file)}:${i + 1}`;
      const it = byRel.get(entry.replace(/^\.\//, ''));
      if (!it) missing.push({ ref: entry, where, reason: 'listed but not on disk (or not in a class folder)' });
      else assigned.set(it, split);
    });
  }
  const items: IngestItem[] = [];
  const excluded = [...found.excluded];
  for (const it of found.items) {
    const s = assigned.get(it);
    if (s) items.push({ ...it, split: s });
    else excluded.push({ ref: it.path, reason: 'not in any split list' });
  }
  return { items, missing, excluded };
}

function readIapsRatings(opts: FolderOptions, ratingsFile: string): LayoutResult {
  const table = readTable(ratingsFile);
  const idCol = pickColumn(table, 'ratings_id', ['IAPS', 'iaps', 'id', 'image', 'picture', 'file', 'path'], opts.ratingsIdColumn);
  const valCol = pickColumn(table, 'ratings_valence', ['valmn', 'valence', 'valence_mean', 'ValMn'], opts.ratingsValenceColumn);
  const byStem = new Map<string, string>();
  for (const rel of listImages(opts.root)) {
    const stem = idFromRelative(basename(rel));
    if (!byStem.has(stem)) byStem.set(stem, rel);
  }
  const items: IngestItem[] = [];
  const missing: Problem[] = [];
  const excluded: Problem[] = [];
  const where = (line: number): string => `${basename(ratingsFile)}:${line}`;
  for (const r of table.records) {
    const ref = r.values[idCol] ?? '';
    const valence = Number(r.values[valCol]);
    if (!ref) continue;
    if (!Number.isFinite(valence)) throw dataError(`${ratingsFile}:${r.line}`, `valence "${r.values[valCol]}" in column ${valCol} is not a number`);
    // IAPS ids may contain dots (`2352.2`): strip only an image extension.
    const rel = byStem.get(isImageFile(ref) ? idFromRelative(basename(ref)) : basename(ref));
    if (!rel) {
      missing.push({ ref, where: where(r.line), reason: `no image named ${ref}.* under ${opts.root}` });
      continue;
    }
    const path = join(opts.root, rel);
    if (valence === opts.valenceThreshold) {
      excluded.push({ ref: path, where: where(r.line), reason: `valence ${valence} equals the threshold (neutral)` });
      continue;
    }
    items.push({ id: idFromRelative(rel), path, split: 'test', classId: valence > opts.valenceThreshold ? 'positive' : 'negative' });
  }
  const rated = new Set(items.map((i) => i.path).concat(excluded.map((e) => e.ref)));
  for (const rel of listImages(opts.root)) {
    const path = join(opts.root, rel);
    if (!rated.has(path)) excluded.push({ ref: path, reason: `no rating in ${basename(ratingsFile)}` });
  }
  return { layout: 'iaps-ratings', items, missing, excluded, extra: { valence_threshold: opts.valenceThreshold, valence_column: valCol } };
}

export function readFolderDataset(opts: FolderOptions): LayoutResult {
  if (!isDir(opts.root)) throw dataError(opts.root, 'dataset folder not found', expectedLayout(opts.layout, opts.taxonomy));
  if (opts.layout === 'iaps' && opts.ratings) {
    if (opts.taxonomy.classes.some((c) => c.id !== 'positive' && c.id !== 'negative')) {
      throw dataError(opts.ratings, `a ratings file yields positive/negative labels, but taxonomy ${opts.taxonomy.id} is not binary`);
    }
    return readIapsRatings(opts, opts.ratings);
  }
  const sub = { fi: 'emotion_dataset', emotion6: 'images', emotionroi: 'images', iaps: undefined, plain: undefined }[opts.layout];
  const base = classBase(opts.root, sub);
  const secondary: Record<string, number> | undefined = opts.layout === 'emotion6' ? {} : undefined;
  const found = scanClassFolders(opts, base, secondary);
  const extra = secondary ? { secondary_folders: secondary } : undefined;

  let lists = opts.splitFiles;
  if (!lists && opts.layout === 'emotionroi') {
    const dir = join(opts.root, 'training_testing_split');
    if (isDir(dir)) {
      for (const f of ['training.txt', 'testing.txt']) {
        if (!existsSync(join(dir, f))) throw dataError(join(dir, f), 'not found', expectedLayout('emotionroi', opts.taxonomy));
      }
      lists = { train: join(dir, 'training.txt'), test: join(dir, 'testing.txt') };
    }
  }
  const layout = lists ? `${opts.layout}+split-lists` : opts.layout;
  if (!lists) return { layout, items: found.items, missing: [], excluded: found.excluded, extra };
  return { layout, ...applySplitLists(found, lists, base, opts.root), extra };
}
