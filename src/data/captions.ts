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

const NONE = Symbol('ambiguous');

/** Finds the manifest row a caption key stands for: an id, an absolute path, or a relative path (suffix). */
class KeyIndex {
  private readonly keys = new Map<string, ManifestRow | typeof NONE>();
  constructor(rows: readonly ManifestRow[]) {
    for (const r of rows) {
      this.add(r.id, r);
      this.add(r.path, r);
      // Trailing parts of the path and of the id (up to 4 segments, to bound memory on 300k images), so
      // `images/x.jpg`, `x.jpg` and `x` all match.
      for (const s of [r.path.split('/'), r.id.split('/')]) for (let k = 1; k < Math.min(s.length, 5); k++) this.add(s.slice(-k).join('/'), r);
    }
  }
  private add(key: string, r: ManifestRow): void {
    const prev = this.keys.get(key);
    if (prev === undefined) this.keys.set(key, r);
    else if (prev !== r) this.keys.set(key, NONE);
  }
  find(raw: string): ManifestRow | 'ambiguous' | undefined {
    const key = raw.trim().replace(/\\/g, '/').replace(/^\.\//, '');
    const hit = this.keys.get(key);
    return hit === NONE ? 'ambiguous' : hit;
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
