// The figures: per-epoch accuracy on every target dataset (the specialisation vs generalisation
// trade-off: training on WEBEmo longer helps WEBEmo and often hurts the others) and the confusion
// matrices of the paper's Fig. 2.
import { METHODS } from '../formats.js';
import type { MetricRow } from '../stage-api.js';
import { columnOf, labelOf, TABLE_METRICS, TABLES } from './layout.js';
import { finalEpochs, getSeries, indexSeries, meanAndStd, ReportDataError, type Series, type SeriesIndex } from './series.js';
import { blues, document, el, linear, niceTicks, PALETTE, text } from './svg.js';

export interface Figure {
  /** File name inside the figures directory. */
  readonly file: string;
  readonly title: string;
  readonly svg: string;
}

interface Point {
  readonly epoch: number;
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/** Mean and std (n - 1) of the metric in % per epoch over the seeds that reached it; null if not computable. */
function curve(s: Series): Point[] | null {
  const byEpoch = new Map<number, number[]>();
  for (const epochs of s.byEpoch.values()) {
    for (const [epoch, row] of epochs) {
      if (row.value === null) return null;
      if (!byEpoch.has(epoch)) byEpoch.set(epoch, []);
      byEpoch.get(epoch)!.push(row.value * 100);
    }
  }
  return [...byEpoch]
    .sort(([a], [b]) => a - b)
    .map(([epoch, vs]) => {
      const { mean, std } = meanAndStd(vs);
      return { epoch, mean, std: std ?? 0, n: vs.length };
    });
}

function flatMean(s: Series): number | null {
  const vs = [...s.flat.values()].map((r) => r.value);
  if (vs.length === 0 || vs.some((v) => v === null)) return null;
  return meanAndStd((vs as number[]).map((v) => v * 100)).mean;
}

const W = 720;
const H = 420;
const M = { left: 56, right: 230, top: 40, bottom: 48 };

/** A metric per epoch of every trained method on one taxonomy; untrained methods as dashed levels. */
export function epochCurves(index: SeriesIndex, taxonomy: string, metric = 'accuracy'): Figure | null {
  const lines = METHODS.map((m, i) => ({ method: m, color: PALETTE[i], s: getSeries(index, m, taxonomy) }))
    .filter((l) => l.s !== undefined)
    .map((l) => ({ ...l, points: l.s!.byEpoch.size ? curve(l.s!) : null, level: l.s!.flat.size ? flatMean(l.s!) : null }));
  const curves = lines.filter((l) => l.points !== null && l.points.length > 0);
  if (curves.length === 0) return null;
  const levels = lines.filter((l) => l.level !== null);
  const ys = [
    ...curves.flatMap((l) => l.points!.flatMap((p) => [p.mean - p.std, p.mean + p.std])),
    ...levels.map((l) => l.level!),
  ];
  // One point of headroom so that a level on a round number does not sit on the axis.
  const yTicks = niceTicks(Math.max(0, Math.min(...ys) - 1), Math.min(100, Math.max(...ys) + 1));
  const maxEpoch = Math.max(...curves.flatMap((l) => l.points!.map((p) => p.epoch)));
  const xTicks = Array.from({ length: maxEpoch }, (_, i) => i + 1);
  const x = linear(1, Math.max(2, maxEpoch), M.left, W - M.right);
  const y = linear(yTicks[0], yTicks[yTicks.length - 1], H - M.bottom, M.top);
  const where = columnOf(taxonomy);
  const label = TABLE_METRICS[metric] ?? metric;
  const title = `${label} per training epoch on ${where ? where.column.label.replace(/^(\d+) cat$/, 'WEBEmo $1 cat') : taxonomy} (${taxonomy})`;

  const body: string[] = [text(M.left, 22, title, { 'font-size': 14, 'font-weight': 'bold' })];
  for (const t of yTicks) {
    body.push(el('line', { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), stroke: '#e5e5e5' }));
    body.push(text(M.left - 6, y(t) + 4, String(t), { 'text-anchor': 'end' }));
  }
  for (const t of xTicks) body.push(text(x(t), H - M.bottom + 16, String(t), { 'text-anchor': 'middle' }));
  body.push(el('line', { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, stroke: '#333' }));
  body.push(el('line', { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, stroke: '#333' }));
  body.push(text((M.left + W - M.right) / 2, H - 10, 'epoch (trained on WEBEmo)', { 'text-anchor': 'middle' }));
  body.push(text(16, (M.top + H - M.bottom) / 2, `${label.toLowerCase()} (%)`, { transform: `rotate(-90 16 ${(M.top + H - M.bottom) / 2})`, 'text-anchor': 'middle' }));

