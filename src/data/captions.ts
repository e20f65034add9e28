// Importing image captions (OFA's, or any captioner's) from CSV/JSONL keyed by manifest id or image
// path, normalised into the IC prompt form ("a photo that contains {caption}"), with a coverage report
// and a policy for images without a caption.
import type { ManifestRow } from '../formats.js';
import { dataError } from './errors.js';
import { pickColumn, readTable, type Table } from './table-file.js';

/** A line of `captions.jsonl`. */
export interface CaptionRow {
  /** Manifest id of the image. */
  readonly id: string;
  /** The caption as imported (whitespace normalised). */
  readonly caption: string;
  /** The IC prompt text. */
  readonly text: string;
}

export type MissingCaptionPolicy = 'fail' | 'skip' | 'empty';

export interface CaptionCoverage {
  readonly images: number;
  readonly captioned: number;
  readonly policy: MissingCaptionPolicy;
  /** Manifest images without a caption (first 100 ids listed). */
  readonly missing: number;
  readonly missing_ids: readonly string[];
  /** Caption rows that match no manifest image (first 100 keys listed). */
  readonly extra: number;
  readonly extra_keys: readonly string[];
  /** Keys matching several images (e.g. a bare file name present in two folders). */
  readonly ambiguous_keys: readonly string[];
  /** Images captioned more than once: the first caption is kept. */
  readonly duplicate_ids: readonly string[];
  readonly key_column: string;
  readonly caption_column: string;
  readonly template: string;
}

export const DEFAULT_IC_TEMPLATE = 'a photo that contains {caption}';
const LIST_LIMIT = 100;

/** One caption in IC form: whitespace collapsed, trailing full stop dropped, no doubled template prefix. */
export function icText(caption: string, template: string): string {
  const c = caption.replace(/\s+/g, ' ').trim().replace(/[.\s]+$/, '');
  if (!c) return '';
  const prefix = template.slice(0, template.indexOf('{caption}')).trim().toLowerCase();
  const body = prefix && c.toLowerCase().startsWith(prefix + ' ') ? c.slice(prefix.length + 1) : c;
  return template.replace('{caption}', body.charAt(0).toLowerCase() + body.slice(1));
}

/** Last path segment without its extension: the one part every way of naming an image shares. */
function stemOf(key: string): string {
  const base = key.slice(key.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/**
 * Finds the manifest row a caption key stands for: its id, its absolute path, or a trailing part of the
 * path or id (`images/x.jpg`, `x.jpg`, `x`). Rows are indexed by file stem only (memory stays flat on
 * 300k images); the few rows sharing a stem are then compared in full.
 */
class KeyIndex {
  private readonly byStem = new Map<string, ManifestRow[]>();
  constructor(rows: readonly ManifestRow[]) {
    for (const r of rows) {
      const stem = stemOf(r.path);
      const list = this.byStem.get(stem);
      if (list) list.push(r);
      else this.byStem.set(stem, [r]);
    }
  }
  find(raw: string): ManifestRow | 'ambiguous' | undefined {
    const key = raw.trim().replace(/\\/g, '/').replace(/^\.\//, '');
    const candidates = this.byStem.get(stemOf(key)) ?? [];
    const exact = candidates.filter((r) => r.id === key || r.path === key);
    if (exact.length === 1) return exact[0];
    const tail = `/${key}`;
    const hits = candidates.filter((r) => r.path.endsWith(tail) || r.id.endsWith(tail));
    return hits.length === 1 ? hits[0] : hits.length > 1 ? 'ambiguous' : undefined;
  }
}

export interface ImportOptions {
  readonly keyColumn?: string;
  readonly captionColumn?: string;
  readonly template: string;
  readonly missing: MissingCaptionPolicy;
}

export function importCaptions(file: string, manifest: readonly ManifestRow[], o: ImportOptions): { rows: CaptionRow[]; coverage: CaptionCoverage } {
  if (!o.template.includes('{caption}')) throw dataError('captions/import: template', `"${o.template}" has no {caption} placeholder`);
  const table: Table = readTable(file);
  const keyCol = pickColumn(table, 'key', ['id', 'image_id', 'path', 'image', 'file', 'filename'], o.keyColumn);
  const capCol = pickColumn(table, 'caption', ['caption', 'text', 'captions'], o.captionColumn);
  const index = new KeyIndex(manifest);
  const byId = new Map<string, string>();
  const extra: string[] = [];
  const ambiguous: string[] = [];
  const duplicates: string[] = [];
  for (const rec of table.records) {
    const key = rec.values[keyCol] ?? '';
    const caption = (rec.values[capCol] ?? '').replace(/\s+/g, ' ').trim();
    const row = index.find(key);
    if (row === 'ambiguous') ambiguous.push(key);
    else if (!row) extra.push(key);
    else if (byId.has(row.id)) duplicates.push(row.id);
    else if (caption) byId.set(row.id, caption);
  }
  const missingIds = manifest.filter((r) => !byId.has(r.id)).map((r) => r.id);
  const coverage: CaptionCoverage = {
    images: manifest.length,
    captioned: manifest.length - missingIds.length,
    policy: o.missing,
    missing: missingIds.length,
    missing_ids: missingIds.slice(0, LIST_LIMIT),
    extra: extra.length,
    extra_keys: extra.slice(0, LIST_LIMIT),
    ambiguous_keys: ambiguous.slice(0, LIST_LIMIT),
    duplicate_ids: duplicates.slice(0, LIST_LIMIT),
    key_column: keyCol,
    caption_column: capCol,
    template: o.template,
  };
  if (missingIds.length && o.missing === 'fail') {
    throw dataError(
      file,
      `${missingIds.length} of ${manifest.length} images have no caption (e.g. ${missingIds.slice(0, 3).join(', ')})`,
      'Caption them, or set missing: skip (leave them out of IC prompts) or missing: empty (an empty caption).',
    );
  }
  const rows: CaptionRow[] = [];
  for (const r of manifest) {
    const caption = byId.get(r.id);
    if (caption !== undefined) rows.push({ id: r.id, caption, text: icText(caption, o.template) });
    else if (o.missing === 'empty') rows.push({ id: r.id, caption: '', text: '' });
  }
  return { rows, coverage };
}
