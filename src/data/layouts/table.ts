// A generic manifest for any other dataset: a CSV/TSV/JSONL table with an image path, a label and an
// optional split per row. Paths are relative to `root` (default: the table's folder) unless absolute.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { dataError } from '../errors.js';
import { idFromRelative } from '../files.js';
import type { IngestItem, LayoutResult, Problem } from '../manifest.js';
import type { Split } from '../splits.js';
import { pickColumn, readTable } from '../table-file.js';
import { findClass, type Taxonomy } from '../taxonomy.js';

export interface TableOptions {
  readonly file: string;
  readonly root?: string;
  readonly taxonomy: Taxonomy;
  readonly pathColumn?: string;
  readonly labelColumn?: string;
  readonly splitColumn?: string;
  /** Split of rows without a split column or value. */
  readonly defaultSplit: Split;
  readonly aliases: Readonly<Record<string, string>>;
}

const SPLIT_NAMES: Readonly<Record<string, Split>> = { train: 'train', training: 'train', val: 'val', valid: 'val', validation: 'val', dev: 'val', test: 'test', testing: 'test' };

const PATH_COLUMNS = ['path', 'file', 'image', 'filename'];

function imagePath(root: string, p: string): string {
  return isAbsolute(p) ? p : resolve(root, p);
}

/**
 * A signature of the listed images' (path, size, mtime). The images of a table are no path param, so
 * the engine does not hash them; the stage puts this in its fingerprint, so replacing an image re-runs it
 * (stats only, like the engine's own hash cache).
 */
export function tableImagesSignature(file: string, root: string | undefined, pathColumn: string | undefined): string {
  if (!existsSync(file)) return 'no table';
  const table = readTable(file);
  const col = pickColumn(table, 'path', PATH_COLUMNS, pathColumn);
  const base = root ?? dirname(file);
  const h = createHash('sha256');
  for (const r of table.records) {
    const p = imagePath(base, r.values[col] ?? '');
    let st = 'missing';
    try {
      const s = statSync(p, { bigint: true });
      st = `${s.size}:${s.mtimeNs}`;
    } catch {
      // A missing image is reported by the stage; here it only changes the signature.
    }
    h.update(`${p}\0${st}\n`);
  }
  return h.digest('hex');
}

export function readTableDataset(opts: TableOptions): LayoutResult {
  if (!existsSync(opts.file)) throw dataError(opts.file, 'manifest table not found', 'Give a CSV/TSV (header row) or JSONL file with columns path, label and optionally split.');
  const table = readTable(opts.file);
  const pathCol = pickColumn(table, 'path', PATH_COLUMNS, opts.pathColumn);
  const labelCol = pickColumn(table, 'label', ['label', 'class', 'emotion', 'category'], opts.labelColumn);
  const splitCol = opts.splitColumn ?? (table.columns.includes('split') ? 'split' : undefined);
  const root = opts.root ?? dirname(opts.file);
  const classes = opts.taxonomy.classes.map((c) => c.id).join(', ');
  const items: IngestItem[] = [];
  const missing: Problem[] = [];
  const seen = new Set<string>();
  for (const r of table.records) {
    const at = `${opts.file}:${r.line}`;
    const p = r.values[pathCol];
    const label = r.values[labelCol] ?? '';
    if (!p) throw dataError(at, `empty ${pathCol}`);
    const c = findClass(opts.taxonomy, opts.aliases[label] ?? label);
    if (!c) throw dataError(at, `label "${label}" is not a class of ${opts.taxonomy.id} (${classes})`, 'Fix the label, or map it with aliases: { <label>: <class> }.');
    const rawSplit = splitCol ? (r.values[splitCol] ?? '').toLowerCase() : '';
    const split = rawSplit ? SPLIT_NAMES[rawSplit] : opts.defaultSplit;
    if (!split) throw dataError(at, `split "${rawSplit}" is not train, val or test`);
    const path = imagePath(root, p);
    if (!existsSync(path)) {
      missing.push({ ref: p, where: `${basename(opts.file)}:${r.line}`, reason: 'file not found' });
      continue;
    }
    const rel = relative(root, path);
    const id = idFromRelative(rel.startsWith('..') ? path : rel.split('\\').join('/'));
    if (seen.has(id)) throw dataError(at, `image ${p} is listed twice`);
    seen.add(id);
    items.push({ id, path, split, classId: c.id });
  }
  return { layout: 'table', items, missing, excluded: [] };
}
