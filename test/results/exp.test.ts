// Comparing runs through the real CLI: a command stage declares a metrics file and a plot series, two
// runs with different --set values, then exp show, metrics/params diff, plots, the HTML page and pipe ui.
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PIPE_BIN, runPipe, tempWorkspace } from '../support/index.js';

const ws = tempWorkspace('pipe-exp-');
afterAll(() => ws.cleanup());

// A "training" script: summary metrics as nested JSON, a per-epoch history as CSV.
ws.write(
  'train.mjs',
  `import { writeFileSync } from 'node:fs';
const [lr, scores, history] = process.argv.slice(2);
const rate = Number(lr);
writeFileSync(scores, JSON.stringify({ acc: 0.5 + rate, eval: { f1: rate * 2 }, epochs: 3 }, null, 2));
const lines = ['epoch,loss,val_loss'];
for (let e = 1; e <= 3; e++) lines.push(\`\${e},\${(1 / (e * rate)).toFixed(4)},\${(1.2 / (e * rate)).toFixed(4)}\`);
writeFileSync(history, lines.join('\\n') + '\\n');
`,
);
ws.write(
  'exp.yaml',
  `version: 1
params: { lr: 0.1, label: same }
stages:
  train:
    deps: { script: train.mjs }
    run: [node, "\${deps.script}", "\${params.lr}", "\${outs.scores}", "\${outs.history}"]
    outs: { scores: scores.json, history: history.csv }
    metrics: [scores]
    plots: [{ out: history, x: epoch, y: [loss, val_loss] }]
`,
);

const pipe = (...args: string[]) => runPipe(args, { cwd: ws.dir });

