// Reading user tables (captions, generic manifests, IAPS ratings) from CSV/TSV or JSONL into string
// records, remembering each record's line so errors can point at it.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { readJsonl } from '../io/jsonl.js';
import { dataError } from './errors.js';

export interface TableRecord {
  readonly values: Readonly<Record<string, string>>;
  /** 1-based line of the record in the file. */
  readonly line: number;
}

export interface Table {
  readonly file: string;
  readonly columns: readonly string[];
  readonly records: readonly TableRecord[];
}

function jsonValue(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** `.jsonl`/`.ndjson`/`.json` are JSON Lines; anything else is CSV with a header row (comma or tab). */
export function readTable(file: string): Table {
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') {
    const text = readFileSync(file, 'utf8').split('\n');
    const lines: number[] = [];
    text.forEach((l, i) => l.trim() && lines.push(i + 1));
    const rows = readJsonl<unknown>(file);
    const columns = new Set<string>();
    const records = rows.map((r, i) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw dataError(`${file}:${lines[i]}`, 'each line must be a JSON object');
      const values = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonValue(v)]));
      Object.keys(values).forEach((k) => columns.add(k));
      return { values, line: lines[i] };
    });
    return { file, columns: [...columns], records };
  }
  let parsed: { record: Record<string, string>; info: { lines: number } }[];
  try {
    parsed = parse(readFileSync(file), {
      columns: (header: string[]) => header.map((h) => h.trim()),
      delimiter: [',', '\t'],
      skip_empty_lines: true,
      trim: true,
      bom: true,
      info: true,
      relax_column_count: true,
    }) as { record: Record<string, string>; info: { lines: number } }[];
  } catch (e) {
    throw dataError(file, `not a valid CSV/TSV file with a header row (${(e as Error).message})`);
  }
  const columns = parsed.length ? Object.keys(parsed[0].record) : [];
  return { file, columns, records: parsed.map((p) => ({ values: p.record, line: p.info.lines })) };
}

/** The first of `candidates` that is a column of the table (or the explicitly requested one). */
export function pickColumn(table: Table, role: string, candidates: readonly string[], requested?: string): string {
  if (requested) {
    if (!table.columns.includes(requested)) throw dataError(table.file, `no column "${requested}" for the ${role} (columns: ${table.columns.join(', ')})`);
    return requested;
  }
  const found = candidates.find((c) => table.columns.includes(c));
  if (!found) {
    throw dataError(table.file, `no ${role} column: expected one of ${candidates.join(', ')} (columns: ${table.columns.join(', ') || 'none'})`, `Name the column with the stage's ${role}_column parameter.`);
  }
  return found;
}
