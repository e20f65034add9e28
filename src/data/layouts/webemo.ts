// WEBEmo on disk, in either of the two layouts researchers hold it in:
//   official: train25.txt / test25.txt (`<url> <label 0-24>`) + a folder of images downloaded from the
//             URLs, each named by the URL's last path segment;
//   folders:  {train,validation,test}/<class>/*.jpg (validation optional).
// WEBEmo has no official validation split: one is carved from train unless a validation folder exists.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { dataError } from '../errors.js';
import { idFromRelative, isDir, listImages, subdirs } from '../files.js';
import type { IngestItem, LayoutResult, Problem } from '../manifest.js';
import { carveValidation, type Split } from '../splits.js';
import { findClass, type Taxonomy } from '../taxonomy.js';

export const WEBEMO_LAYOUTS = `Expected one of the two WEBEmo layouts:
  official:  <root>/train25.txt, <root>/test25.txt   lines "<url> <label 0-24>"
             <root>/images/<file named by the URL's last path segment>   (or set images: DIR)
  folders:   <root>/train/<class>/*.jpg, <root>/test/<class>/*.jpg, optional <root>/validation/<class>/*.jpg
             <class> = a webemo25 class id (e.g. cheerfullness) or its 0-24 label`;

export interface WebemoOptions {
  readonly root: string;
  readonly layout: 'auto' | 'official' | 'folders';
  /** Folder of downloaded images for the official layout (default `<root>/images`). */
  readonly images?: string;
  readonly valFraction: number;
  readonly seed: number;
  /** The webemo25 taxonomy (with the confusion setting). */
  readonly taxonomy: Taxonomy;
}

/** The file name a downloader gives the image of `url`: its last path segment, URL-decoded. */
export function fileNameFromUrl(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split(/[?#]/)[0];
  }
  const last = basename(path);
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function readOfficial(opts: WebemoOptions): LayoutResult {
  const imagesDir = opts.images ?? join(opts.root, 'images');
  if (!isDir(imagesDir)) {
    throw dataError(imagesDir, 'image folder not found', `${WEBEMO_LAYOUTS}\nDownload the images from the URLs into that folder, or point \`images:\` at yours.`);
  }
  // Index downloaded files by name and by stem (downloaders sometimes change the extension).
  const byName = new Map<string, string>();
  const byStem = new Map<string, string>();
  const onDisk = listImages(imagesDir);
  for (const rel of onDisk) {
    const name = basename(rel);
    if (!byName.has(name)) byName.set(name, rel);
    const stem = idFromRelative(name);
    if (!byStem.has(stem)) byStem.set(stem, rel);
  }
  const items: IngestItem[] = [];
  const missing: Problem[] = [];
  const excluded: Problem[] = [];
  const firstSeen = new Map<string, string>();
  const classes = opts.taxonomy.classes;
  for (const [file, split] of [['train25.txt', 'train'], ['test25.txt', 'test']] as const) {
    const path = join(opts.root, file);
    if (!existsSync(path)) throw dataError(path, 'not found', WEBEMO_LAYOUTS);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((raw, i) => {
      const line = raw.trim();
      if (!line) return;
      const where = `${file}:${i + 1}`;
      const m = /^(\S+)\s+(\d+)$/.exec(line);
      if (!m) throw dataError(`${path}:${i + 1}`, `expected "<url> <label 0-24>", found "${line.slice(0, 120)}"`, WEBEMO_LAYOUTS);
      const [, url, labelText] = m;
      const label = Number(labelText);
      if (label >= classes.length) throw dataError(`${path}:${i + 1}`, `label ${label} is out of range 0-${classes.length - 1} (${opts.taxonomy.id})`);
      const name = fileNameFromUrl(url);
      const rel = byName.get(name) ?? byStem.get(idFromRelative(name));
      if (!rel) {
        missing.push({ ref: url, where, reason: `no file ${name} in ${imagesDir}` });
        return;
      }
      const seen = firstSeen.get(rel);
      if (seen) {
        excluded.push({ ref: url, where, reason: `same image as ${seen}${seen.startsWith(file) ? '' : ' (listed in two splits: a leak)'}` });
        return;
      }
      firstSeen.set(rel, where);
      items.push({ id: idFromRelative(rel), path: join(imagesDir, rel), split, classId: classes[label].id });
    });
  }
  for (const rel of onDisk) {
    if (!firstSeen.has(rel)) excluded.push({ ref: join(imagesDir, rel), reason: 'not listed in train25.txt or test25.txt' });
  }
  const val = carveValidation(items, opts.valFraction, opts.seed);
  return { layout: 'official', items, missing, excluded, val };
}

const SPLIT_FOLDERS: Readonly<Record<string, Split>> = { train: 'train', validation: 'val', val: 'val', test: 'test' };

function readFolders(opts: WebemoOptions): LayoutResult {
  const present = subdirs(opts.root).filter((d) => d in SPLIT_FOLDERS);
  for (const need of ['train', 'test']) {
    if (!present.includes(need)) throw dataError(join(opts.root, need), 'folder not found', WEBEMO_LAYOUTS);
  }
  const items: IngestItem[] = [];
  for (const folder of present) {
    const dir = join(opts.root, folder);
    for (const cls of subdirs(dir)) {
      const byIndex = /^\d+$/.test(cls) ? opts.taxonomy.classes[Number(cls)] : undefined;
      const c = byIndex ?? findClass(opts.taxonomy, cls);
      if (!c) {
        throw dataError(
          join(dir, cls),
          `"${cls}" is not a class of ${opts.taxonomy.id} (${opts.taxonomy.classes.map((k) => k.id).join(', ')})`,
          WEBEMO_LAYOUTS,
        );
      }
      for (const rel of listImages(join(dir, cls))) {
        items.push({ id: idFromRelative(`${folder}/${cls}/${rel}`), path: join(dir, cls, rel), split: SPLIT_FOLDERS[folder], classId: c.id });
      }
    }
  }
  const hasVal = present.some((d) => SPLIT_FOLDERS[d] === 'val');
  const val = hasVal ? undefined : carveValidation(items, opts.valFraction, opts.seed);
  return { layout: 'folders', items, missing: [], excluded: [], val };
}

export function readWebemo(opts: WebemoOptions): LayoutResult {
  if (!isDir(opts.root)) throw dataError(opts.root, 'dataset folder not found', WEBEMO_LAYOUTS);
  let layout = opts.layout;
  if (layout === 'auto') {
    if (existsSync(join(opts.root, 'train25.txt'))) layout = 'official';
    else if (isDir(join(opts.root, 'train'))) layout = 'folders';
    else throw dataError(opts.root, 'neither train25.txt nor a train/ folder found', WEBEMO_LAYOUTS);
  }
  return layout === 'official' ? readOfficial(opts) : readFolders(opts);
}