  for (const l of curves) {
    const pts = l.points!;
    const band = [...pts.map((p) => `${x(p.epoch)},${y(p.mean + p.std)}`), ...[...pts].reverse().map((p) => `${x(p.epoch)},${y(p.mean - p.std)}`)];
    body.push(el('polygon', { points: band.join(' '), fill: l.color, 'fill-opacity': 0.12, stroke: 'none' }));
    body.push(el('polyline', { points: pts.map((p) => `${x(p.epoch)},${y(p.mean)}`).join(' '), fill: 'none', stroke: l.color, 'stroke-width': 2 }));
    for (const p of pts) {
      body.push(el('circle', { cx: x(p.epoch), cy: y(p.mean), r: 3, fill: l.color }, el('title', {}, `${labelOf(l.method)} epoch ${p.epoch}: ${p.mean.toFixed(2)} ± ${p.std.toFixed(2)} (${p.n} seeds)`)));
    }
  }
  for (const l of levels) {
    body.push(el('line', { x1: M.left, x2: W - M.right, y1: y(l.level!), y2: y(l.level!), stroke: l.color, 'stroke-dasharray': '6 4', 'stroke-width': 1.5 }));
  }
  [...curves, ...levels].forEach((l, i) => {
    const ly = M.top + 8 + i * 20;
    const dashed = l.level !== null && l.points === null;
    body.push(el('line', { x1: W - M.right + 16, x2: W - M.right + 40, y1: ly, y2: ly, stroke: l.color, 'stroke-width': 2, 'stroke-dasharray': dashed ? '6 4' : undefined }));
    body.push(text(W - M.right + 46, ly + 4, labelOf(l.method)));
  });
  return { file: `curves-${metric === 'accuracy' ? '' : `${metric}-`}${taxonomy}.svg`, title, svg: document(W, H, title, body) };
}

interface Confusion {
  readonly labels: string[];
  readonly matrix: number[][];
}

function asConfusion(row: MetricRow): Confusion {
  const d = row.detail as { labels?: unknown; matrix?: unknown } | undefined;
  const labels = d?.labels;
  const matrix = d?.matrix;
  const ok =
    Array.isArray(labels) && labels.every((l) => typeof l === 'string') &&
    Array.isArray(matrix) && matrix.length === labels.length &&
    matrix.every((r) => Array.isArray(r) && r.length === labels.length && r.every((v) => typeof v === 'number'));
  if (!ok) {
    throw new ReportDataError(
      `${row.method}/${row.taxonomy} seed ${row.seed} epoch ${row.epoch}: confusion detail is not { labels: string[], matrix: number[n][n] }`,
      'the confusion metric row must carry detail { labels, matrix } with rows = true class, columns = predicted class',
    );
  }
  return { labels: labels as string[], matrix: matrix as number[][] };
}

/** Sum of each seed's final-epoch confusion matrix (or the untrained rows' matrices). */
function summedConfusion(s: Series): { confusion: Confusion; seeds: number } | null {
  const finals = finalEpochs(s);
  const rows = s.byEpoch.size
    ? [...s.byEpoch].map(([seed, epochs]) => epochs.get(finals.get(seed)!)!)
    : [...s.flat.values()];
  // Rows with value null are 'X' cells: their detail holds the reason, not a matrix.
  const parts = rows.filter((r) => r.value !== null).map(asConfusion);
  if (parts.length === 0) return null;
  const labels = parts[0].labels;
  const matrix = labels.map(() => labels.map(() => 0));
  for (const p of parts) {
    if (p.labels.join('\u0000') !== labels.join('\u0000')) {
      throw new ReportDataError(`${s.method}/${s.taxonomy}: confusion matrices of different seeds list different labels`, 'all seeds must use the same class order');
    }
    p.matrix.forEach((r, i) => r.forEach((v, j) => (matrix[i][j] += v)));
  }
  return { confusion: { labels, matrix }, seeds: parts.length };
}

