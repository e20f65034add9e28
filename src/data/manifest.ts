// Turning the items a layout reader found into `manifest.jsonl` rows and `summary.json`: content hashes
// through the engine's stat-keyed hash cache, an image-header check cached by content hash, labels at
// every taxonomy level, per-class counts, and duplicates by content hash (a leak when across splits).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestRow } from '../formats.js';
import { writeJsonl } from '../io/jsonl.js';
import type { Progress } from '../stage-api.js';
import { dataError } from './errors.js';
import { SPLITS, type Split, type ValCarving } from './splits.js';
import { labelsAtAllLevels, type Taxonomy } from './taxonomy.js';

/** One image found by a layout reader, labelled with a class of the dataset's finest taxonomy. */
export interface IngestItem {
  readonly id: string;
  /** Absolute path. */
  readonly path: string;
  split: Split;
  readonly classId: string;
}

/** Something the reader could not turn into a manifest row, with the reason. */
export interface Problem {
  /** A path, URL or split-file entry. */
  readonly ref: string;
  /** `train25.txt:12`, `training_testing_split/testing.txt:3`, ... */
  readonly where?: string;
  readonly reason: string;
}

export interface LayoutResult {
  readonly layout: string;
  readonly items: IngestItem[];
  /** Referenced images that are not on disk (WEBEmo URLs without a downloaded file, split-list entries). */
  readonly missing: Problem[];
  /** Images on disk deliberately left out (not in any split list, neutral valence, ...). */
  readonly excluded: Problem[];
  readonly val?: ValCarving;
  /** Counts of something layout-specific, e.g. Emotion-6 secondary folders. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** What ingest needs from the engine (a StageContext provides all of it). */
export interface IngestIO {
  hashFiles(paths: readonly string[]): Promise<string[]>;
  log(line: string): void;
  progress(p: Progress): void;
  /** Persistent per-kind directory: image-check results are cached there by content hash. */
  readonly kindCacheDir?: string;
}

export type ImageCheck = 'none' | 'header' | 'decode';

export interface ManifestOptions {
  readonly dataset: string;
  readonly root: string;
  readonly taxonomy: Taxonomy;
  /** How images are checked: `header` (sharp metadata), `decode` (full decode) or `none`. */
  readonly check: ImageCheck;
  /** Unreadable images: left out and reported (`skip`) or a failure (`fail`). */
  readonly unreadable: 'skip' | 'fail';
}

export interface DuplicateGroup {
  readonly hash: string;
  readonly items: readonly { readonly id: string; readonly split: string }[];
}

export interface IngestSummary {
  readonly dataset: string;
  readonly root: string;
  readonly layout: string;
  readonly taxonomy: string;
  readonly levels: readonly string[];
  /** Taxonomy settings that qualify every number computed from this manifest, e.g. `{ confusion: "sadness" }`. */
  readonly settings: Readonly<Record<string, string>>;
  readonly images: number;
  readonly splits: Readonly<Record<string, number>>;
  /** taxonomy -> split -> class -> images (every class listed, zeros included). */
  readonly counts: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, number>>>>>>;
  readonly val: ValCarving | null;
  readonly unreadable: readonly Problem[];
  readonly missing: readonly Problem[];
  readonly excluded: readonly Problem[];
  /** Same content in more than one split: evaluation leaks. */
  readonly duplicates_across_splits: readonly DuplicateGroup[];
  /** Same content twice within one split (harmless for leakage, but weights those images twice). */
  readonly duplicates_within_split: readonly DuplicateGroup[];
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface Manifest {
  readonly rows: ManifestRow[];
  readonly summary: IngestSummary;
}

const HASH_CHUNK = 4096;

/** Hashes in chunks (for progress); a chunk that fails is retried file by file to name the bad files. */
async function hashAll(paths: string[], io: IngestIO): Promise<(string | Error)[]> {
  const out: (string | Error)[] = [];
  for (let i = 0; i < paths.length; i += HASH_CHUNK) {
    const chunk = paths.slice(i, i + HASH_CHUNK);
    try {
      out.push(...(await io.hashFiles(chunk)));
    } catch {
      for (const p of chunk) {
        try {
          out.push((await io.hashFiles([p]))[0]);
        } catch (e) {
          out.push(e as Error);
        }
      }
    }
    io.progress({ done: Math.min(i + HASH_CHUNK, paths.length), total: paths.length, unit: 'images', message: 'hashing' });
  }
  return out;
}

const CHECK_FILE = 'image-checks.json';
/** Image checks run concurrently; sharp decodes on libuv's thread pool. */
const CHECK_CONCURRENCY = 8;

/** Checks images by content hash; results (`ok` or the error) are cached in the kind's cache directory. */
async function checkImages(
  entries: readonly { path: string; hash: string }[],
  check: ImageCheck,
  io: IngestIO,
): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  if (check === 'none') return failures;
  const cacheFile = io.kindCacheDir ? join(io.kindCacheDir, CHECK_FILE) : undefined;
  const cache: Record<string, string> = cacheFile && existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, string>) : {};
  const todo = entries.filter((e) => cache[`${check}:${e.hash}`] === undefined);
  if (todo.length) {
    const { default: sharp } = await import('sharp');
    let next = 0;
    let checked = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const e = todo[next++];
        try {
          const img = sharp(e.path, { failOn: 'error' });
          if (check === 'decode') await img.raw().toBuffer();
          else {
            const m = await img.metadata();
            if (!m.width || !m.height) throw new Error('no image dimensions in the header');
          }
          cache[`${check}:${e.hash}`] = 'ok';
        } catch (err) {
          cache[`${check}:${e.hash}`] = (err as Error).message.split('\n')[0];
        }
        if (++checked % 1000 === 0 || checked === todo.length) io.progress({ done: checked, total: todo.length, unit: 'images', message: `checking (${check})` });
      }
    };
    await Promise.all(Array.from({ length: CHECK_CONCURRENCY }, worker));
    if (cacheFile) {
      // Whole-file replace via rename: a concurrent ingest of the same kind may win; it is only a cache.
      const tmp = `${cacheFile}.${process.pid}.${Date.now()}.tmp`;
      writeFileSync(tmp, JSON.stringify(cache));
      renameSync(tmp, cacheFile);
    }
  }
  for (const e of entries) {
    const r = cache[`${check}:${e.hash}`];
    if (r !== 'ok') failures.set(e.path, r);
  }
  return failures;
}

