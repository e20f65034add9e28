// The experiment page in a real browser (headless chromium): charts drawn, sorting by a header click,
// no console errors, nothing fetched from the network; a screenshot is kept as a test artifact.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPage } from '../support/browser.js';
import { REPO_ROOT, runPipe, tempWorkspace } from '../support/index.js';

const ws = tempWorkspace('pipe-page-');
afterAll(() => ws.cleanup());
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

ws.write('train.mjs', `import { writeFileSync } from 'node:fs';
const [lr, scores, history] = process.argv.slice(2);
const r = Number(lr);
writeFileSync(scores, JSON.stringify({ acc: 0.5 + r }));
writeFileSync(history, [1, 2, 3].map((e) => JSON.stringify({ epoch: e, loss: 1 / (e * r) })).join('\\n') + '\\n');
`);
ws.write('exp.yaml', `version: 1
params: { lr: 0.1 }
stages:
  train:
    deps: { script: train.mjs }
    run: [node, "\${deps.script}", "\${params.lr}", "\${outs.scores}", "\${outs.history}"]
    outs: { scores: scores.json, history: history.jsonl }
    metrics: [scores]
    plots: [{ out: history, x: epoch, y: loss }]
`);

describe('the experiment page in chromium', () => {
  it('renders the charts, sorts the table and logs no errors', async () => {
    for (const lr of ['0.3', '0.1', '0.2']) expect((await runPipe(['run', 'exp.yaml', '--set', `lr=${lr}`], { cwd: ws.dir })).exitCode).toBe(0);
    const r = await runPipe(['exp', 'show', '--html', 'page.html'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const { browser, page, problems } = await openPage(ws.path('page.html'), { width: 1200, height: 900 });
    try {
      // The loss chart: an SVG with a drawn line per run.
      const chart = await page.$eval('.charts svg', (svg) => ({ w: svg.getBoundingClientRect().width, lines: svg.querySelectorAll('path[aria-roledescription="line mark"]').length, text: svg.textContent ?? '' }));
      expect(chart.w).toBeGreaterThan(100);
      expect(chart.lines).toBe(3);
      expect(chart.text).toContain('run 3');
      const column = (name: string) => page.$$eval('table.exp tbody tr', (rows, n) => {
        const head = [...document.querySelectorAll('table.exp thead tr:last-child th')].map((th) => th.textContent);
        return rows.map((row) => row.children[head.indexOf(n)].textContent);
      }, name);
      expect(await column('lr')).toEqual(['0.3', '0.1', '0.2']);
      const clickHeader = (name: string) => page.evaluate((n) => [...document.querySelectorAll<HTMLElement>('table.exp thead tr:last-child th')].find((th) => th.textContent === n)!.click(), name);
      await clickHeader('acc');
      expect(await column('acc')).toEqual(['0.6', '0.7', '0.8']);
      await clickHeader('acc');
      expect(await column('acc')).toEqual(['0.8', '0.7', '0.6']);
      expect(await column('run')).toEqual(['1', '3', '2']);
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(join(ARTIFACTS, 'exp-page.png'), await page.screenshot({ fullPage: true }));
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 180_000);
});
