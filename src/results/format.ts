// Renderings of the experiment table and of diffs: an aligned terminal table, CSV, markdown, JSON.
import { stringify } from 'csv-stringify/sync';
import type { ExpRow, ExpTable } from './compare.js';

export type TableFormat = 'text' | 'csv' | 'md' | 'json';

type Cell = string | number | boolean | null | undefined;

/** Numbers with up to 4 significant decimals, so columns stay narrow; exact values are in --json/--csv. */
export function showNumber(v: Cell): string {
  if (v === null || v === undefined) return '-';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 || Math.abs(v) < 1e-3 ? v.toPrecision(4) : String(Number(v.toFixed(4)));
}

/** A header, a group line above it (when given) and rows, as text columns, markdown or CSV. */
export function renderGrid(header: readonly string[], rows: readonly (readonly Cell[])[], format: Exclude<TableFormat, 'json'>): string {
  if (format === 'csv') return stringify([header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : c)))]);
  const text = rows.map((r) => r.map(showNumber));
  if (format === 'md') {
    const esc = (s: string): string => s.replace(/\|/g, '\\|');
    return [header, header.map(() => '---'), ...text].map((r) => `| ${r.map(esc).join(' | ')} |`).join('\n') + '\n';
  }
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => r[i].length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...text.map(line)].join('\n') + '\n';
}

function expCells(t: ExpTable, r: ExpRow, instances: boolean): Cell[] {
  return [r.run, ...(instances ? [r.instance] : []), r.status, ...t.params.map((p) => r.params[p]), ...t.metrics.map((m) => r.metrics[m])];
}

/**
 * The table cut to `width` terminal columns (like `dvc exp show`): run and status always, then params
 * and metrics in order while they fit; a note says how many columns were left out and how to see them.
 */
function fitToWidth(t: ExpTable, width: number, instances: boolean): { table: ExpTable; note: string } {
  const fixed = instances ? 3 : 2;
  const header = ['run', ...(instances ? ['instance'] : []), 'status', ...t.params, ...t.metrics];
  const text = t.rows.map((r) => expCells(t, r, instances).map(showNumber));
  let used = 0;
  let fit = 0;
  while (fit < header.length && (used += Math.max(header[fit].length, ...text.map((r) => r[fit].length)) + (fit ? 2 : 0)) <= width) fit++;
  fit = Math.max(fit, fixed);
  const params = t.params.slice(0, Math.max(0, fit - fixed));
  const metrics = t.metrics.slice(0, Math.max(0, fit - fixed - t.params.length));
  const hiddenParams = t.params.length - params.length;
  const hiddenMetrics = t.metrics.length - metrics.length + t.moreMetrics.length;
  if (!hiddenParams && !hiddenMetrics) return { table: t, note: '' };
  const what = [hiddenMetrics ? `${hiddenMetrics.toLocaleString('en')} metric` : '', hiddenParams ? `${hiddenParams} param` : ''].filter(Boolean).join(' and ');
  const note =
    `… ${what} column${hiddenMetrics + hiddenParams === 1 ? '' : 's'} not shown (${width} columns wide): choose with --metrics/--params GLOB, ` +
    `--keep GLOB or --drop GLOB; --width 0 shows all; --json, --csv or --md have every column\n`;
  return { table: { ...t, params, metrics }, note };
}

/** `width` (text only): terminal columns to fit, 0 or absent for no limit. */
export function renderExpTable(t: ExpTable, format: TableFormat, width = 0): string {
  const instances = t.rows.some((r) => r.instance !== undefined);
  if (format === 'json') {
    const rows = t.rows.map((r) => ({
      run: r.run,
      ...(instances ? { instance: r.instance } : {}),
      pipeline: r.pipeline,
      status: r.status,
      started_at: new Date(r.startedAt).toISOString(),
      params: Object.fromEntries(t.params.map((p) => [p, r.params[p] ?? null])),
      metrics: Object.fromEntries(t.metrics.filter((m) => m in r.metrics).map((m) => [m, r.metrics[m]])),
    }));
    return JSON.stringify({ step: t.step, params: t.params, metrics: t.metrics, rows }, null, 2) + '\n';
  }
  const { table, note } = format === 'text' && width > 0 ? fitToWidth(t, width, instances) : { table: t, note: '' };
  const header = ['run', ...(instances ? ['instance'] : []), 'status', ...table.params, ...table.metrics];
  return renderGrid(header, table.rows.map((r) => expCells(table, r, instances)), format) + note;
}

export interface DiffEntry {
  readonly name: string;
  readonly old: Cell;
  readonly new: Cell;
  /** new - old when both are numbers. */
  readonly delta: number | null;
}

export function renderDiff(what: string, a: number, b: number, entries: readonly DiffEntry[], format: TableFormat): string {
  if (format === 'json') return JSON.stringify({ old_run: a, new_run: b, [what]: entries }, null, 2) + '\n';
  if (!entries.length && format === 'text') return `no ${what} differ between run ${a} and run ${b}\n`;
  const signed = (d: number | null): string => (d === null ? '' : `${d > 0 ? '+' : ''}${showNumber(d)}`);
  return renderGrid([what === 'params' ? 'param' : 'metric', `run ${a}`, `run ${b}`, 'change'], entries.map((e) => [e.name, e.old, e.new, signed(e.delta)]), format);
}