describe('comparing two runs of a command stage', () => {
  it('ingests the declared metrics and series and shows both runs side by side', async () => {
    expect((await pipe('run', 'exp.yaml', '--set', 'lr=0.1')).exitCode).toBe(0);
    expect((await pipe('run', 'exp.yaml', '--set', 'lr=0.2')).exitCode).toBe(0);
    const r = await pipe('exp', 'show', 'exp.yaml', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { params: string[]; metrics: string[]; rows: { run: number; params: Record<string, unknown>; metrics: Record<string, number> }[] };
    // Only the param that differs; `label` is the same in both runs.
    expect(doc.params).toEqual(['lr']);
    expect(doc.metrics).toEqual(['acc', 'epochs', 'eval.f1', 'loss', 'val_loss']);
    expect(doc.rows.map((x) => x.params.lr)).toEqual([0.1, 0.2]);
    expect(doc.rows[0].metrics.acc).toBeCloseTo(0.6);
    expect(doc.rows[1].metrics['eval.f1']).toBeCloseTo(0.4);
    // The final step of the history (epoch 3).
    expect(doc.rows[1].metrics.loss).toBeCloseTo(1 / 0.6, 3);

    const sorted = JSON.parse((await pipe('exp', 'show', '--json', '--sort', 'acc', '--sort-order', 'desc')).stdout) as typeof doc;
    expect(sorted.rows.map((x) => x.params.lr)).toEqual([0.2, 0.1]);
    const text = (await pipe('exp', 'show', '--metrics', 'acc,loss', '--step', 'best')).stdout;
    expect(text.split('\n')[0].split(/\s+/)).toEqual(['run', 'status', 'lr', 'acc', 'loss']);
    // Loss falls every epoch: its best step is the last one (3.3333 for lr 0.1); step 1 is 1 / 0.1.
    expect(text.split('\n')[2].split(/\s+/)).toEqual(['1', 'succeeded', '0.1', '0.6', '3.3333']);
    const first = JSON.parse((await pipe('exp', 'show', '--json', '--metrics', 'loss', '--step', '1')).stdout) as typeof doc;
    expect(first.rows.map((x) => x.metrics.loss)).toEqual([10, 5]);
  });

  it('fits the terminal table to its width, params first, and filters columns with --drop and --keep', async () => {
    const header = (text: string): string[] => text.split('\n')[0].split(/\s+/);
    const narrow = await pipe('exp', 'show', '--width', '30');
    expect(narrow.exitCode, narrow.stderr).toBe(0);
    // run, status, the param that differs, then the metrics in order while they fit in 30 columns.
    expect(header(narrow.stdout)).toEqual(['run', 'status', 'lr', 'acc']);
    expect(narrow.stdout.split('\n').every((l) => l.length <= 30 || l.startsWith('…'))).toBe(true);
    expect(narrow.stdout).toMatch(/… 4 metric columns not shown \(30 columns wide\).*--width 0 shows all/);
    // Piped output without --width takes $COLUMNS.
    expect(header((await runPipe(['exp', 'show'], { cwd: ws.dir, env: { COLUMNS: '30' } })).stdout)).toEqual(['run', 'status', 'lr', 'acc']);
    const kept = await pipe('exp', 'show', '--width', '30', '--keep', 'val_loss');
    expect(header(kept.stdout)).toEqual(['run', 'status', 'lr', 'val_loss']);
    const wide = await pipe('exp', 'show', '--width', '0');
    expect(header(wide.stdout)).toEqual(['run', 'status', 'lr', 'acc', 'epochs', 'eval.f1', 'loss', 'val_loss']);
    expect(wide.stdout).not.toContain('not shown');
    const dropped = JSON.parse((await pipe('exp', 'show', '--json', '--drop', '*loss,lr', '--keep', 'label')).stdout) as { params: string[]; metrics: string[] };
    expect(dropped.params).toEqual(['label']);
    expect(dropped.metrics).toEqual(['acc', 'epochs', 'eval.f1']);
    // Per instance: a row for each instance that recorded metrics, even when no metric column fits.
    const inst = await pipe('exp', 'show', '--instances', '--width', '40');
    expect(header(inst.stdout)).toEqual(['run', 'instance', 'status', 'lr', 'acc']);
    expect(inst.stdout.split('\n').filter((l) => / train /.test(l))).toHaveLength(2);
    expect(header((await pipe('exp', 'show', '--instances', '--width', '20')).stdout)).toEqual(['run', 'instance', 'status']);
    const bad = await pipe('exp', 'show', '--width', 'wide');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--width expects a whole number of columns');
  });

  it('diffs metrics and params with old, new and the change', async () => {
    const m = await pipe('metrics', 'diff', 'latest~1', 'latest', '--json');
    expect(m.exitCode, m.stderr).toBe(0);
    const metrics = (JSON.parse(m.stdout) as { metrics: { name: string; old: number; new: number; delta: number }[] }).metrics;
    const acc = metrics.find((x) => x.name === 'acc')!;
    expect([acc.old, acc.new]).toEqual([0.6, 0.7]);
    expect(acc.delta).toBeCloseTo(0.1);
    expect(metrics.map((x) => x.name)).not.toContain('epochs');
    const p = JSON.parse((await pipe('params', 'diff', '1', '2', '--json')).stdout) as { params: { name: string; delta: number }[] };
    expect(p.params.map((x) => [x.name, Number(x.delta.toFixed(6))])).toEqual([['lr', 0.1]]);
    expect((await pipe('metrics', 'diff', '1', '2')).stdout).toMatch(/acc\s+0\.6\s+0\.7\s+\+0\.1/);
  });

  it('draws the series of both runs overlaid as SVG', async () => {
    const r = await pipe('plots', '1', '2', '--out', 'plots');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readdirSync(ws.path('plots')).sort()).toEqual(['loss.svg', 'val_loss.svg']);
    const svg = readFileSync(ws.path('plots/loss.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('run 1');
    expect(svg).toContain('run 2');
  });

  it('writes a self-contained HTML page', async () => {
    const r = await pipe('exp', 'show', '--html', 'page.html');
    expect(r.exitCode, r.stderr).toBe(0);
    const html = readFileSync(ws.path('page.html'), 'utf8');
    expect(html).toContain('<table class="exp">');
    expect(html.match(/<svg/g)!.length).toBe(2);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);
  });

  it('fails a stage whose metrics file is malformed, naming the file and the line', async () => {
    ws.write('bad.mjs', `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2], '{\\n  "acc": 0.5,\\n  "f1": "high"\\n}\\n');\n`);
    ws.write('bad.yaml', `version: 1\nstages:\n  score:\n    deps: { script: bad.mjs }\n    run: [node, "\${deps.script}", "\${outs.scores}"]\n    outs: { scores: scores.json }\n    metrics: [scores]\n`);
    const r = await pipe('run', 'bad.yaml');
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toContain('scores.json (outs.scores of score):3: "f1" is "high", not a number');
    // Nothing was committed: the stage has no results in the store.
    const j = JSON.parse((await pipe('exp', 'show', 'bad.yaml', '--json')).stdout) as { rows: { metrics: object }[] };
    expect(j.rows.map((x) => x.metrics)).toEqual([{}]);
  });

  it('rejects metrics: naming an undeclared output, at load time', async () => {
    ws.write('undeclared.yaml', `version: 1\nstages:\n  s:\n    run: [node, -e, "1"]\n    outs: { a: a.json }\n    metrics: [b]\n`);
    const r = await pipe('validate', 'undeclared.yaml');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('stages.s.metrics: "b" is not a declared output');
  });

  it('serves the page live on 127.0.0.1, read-only', async () => {
    const ui = execa(process.execPath, [PIPE_BIN, 'ui', '--port', '0', '-C', ws.dir], { reject: false });
    try {
      const url = await new Promise<string>((ok) => ui.stdout!.on('data', (d: Buffer) => { const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(String(d)); if (m) ok(m[0]); }));
      const page = await (await fetch(url)).text();
      expect(page).toContain('<table class="exp">');
      expect(page).toContain("fetch('/api/stamp')");
      const stamp = (await (await fetch(`${url}api/stamp`)).json()) as { stamp: string };
      expect(stamp.stamp).toMatch(/^\d+:\d+:/);
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);
      // A new run changes the stamp the page polls.
      expect((await pipe('run', 'exp.yaml', '--set', 'lr=0.3')).exitCode).toBe(0);
      const after = (await (await fetch(`${url}api/stamp`)).json()) as { stamp: string };
      expect(after.stamp).not.toBe(stamp.stamp);
      expect(await (await fetch(url)).text()).toContain('<td data-v="0.3">0.3</td>');
    } finally {
      ui.kill('SIGINT');
      expect((await ui).exitCode).toBe(0);
    }
  });
});

