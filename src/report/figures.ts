// The figures: per-epoch accuracy on every target dataset (the specialisation vs generalisation
// trade-off: training on WEBEmo longer helps WEBEmo and often hurts the others) and the confusion
// matrices of the paper's Fig. 2, as Vega-Lite specs rendered to SVG (src/results/charts.ts). The
// `report/tables` stage, `pipe tables` and the HTML page (`pipe exp show --html`, `pipe ui`) all draw
// them from the same rows through buildFigures.
import { METHODS, type StudyMetric } from '../formats.js';
import { renderSvg, type TopLevelSpec } from '../results/charts.js';
import { columnOf, labelOf, TABLE_METRICS, TABLES } from './layout.js';
import { finalEpochs, getSeries, indexSeries, meanAndStd, ReportDataError, type Series, type SeriesIndex } from './series.js';

export interface Figure {
  /** File name inside the figures directory. */
  readonly file: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
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

/** Tableau 10, one colour per method in METHODS order, so a method has the same colour in every figure. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** The colour scale of the methods drawn (the legend lists only those). */
function methodColors(methods: readonly string[]): { domain: string[]; range: string[] } {
  const shown = METHODS.filter((m) => methods.includes(m));
  return { domain: shown.map((m) => labelOf(m)), range: shown.map((m) => PALETTE[METHODS.indexOf(m)]) };
}

/** A metric per epoch of every trained method on one taxonomy (mean ± std band); untrained methods as dashed levels. */
export function epochCurves(index: SeriesIndex, taxonomy: string, metric = 'accuracy'): Figure | null {
  const lines = METHODS.map((m) => ({ method: m, s: getSeries(index, m, taxonomy) }))
    .filter((l) => l.s !== undefined)
    .map((l) => ({ ...l, points: l.s!.byEpoch.size ? curve(l.s!) : null, level: l.s!.flat.size ? flatMean(l.s!) : null }));
  const curves = lines.filter((l) => l.points !== null && l.points.length > 0);
  if (curves.length === 0) return null;
  const where = columnOf(taxonomy);
  const label = TABLE_METRICS[metric] ?? metric;
  const title = `${label} per training epoch on ${where ? where.column.label.replace(/^(\d+) cat$/, 'WEBEmo $1 cat') : taxonomy} (${taxonomy})`;
  const points = curves.flatMap((l) =>
    l.points!.map((p) => ({ method: labelOf(l.method), epoch: p.epoch, mean: p.mean, lo: p.mean - p.std, hi: p.mean + p.std, seeds: p.n })),
  );
  const levels = lines.filter((l) => l.level !== null).map((l) => ({ method: labelOf(l.method), level: l.level! }));
  const color = { field: 'method', type: 'nominal', title: null, scale: methodColors([...curves, ...lines.filter((l) => l.level !== null)].map((l) => l.method)) } as const;
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch (trained on WEBEmo)', axis: { tickMinStep: 1 } } as const;
  const yTitle = `${label.toLowerCase()} (%)`;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 460,
    height: 300,
    background: 'white',
    layer: [
      { data: { values: points }, mark: { type: 'errorband', opacity: 0.12 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: yTitle, scale: { zero: false } }, y2: { field: 'hi' }, color } },
      {
        data: { values: points },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: { x, y: { field: 'mean', type: 'quantitative', title: yTitle }, color, tooltip: [{ field: 'method' }, { field: 'epoch' }, { field: 'mean', format: '.2f' }, { field: 'seeds' }] },
      },
      ...(levels.length
        ? [{ data: { values: levels }, mark: { type: 'rule' as const, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y: { field: 'level', type: 'quantitative' as const }, color, tooltip: [{ field: 'method' }, { field: 'level', format: '.2f' }] } }]
        : []),
    ],
  };
  return { file: `curves-${metric === 'accuracy' ? '' : `${metric}-`}${taxonomy}.svg`, title, spec };
}

interface Confusion {
  readonly labels: string[];
  readonly matrix: number[][];
}

function asConfusion(row: StudyMetric): Confusion {
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
  const title = `Confusion matrix: ${labelOf(s.method)} on ${s.taxonomy} (final epoch, ${summed.seeds} seed${summed.seeds === 1 ? '' : 's'} summed)`;
  const cells = matrix.flatMap((r, i) => {
    const total = r.reduce((a, b) => a + b, 0);
    return r.map((v, j) => {
      const share = total > 0 ? v / total : 0;
      return { true: labels[i], predicted: labels[j], count: v, share, percent: share >= 0.005 ? (share * 100).toFixed(0) : '', tip: `true ${labels[i]}, predicted ${labels[j]}: ${v} (${(share * 100).toFixed(1)}%)` };
    });
  });
  const size = Math.max(160, labels.length * (labels.length > 12 ? 22 : 40));
  const axis = (field: 'true' | 'predicted', t: string) => ({ field, type: 'ordinal', sort: labels, title: t }) as const;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: size,
    height: size,
    background: 'white',
    data: { values: cells },
    encoding: { x: axis('predicted', 'predicted class (rows: true class, % of row)'), y: axis('true', 'true class') },
    layer: [
      { mark: { type: 'rect', stroke: 'white' }, encoding: { color: { field: 'share', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, title: 'share of row' }, tooltip: { field: 'tip' } } },
      { mark: { type: 'text', fontSize: labels.length > 12 ? 8 : 11 }, encoding: { text: { field: 'percent' }, color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: '#222' } } },
    ],
  };
  return { file: `confusion-${s.method}-${s.taxonomy}.svg`, title, spec };
}

/** Methods whose confusion matrices are drawn (the paper's Fig. 2 shows the two CLIP-E heads). */
export const CONFUSION_METHODS = ['clipe_cross_entropy', 'clipe_contrastive'] as const;

/** Every figure the rows allow: curves of `metric` for each table column, confusion matrices on WEBEmo. */
export function buildFigures(rows: readonly StudyMetric[], tags: Readonly<Record<string, string>> = {}, metric = 'accuracy'): Figure[] {
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

/** A figure as an SVG document. */
export function figureSvg(f: Figure): Promise<string> {
  return renderSvg(f.spec);
}