/** A row-normalised confusion matrix (rows: true class, columns: predicted class), as in the paper's Fig. 2. */
export function confusionFigure(s: Series): Figure | null {
  const summed = summedConfusion(s);
  if (!summed) return null;
  const { labels, matrix } = summed.confusion;
  const n = labels.length;
  const cell = n > 12 ? 22 : 40;
  const left = 8 + 7 * Math.max(...labels.map((l) => l.length));
  const top = 44;
  const size = n * cell;
  const title = `Confusion matrix: ${labelOf(s.method)} on ${s.taxonomy} (final epoch, ${summed.seeds} seed${summed.seeds === 1 ? '' : 's'} summed)`;
  // Wide enough for the title (about 7.5 px per bold 13 px character).
  const W2 = Math.max(left + size + 20, Math.ceil(title.length * 7.5) + 16);
  const H2 = top + size + left + 10;
  const body: string[] = [text(8, 22, title, { 'font-size': 13, 'font-weight': 'bold' })];
  matrix.forEach((r, i) => {
    const total = r.reduce((a, b) => a + b, 0);
    r.forEach((v, j) => {
      const share = total > 0 ? v / total : 0;
      body.push(el('rect', { x: left + j * cell, y: top + i * cell, width: cell, height: cell, fill: blues(share), stroke: '#fff' }, el('title', {}, `true ${labels[i]}, predicted ${labels[j]}: ${v} (${(share * 100).toFixed(1)}%)`)));
      if (share >= 0.005) {
        body.push(text(left + j * cell + cell / 2, top + i * cell + cell / 2 + 4, (share * 100).toFixed(0), { 'text-anchor': 'middle', 'font-size': n > 12 ? 8 : 11, fill: share > 0.5 ? 'white' : '#222' }));
      }
    });
    body.push(text(left - 6, top + i * cell + cell / 2 + 4, labels[i], { 'text-anchor': 'end', 'font-size': 11 }));
  });
  labels.forEach((l, j) => {
    const cx = left + j * cell + cell / 2;
    body.push(text(cx, top + size + 8, l, { transform: `rotate(60 ${cx} ${top + size + 8})`, 'font-size': 11 }));
  });
  body.push(text(left + size / 2, H2 - 4, 'predicted class (rows: true class, % of row)', { 'text-anchor': 'middle', 'font-size': 11 }));
  return { file: `confusion-${s.method}-${s.taxonomy}.svg`, title, svg: document(W2, H2, title, body) };
}

/** Methods whose confusion matrices are drawn (the paper's Fig. 2 shows the two CLIP-E heads). */
export const CONFUSION_METHODS = ['clipe_cross_entropy', 'clipe_contrastive'] as const;

/** Every figure the rows allow: curves of `metric` for each table column, confusion matrices on WEBEmo. */
export function buildFigures(rows: readonly MetricRow[], tags: Readonly<Record<string, string>> = {}, metric = 'accuracy'): Figure[] {
  const curves = indexSeries(rows, metric, tags);
  const confusion = indexSeries(rows, 'confusion', tags);
  const figures: Figure[] = [];
  for (const table of TABLES) {
    for (const col of table.columns) {
      const f = epochCurves(curves, col.taxonomy, metric);
      if (f) figures.push(f);
    }
  }
  for (const col of TABLES[0].columns) {
    for (const method of CONFUSION_METHODS) {
      const s = getSeries(confusion, method, col.taxonomy);
      const f = s ? confusionFigure(s) : null;
      if (f) figures.push(f);
    }
  }
  return figures;
}
