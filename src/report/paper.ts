// The paper's published numbers (data/paper-results.yaml), read and checked against the table layout so
// that a transcription slip fails loudly instead of shifting a column.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { TABLES, type TableSpec } from './layout.js';

/** A published cell: a number in %, 'X' (not computable) or '-' (not reported). */
export type PaperValue = number | 'X' | '-';

export interface PaperTable {
  /** method id -> paper column key -> value. */
  readonly rows: ReadonlyMap<string, ReadonlyMap<string, PaperValue>>;
}

export type PaperResults = ReadonlyMap<TableSpec['id'], PaperTable>;

export class PaperResultsError extends Error {
  override readonly name = 'PaperResultsError';
}

/** data/paper-results.yaml of this package: the nearest one above this module (src/ or dist/src/). */
export function defaultPaperResultsPath(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'data', 'paper-results.yaml');
    if (existsSync(candidate)) return candidate;
  }
  throw new PaperResultsError('data/paper-results.yaml not found above the pipe installation; reinstall the package');
}

function asValue(raw: unknown, where: string): PaperValue {
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (raw === 'X' || raw === '-') return raw;
  throw new PaperResultsError(`${where}: expected a number, "X" or "-", found ${JSON.stringify(raw)}`);
}

export function loadPaperResults(path = defaultPaperResultsPath()): PaperResults {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PaperResultsError(`${path}: cannot read the paper's results (${(e as Error).message})`);
  }
  const out = new Map<TableSpec['id'], PaperTable>();
  for (const spec of TABLES) {
    const where = `${path}: ${spec.paperKey}`;
    const table = (doc as Record<string, unknown> | null)?.[spec.paperKey] as
      | { columns?: unknown; rows?: unknown }
      | undefined;
    if (!table || !Array.isArray(table.columns) || typeof table.rows !== 'object' || table.rows === null) {
      throw new PaperResultsError(`${where}: missing, or lacks "columns" and "rows"`);
    }
    const expected = spec.columns.map((c) => c.paperKey);
    if (table.columns.join(',') !== expected.join(',')) {
      throw new PaperResultsError(`${where}.columns: expected [${expected.join(', ')}], found [${table.columns.join(', ')}]`);
    }
    const rows = new Map<string, Map<string, PaperValue>>();
    for (const [method, values] of Object.entries(table.rows)) {
      if (!Array.isArray(values) || values.length !== expected.length) {
        throw new PaperResultsError(`${where}.rows.${method}: expected ${expected.length} values`);
      }
      rows.set(method, new Map(expected.map((key, i) => [key, asValue(values[i], `${where}.rows.${method}[${i}]`)])));
    }
    out.set(spec.id, { rows });
  }
  return out;
}
