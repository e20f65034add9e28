// One self-contained HTML page of experiments: the sortable comparison table, per-metric curves across
// runs and any extra sections (the study's tables and figures). Styles, script and charts (inline SVG from
// Vega) are in the file: it opens offline. `pipe ui` serves the same page and lets it poll for changes.
import type { ExpTable } from './compare.js';
import { lineSpec, metricTitle, renderSvg, type SeriesPoint } from './charts.js';
import { showNumber } from './format.js';

export interface PageSection {
  readonly title: string;
  /** Trusted HTML (built from escaped text and SVG by our renderers). */
  readonly html: string;
}

export interface PageInput {
  readonly title: string;
  readonly table: ExpTable;
  readonly series: ReadonlyMap<string, readonly SeriesPoint[]>;
  readonly sections: readonly PageSection[];
  /** Served by `pipe ui`: poll `/api/stamp` and reload the content when the store changes. */
  readonly live?: boolean;
}

/** Column and chart caps: a study run has thousands of tagged metrics; narrow them with --metrics. */
export const MAX_METRIC_COLUMNS = 60;
export const MAX_CHARTS = 24;

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STYLE = `
body{font:14px/1.4 system-ui,Helvetica,Arial,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f5f5f5;position:sticky;top:0}td:first-child,th:first-child{text-align:left}
table.exp th{cursor:pointer;user-select:none}table.exp th[aria-sort=ascending]::after{content:" ▲"}table.exp th[aria-sort=descending]::after{content:" ▼"}
table.exp th{white-space:normal;max-width:14em;vertical-align:bottom}th.group-params{background:#eef4fb}th.group-metrics{background:#f3f9ee}
.scroll{overflow:auto;max-height:70vh}.charts{display:flex;flex-wrap:wrap;gap:12px}.charts figure{margin:0}
.note{color:#666}`;

/** Sorting by a header click: numbers by value, text number-aware, empty cells last; stable. */
const SCRIPT = `
function sortTable(th){
  const table=th.closest('table'),body=table.tBodies[0],i=[...th.parentNode.children].indexOf(th);
  const dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
  for(const h of th.parentNode.children)h.removeAttribute('aria-sort');
  th.setAttribute('aria-sort',dir===1?'ascending':'descending');
  const key=r=>{const c=r.children[i];const v=c?c.dataset.v:undefined;return v===undefined||v===''?null:(isNaN(Number(v))?v:Number(v));};
  const rows=[...body.rows].map((r,k)=>[r,key(r),k]);
  rows.sort((a,b)=>{if(a[1]===null||b[1]===null)return a[1]===b[1]?a[2]-b[2]:a[1]===null?1:-1;
    const c=typeof a[1]==='number'&&typeof b[1]==='number'?a[1]-b[1]:String(a[1]).localeCompare(String(b[1]),undefined,{numeric:true});
    return c*dir||a[2]-b[2];});
  for(const [r] of rows)body.appendChild(r);
}
document.addEventListener('click',e=>{const th=e.target.closest('table.exp th');if(th)sortTable(th);});`;

const LIVE = `
let stamp=document.body.dataset.stamp;
setInterval(async()=>{try{const r=await fetch('/api/stamp');const s=(await r.json()).stamp;
  if(s!==stamp){stamp=s;const html=await (await fetch('/')).text();
    const doc=new DOMParser().parseFromString(html,'text/html');document.getElementById('content').replaceWith(doc.getElementById('content'));}}catch(e){}},2000);`;

function cell(v: string | number | boolean | null | undefined): string {
  const raw = v === null || v === undefined ? '' : String(v);
  return `<td data-v="${esc(raw)}">${esc(showNumber(v))}</td>`;
}

function comparisonTable(t: ExpTable): string {
  const instances = t.rows.some((r) => r.instance !== undefined);
  const fixed = ['run', ...(instances ? ['instance'] : []), 'status'];
  const head = [
    `<tr><th colspan="${fixed.length}"></th>${t.params.length ? `<th class="group-params" colspan="${t.params.length}">params</th>` : ''}${t.metrics.length ? `<th class="group-metrics" colspan="${t.metrics.length}">metrics (${t.step} step)</th>` : ''}</tr>`,
    // Tagged labels break after their commas, so a header is a narrow block rather than a 100-character line.
    `<tr>${[...fixed, ...t.params, ...t.metrics].map((h) => `<th>${esc(h).replace(/,/g, ',<wbr>')}</th>`).join('')}</tr>`,
  ];
  const rows = t.rows.map((r) => `<tr>${[r.run, ...(instances ? [r.instance] : []), r.status].map(cell).join('')}${t.params.map((p) => cell(r.params[p])).join('')}${t.metrics.map((m) => cell(r.metrics[m])).join('')}</tr>`);
  const more = t.moreMetrics.length ? `<p class="note">${t.moreMetrics.length} more metric columns: choose them with --metrics GLOB.</p>` : '';
  return `<div class="scroll"><table class="exp"><thead>${head.join('')}</thead><tbody>${rows.join('')}</tbody></table></div>${more}`;
}

async function curves(series: ReadonlyMap<string, readonly SeriesPoint[]>): Promise<string> {
  if (!series.size) return '<p class="note">No metric has two or more steps in these runs.</p>';
  const labels = [...series.keys()].slice(0, MAX_CHARTS);
  const svgs = await Promise.all(labels.map((l) => renderSvg(lineSpec(metricTitle(l), series.get(l)!, { y: l.split('{')[0] }))));
  const more = series.size > labels.length ? `<p class="note">${series.size - labels.length} more series: choose them with --metrics GLOB.</p>` : '';
  return `<div class="charts">${svgs.map((s) => `<figure>${s}</figure>`).join('')}</div>${more}`;
}

export async function renderPage(p: PageInput, stamp = ''): Promise<string> {
  const runs = [...new Set(p.table.rows.map((r) => r.run))];
  const content = [
    `<h1>${esc(p.title)}</h1>`,
    `<p class="note">${runs.length} run${runs.length === 1 ? '' : 's'}: ${runs.join(', ')}. Click a column header to sort.</p>`,
    '<h2>Comparison</h2>',
    comparisonTable(p.table),
    '<h2>Curves</h2>',
    await curves(p.series),
    ...p.sections.map((s) => `<h2>${esc(s.title)}</h2>${s.html}`),
  ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(p.title)}</title><style>${STYLE}</style></head>
<body data-stamp="${esc(stamp)}"><div id="content">${content}</div>
<script>${SCRIPT}${p.live ? LIVE : ''}</script></body></html>
`;
}
