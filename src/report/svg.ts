// A small SVG writer: elements as escaped strings, linear scales and "nice" axis ticks. Written here
// rather than taking a plotting library because the two figure types need ~150 lines, and the libraries
// that render SVG in Node without a browser (vega, plotly) pull in tens of packages and a canvas shim.

export type Attrs = Readonly<Record<string, string | number | undefined>>;

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `<tag a="1">children</tag>`; attributes with value undefined are left out; numbers keep 2 decimals. */
export function el(tag: string, attrs: Attrs, ...children: string[]): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? Number(v.toFixed(2)) : esc(v!)}"`)
    .join('');
  return children.length ? `<${tag}${a}>${children.join('')}</${tag}>` : `<${tag}${a}/>`;
}

export const text = (x: number, y: number, s: string, attrs: Attrs = {}): string => el('text', { x, y, ...attrs }, esc(s));

export function document(width: number, height: number, title: string, body: string[]): string {
  return (
    el(
      'svg',
      { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': 'Helvetica, Arial, sans-serif', 'font-size': 12 },
      el('title', {}, esc(title)),
      el('rect', { x: 0, y: 0, width, height, fill: 'white' }),
      ...body,
    ) + '\n'
  );
}

/** Maps [d0, d1] onto [r0, r1]. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** Round tick values covering [lo, hi] with a 1/2/5 x 10^k step, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toFixed(10)));
  return ticks;
}

/** Ten distinguishable colours (Tableau 10), for series in a fixed order. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** White-to-blue colour of a value in [0, 1] (confusion matrix cells). */
export function blues(v: number): string {
  const t = Math.max(0, Math.min(1, v));
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * t);
  return `rgb(${mix(247, 8)},${mix(251, 48)},${mix(255, 107)})`;
}
