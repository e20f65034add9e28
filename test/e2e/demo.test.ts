// The demo pipeline end to end through the real CLI, in a temporary workspace: every stage kind of the
// study runs on generated data and a generated tiny CLIP; Tables I and II come out complete; a second run
// executes nothing; `pipe tables` and `pipe predict` work on the recorded run; the experiment page of it and a
// run with other --set values renders in chromium (the README screenshot). Two seeds, two epochs
// and 150 WEBEmo images instead of 5, 5 and 600 keep it well under a minute on 2 cores; same DAG.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHODS } from '../../src/formats.js';
import { METHOD_LABELS, TABLES } from '../../src/report/layout.js';
import { openStore } from '../../src/store/index.js';
import { openPage } from '../support/browser.js';
import { REPO_ROOT as ROOT, runPipe as pipe } from '../support/index.js';

const ws = mkdtempSync(join(tmpdir(), 'pipe-e2e-demo-'));
const DEMO = join(ROOT, 'pipelines', 'demo.yaml');
const SETS = ['--set', 'seeds=[0, 1]', '--set', 'epochs=2', '--set', 'webemo_images=150'];
/** The cells no head can compute: a WEBEmo CE head has neither EmotionROI's Ekman 6 nor FI's 8 classes. */
const NOT_COMPUTABLE = new Set(['clipe_cross_entropy/emotionroi6', 'clipe_cross_entropy/fi8']);
const NUMBER = /^(\*\*)?(\d{1,3}\.\d\d)( ± \d{1,3}\.\d\d)?( \(e\d+\))?(\*\*|\*)?$/;

let first: Awaited<ReturnType<typeof pipe>>;
let artifacts: Map<string, string>;

beforeAll(async () => {
  first = await pipe(['run', DEMO, '--workspace', ws, ...SETS], { cwd: ws, timeoutMs: 240_000 });
  const store = openStore(join(ws, 'runs', 'pipe.db'));
  try {
    const key = store.runInstances(1).find((i) => i.instanceId === 'tables')?.key;
    const committed = key ? store.getCommitted(key) : undefined;
    artifacts = new Map((committed?.artifacts ?? []).map((a) => [a.name, join(ws, a.path)]));
  } finally {
    store.close();
  }
}, 250_000);
afterAll(() => rmSync(ws, { recursive: true, force: true }));

/** The markdown table under `heading`: header cells and rows of cells. */
function tableAfter(md: string, heading: string): { header: string[]; rows: string[][] } {
  const start = md.indexOf(`${heading}\n`);
  expect(start, `missing section "${heading}"`).toBeGreaterThanOrEqual(0);
  const lines = md.slice(start).split('\n').slice(2);
  const block = lines.slice(0, lines.findIndex((l) => !l.startsWith('|')));
  const cells = (l: string): string[] => l.slice(1, -1).split('|').map((c) => c.trim());
  return { header: cells(block[0]), rows: block.slice(2).map(cells) };
}