function duplicateGroups(rows: readonly ManifestRow[]): { across: DuplicateGroup[]; within: DuplicateGroup[] } {
  const byHash = new Map<string, ManifestRow[]>();
  for (const r of rows) {
    const g = byHash.get(r.hash);
    if (g) g.push(r);
    else byHash.set(r.hash, [r]);
  }
  const across: DuplicateGroup[] = [];
  const within: DuplicateGroup[] = [];
  for (const [hash, g] of byHash) {
    if (g.length < 2) continue;
    const group = { hash, items: g.map((r) => ({ id: r.id, split: r.split })) };
    (new Set(g.map((r) => r.split)).size > 1 ? across : within).push(group);
  }
  return { across, within };
}

/** Hashes, checks and labels the items of a layout, and summarises the result. */
export async function buildManifest(layout: LayoutResult, opts: ManifestOptions, io: IngestIO): Promise<Manifest> {
  const { taxonomy } = opts;
  const items = layout.items;
  const hashes = await hashAll(items.map((i) => i.path), io);
  const unreadable: Problem[] = [];
  const hashed: { item: IngestItem; hash: string }[] = [];
  items.forEach((item, i) => {
    const h = hashes[i];
    if (typeof h === 'string') hashed.push({ item, hash: h });
    else unreadable.push({ ref: item.path, reason: h.message });
  });
  const failures = await checkImages(hashed.map((h) => ({ path: h.item.path, hash: h.hash })), opts.check, io);
  for (const [path, reason] of failures) unreadable.push({ ref: path, reason });
  if (unreadable.length && opts.unreadable === 'fail') {
    const list = unreadable.slice(0, 10).map((u) => `  ${u.ref}: ${u.reason}`).join('\n');
    throw dataError(opts.root, `${unreadable.length} unreadable image(s):\n${list}`, 'Remove or replace them, or set `unreadable: skip` to leave them out (they are listed in summary.json).');
  }

  const labelCache = new Map<string, Record<string, string>>();
  const rows: ManifestRow[] = [];
  for (const { item, hash } of hashed) {
    if (failures.has(item.path)) continue;
    let labels = labelCache.get(item.classId);
    if (!labels) labelCache.set(item.classId, (labels = labelsAtAllLevels(taxonomy, item.classId)));
    rows.push({ id: item.id, path: item.path, hash, split: item.split, labels });
  }

  const counts: Record<string, Record<string, Record<string, number>>> = {};
  for (const level of [taxonomy, ...taxonomy.ancestors]) {
    counts[level.id] = {};
    for (const s of SPLITS) counts[level.id][s] = Object.fromEntries(level.classes.map((c) => [c.id, 0]));
  }
  const splits: Record<string, number> = Object.fromEntries(SPLITS.map((s) => [s, 0]));
  for (const r of rows) {
    splits[r.split]++;
    for (const [level, c] of Object.entries(r.labels)) counts[level][r.split][c]++;
  }
  const dups = duplicateGroups(rows);
  if (dups.across.length) io.log(`warning: ${dups.across.length} image(s) appear in more than one split (see duplicates_across_splits in summary.json)`);
  if (unreadable.length) io.log(`warning: ${unreadable.length} unreadable image(s) left out (see unreadable in summary.json)`);
  if (layout.missing.length) io.log(`warning: ${layout.missing.length} referenced image(s) missing on disk (see missing in summary.json)`);

  return {
    rows,
    summary: {
      dataset: opts.dataset,
      root: opts.root,
      layout: layout.layout,
      taxonomy: taxonomy.id,
      levels: taxonomy.levels,
      settings: taxonomy.settings,
      images: rows.length,
      splits,
      counts,
      val: layout.val ?? null,
      unreadable,
      missing: layout.missing,
      excluded: layout.excluded,
      duplicates_across_splits: dups.across,
      duplicates_within_split: dups.within,
      ...(layout.extra ? { extra: layout.extra } : {}),
    },
  };
}

export function writeManifest(manifest: Manifest, manifestPath: string, summaryPath: string): void {
  writeJsonl(manifestPath, manifest.rows);
  writeFileSync(summaryPath, JSON.stringify(manifest.summary, null, 2) + '\n');
}

/** The summary written beside a manifest by every ingest stage (same output directory). */
export function readManifestSummary(manifestPath: string): IngestSummary {
  const file = join(manifestPath, '..', 'summary.json');
  if (!existsSync(file)) throw dataError(manifestPath, 'no summary.json beside the manifest', 'Manifests come from an ingest/* stage, which writes both.');
  return JSON.parse(readFileSync(file, 'utf8')) as IngestSummary;
}
