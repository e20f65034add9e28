// Charts as Vega-Lite specs, rendered to SVG headlessly by Vega (`View.toSVG()`: no browser, no canvas;
// text widths are estimated). The terminal's `pipe plots`, the study's figures and the HTML page all draw
// through here, so one spec gives the same picture everywhere.
import type { TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec };

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

export interface SeriesPoint {
  /** The line a point belongs to (a run, a method). */
  readonly series: string;
  readonly step: number;
  readonly value: number;
}

/** A chart title: one line, or a name over smaller subtitle lines (a metric's tags). */
export type ChartTitle = string | { readonly text: string; readonly subtitle: readonly string[] };

/** `acc{dataset=x,seed=1,...}` as the name over its tags, wrapped to the chart's width. */
export function metricTitle(label: string): ChartTitle {
  const brace = label.indexOf('{');
  if (brace < 0) return label;
  const lines: string[] = [];
  for (const tag of label.slice(brace + 1, -1).split(',')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + tag.length < 48) lines[last] += `, ${tag}`;
    else lines.push(tag);
  }
  return { text: label.slice(0, brace), subtitle: lines };
}

/** Lines of `y` against `x`, one colour per series, with points and tooltips. */
export function lineSpec(title: ChartTitle, points: readonly SeriesPoint[], axes: { x?: string; y?: string; seriesTitle?: string } = {}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: typeof title === 'string' ? title : { text: title.text, subtitle: [...title.subtitle] },
    width: 320,
    height: 240,
    background: 'white',
    data: { values: points as unknown as Record<string, unknown>[] },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: axes.x ?? 'step', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: axes.y ?? 'value', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: axes.seriesTitle ?? 'run' },
    },
  };
}