describe('pipe run pipelines/demo.yaml', () => {
  it('runs every stage', () => {
    expect(first.exitCode, String(first.all).slice(-3000)).toBe(0);
    expect(String(first.all)).toMatch(/succeeded \(run 1\): \d+ ran, 0 cached, 0 failed, 0 skipped/);
  });

  it('writes Table I and II with every row and column, numbers where computable and X exactly where not', () => {
    const md = readFileSync(artifacts.get('tables')!, 'utf8');
    for (const mode of ['final', 'best'] as const) {
      for (const spec of TABLES) {
        const { header, rows } = tableAfter(md, `### ${spec.title} (${mode} epoch)`);
        expect(header).toEqual(['Model', ...spec.columns.map((c) => c.label)]);
        const methodRows = rows.filter((r) => !r[0].startsWith('*'));
        expect(methodRows.map((r) => r[0])).toEqual(METHODS.map((m) => METHOD_LABELS[m]));
        methodRows.forEach((r, i) => {
          spec.columns.forEach((col, j) => {
            const cell = r[j + 1];
            const id = `${METHODS[i]}/${col.taxonomy}`;
            if (NOT_COMPUTABLE.has(id)) expect(cell, id).toBe('X');
            else {
              const m = NUMBER.exec(cell);
              expect(m, `${id} (${mode}): "${cell}"`).not.toBeNull();
              const value = Number(m![2]);
              expect(value).toBeGreaterThanOrEqual(0);
              expect(value).toBeLessThanOrEqual(100);
              // Trained methods carry a std over the two seeds, untrained ones are a single number.
              expect(m![3] !== undefined, id).toBe(METHODS[i].startsWith('clipe_'));
            }
          });
        });
      }
    }
    expect(md).toContain('published values and our difference');
    expect(md).toContain('> Demo: generated images');
    expect(md).toContain('Cells far below chance are expected here, not a bug');
    expect(md).toContain("CLIP-E Contrastive, CLIP-E Contrastive [SC], CLIP-E Contrastive [IC], CLIP-E Contrastive [SC, IC], CLIP-E Contrastive [SC, SSC]: prompts=paper (the paper's inference");
    expect(md).toMatch(/- model: runs\/store\/.*\/model \(sha256 [0-9a-f]{64}\)/);
  });

  it("has the same cells in CSV and JSON, and 'x' status exactly for the non-computable ones", () => {
    const json = JSON.parse(readFileSync(artifacts.get('json')!, 'utf8')) as { final: { method: string; taxonomy: string; status: string }[]; best: { status: string }[] };
    expect(json.final).toHaveLength(METHODS.length * 10);
    const x = json.final.filter((c) => c.status === 'x').map((c) => `${c.method}/${c.taxonomy}`);
    expect(new Set(x)).toEqual(NOT_COMPUTABLE);
    expect(json.final.filter((c) => c.status === 'missing')).toEqual([]);
    expect(json.best.filter((c) => c.status === 'x')).toHaveLength(NOT_COMPUTABLE.size);
    const csv = readFileSync(artifacts.get('csv')!, 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + 2 * METHODS.length * 10);
  });

  it('draws the figures and links them from the report', () => {
    const figures = readdirSync(artifacts.get('figures')!);
    expect(figures.filter((f) => f.startsWith('curves-'))).toHaveLength(10);
    expect(figures).toContain('confusion-clipe_cross_entropy-webemo25.svg');
    expect(figures).toContain('confusion-clipe_contrastive-webemo25.svg');
    const report = readFileSync(artifacts.get('report')!, 'utf8');
    for (const f of figures) expect(report).toContain(`(figures/${f})`);
  });

  it('executes no stage on a second run', async () => {
    const again = await pipe(['run', DEMO, '--workspace', ws, ...SETS, '--json'], { cwd: ws });
    expect(again.exitCode).toBe(0);
    const doc = JSON.parse(again.stdout) as { status: string; instances: { id: string; status: string }[] };
    expect(doc.status).toBe('succeeded');
    const ran = Number(/succeeded \(run 1\): (\d+) ran/.exec(String(first.all))![1]);
    expect(doc.instances).toHaveLength(ran);
    expect(doc.instances.filter((i) => i.status !== 'cached')).toEqual([]);
  });

  it('names the run, the pipeline file and its hash, and the code version in the provenance footer', () => {
    const { provenance } = JSON.parse(readFileSync(artifacts.get('json')!, 'utf8')) as { provenance: Record<string, string> };
    const sha = createHash('sha256').update(readFileSync(DEMO)).digest('hex');
    expect(provenance).toMatchObject({ run: '1', pipeline: `${relative(ws, DEMO)} (sha256 ${sha})`, code_version: expect.stringMatching(/^pipe \d+\.\d+\.\d+/) });
    expect(readFileSync(artifacts.get('tables')!, 'utf8')).toContain(`- pipeline: ${relative(ws, DEMO)} (sha256 ${sha})`);
  });

  it('pipe tables renders the same cells from the store', async () => {
    const r = await pipe(['tables', '1', '--format', 'json', '--workspace', ws], { cwd: ws });
    expect(r.exitCode, String(r.all)).toBe(0);
    type Doc = { final: { mean: number | null }[]; provenance: { model: string } };
    const fromStore = JSON.parse(r.stdout) as Doc;
    const fromStage = JSON.parse(readFileSync(artifacts.get('json')!, 'utf8')) as Doc;
    expect(fromStore.final.map((c) => c.mean)).toEqual(fromStage.final.map((c) => c.mean));
    // Both name the model by the engine's content hash of its folder.
    const sha = (s: string): string | undefined => /sha256 ([0-9a-f]{64})/.exec(s)?.[1];
    expect(sha(fromStore.provenance.model)).toEqual(expect.any(String));
    expect(sha(fromStage.provenance.model)).toBe(sha(fromStore.provenance.model));
    // `latest` is whichever run came last (run 1, or the cached re-run when the tests run in order): same cells.
    const f1 = await pipe(['tables', 'latest', '--metric', 'macro_f1', '--workspace', ws], { cwd: ws });
    expect(f1.exitCode, String(f1.all)).toBe(0);
    expect(f1.stdout).toContain('Macro F1 (%), mean ± sample std');
    const none = await pipe(['tables', '99', '--workspace', ws], { cwd: ws });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('no run 99');
  });

  it('pipelines/paper-tables.yaml runs end to end on data laid out like the real datasets', async () => {
    // The demo's generated datasets and model, used as if they were the downloaded ones.
    const store = openStore(join(ws, 'runs', 'pipe.db'));
    const outputs = (id: string): Map<string, string> => {
      const key = store.runInstances(1).find((i) => i.instanceId === id)!.key!;
      return new Map(store.getCommitted(key)!.artifacts.map((a) => [a.name, join(ws, a.path)]));
    };
    const data = outputs('data');
    const model = outputs('model').get('model')!;
    store.close();
    const root = join(data.get('webemo')!, '..');
    const r = await pipe(
      ['run', join(ROOT, 'pipelines', 'paper-tables.yaml'), '--workspace', ws, '--set', `data_root=${root}`, '--set', `clip_model=${model}`,
        '--set', `captions=${data.get('captions')}`, '--set', 'seeds=[0]', '--set', 'epochs=1', '--json'],
      { cwd: ws, timeoutMs: 120_000 },
    );
    expect(r.exitCode, String(r.all).slice(-2000)).toBe(0);
    const run = (JSON.parse(r.stdout) as { run: number }).run;
    const tables = await pipe(['tables', String(run), '--format', 'json', '--workspace', ws], { cwd: ws });
    const cells = (JSON.parse(tables.stdout) as { final: { method: string; taxonomy: string; status: string; values: number[] }[] }).final;
    expect(new Set(cells.filter((c) => c.status === 'x').map((c) => `${c.method}/${c.taxonomy}`))).toEqual(NOT_COMPUTABLE);
    expect(cells.filter((c) => c.status === 'missing')).toEqual([]);
    expect(cells.filter((c) => c.method.startsWith('clipe_') && c.status === 'value').every((c) => c.values.length === 1)).toBe(true);
  });

  it("pipe predict prints sorted distributions from the run's heads, for any taxonomy with the contrastive head", async () => {
    const image = join(ws, 'photo.png');
    const { default: sharp } = await import('sharp');
    await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 230, g: 200, b: 40 } } }).png().toFile(image);
    const ce = await pipe(['predict', image, '--run', '1', '--top', '3', '--workspace', ws], { cwd: ws });
    expect(ce.exitCode, String(ce.all)).toBe(0);
    expect(ce.stdout).toMatch(/ce head, webemo25, seed 0, final \(last epoch trained\) weights: epoch [1-5]\)/);
    const best = await pipe(['predict', image, '--run', '1', '--weights', 'best', '--workspace', ws], { cwd: ws });
    expect(best.exitCode, String(best.all)).toBe(0);
    expect(best.stdout).toMatch(/ce head, webemo25, seed 0, best \(lowest validation loss\) weights: epoch [1-5]\)/);
    const second = await pipe(['predict', image, '--run', '1', '--weights', '2', '--workspace', ws], { cwd: ws });
    expect(second.stdout).toContain('seed 0, epoch-2 weights: epoch 2)');
    const absent = await pipe(['predict', image, '--run', '1', '--weights', '9', '--workspace', ws], { cwd: ws });
    expect(absent.exitCode).toBe(2);
    expect(absent.stderr).toContain('has no checkpoint of epoch 9');
    const probs = [...ce.stdout.matchAll(/ (\d+\.\d)%/g)].map((m) => Number(m[1]));
    expect(probs).toHaveLength(3);
    expect([...probs].sort((a, b) => b - a)).toEqual(probs);
    const wrong = await pipe(['predict', image, '--run', '1', '--taxonomy', 'fi8', '--workspace', ws], { cwd: ws });
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain('use --head contrastive for any taxonomy');

    // A taxonomy the run never built prompts for: its SC prompts are embedded on the fly.
    const taxDir = join(ws, 'my-taxonomies');
    mkdirSync(taxDir);
    writeFileSync(join(taxDir, 'mood3.yaml'), 'id: mood3\ndataset: custom\ndescription: three moods\nclasses:\n  - { id: calm, name: calm }\n  - { id: cheerful, name: cheerful }\n  - { id: gloomy, name: gloomy }\n');
    const con = await pipe(['predict', image, '--run', '1', '--head', 'contrastive', '--taxonomy', 'mood3', '--json', '--workspace', ws], { cwd: ws, env: { PIPE_TAXONOMY_PATH: taxDir } });
    expect(con.exitCode, String(con.all)).toBe(0);
    expect(con.stderr).toContain('embedded 3 SC prompts for mood3');
    const doc = JSON.parse(con.stdout) as { predictions: { classes: { class: string; p: number }[] }[] };
    const classes = doc.predictions[0].classes;
    expect(classes.map((c) => c.class).sort()).toEqual(['calm', 'cheerful', 'gloomy']);
    expect(classes.reduce((a, c) => a + c.p, 0)).toBeCloseTo(1, 4);
  });

  it('shows this run and one with other --set values on the experiment page in chromium, and takes the README screenshot', async () => {
    // Only the heads retrain: more epochs, one seed and the lightest contrastive ablation (to keep it short).
    const other = await pipe(['run', DEMO, '--workspace', ws, '--set', 'seeds=[0]', '--set', 'epochs=3', '--set', 'webemo_images=150', '--set', 'ablations=[[sc]]'], {
      cwd: ws,
      timeoutMs: 240_000,
    });
    expect(other.exitCode, String(other.all).slice(-3000)).toBe(0);
    const html = await pipe(['exp', 'show', '--runs', '1,latest', '--html', 'page.html', '--workspace', ws], { cwd: ws, timeoutMs: 120_000 });
    expect(html.exitCode, html.stderr).toBe(0);
    const { browser, page, problems } = await openPage(join(ws, 'page.html'), { width: 1280, height: 1600 });
    try {
      // Per-epoch curves of the generic section: a chart per series, each with a line per run.
      const charts = await page.$$eval('h2 + .charts svg', (svgs) => svgs.map((svg) => ({ w: svg.getBoundingClientRect().width, text: svg.textContent ?? '' })));
      expect(charts.length).toBeGreaterThanOrEqual(6);
      const latest = /succeeded \(run (\d+)\)/.exec(String(other.all))![1];
      expect(charts.every((c) => c.w > 100 && /run \d+/.test(c.text))).toBe(true);
      expect(charts.some((c) => c.text.includes('run 1') && c.text.includes(`run ${latest}`))).toBe(true);
      expect(charts.map((c) => c.text).join(' ')).toMatch(/train_loss/);
      const headers = await page.$$eval('table.exp thead tr:last-child th', (ths) => ths.map((th) => th.textContent));
      expect(headers.slice(0, 4)).toEqual(['run', 'status', 'ablations', 'epochs']);
      const titles = await page.$$eval('h2, h3', (hs) => hs.map((h) => h.textContent ?? ''));
      expect(titles.some((t) => t.startsWith('Table I:'))).toBe(true);
      expect(titles.some((t) => t.startsWith('Table II:'))).toBe(true);
      const shot = await page.screenshot({ type: 'png' });
      mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
      writeFileSync(join(ROOT, 'test-artifacts', 'exp-page-demo.png'), shot);
      // The README's picture is this one: `PIPE_UPDATE_SCREENSHOTS=1 npx vitest run test/e2e/demo.test.ts`.
      if (process.env.PIPE_UPDATE_SCREENSHOTS === '1') writeFileSync(join(ROOT, 'docs', 'img', 'exp-page.png'), shot);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 400_000);
});
