import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT as ROOT, runPipe as pipe } from '../support/index.js';

const ws = mkdtempSync(join(tmpdir(), 'pipe-preflight-'));
afterAll(() => rmSync(ws, { recursive: true, force: true }));

describe('pre-flight check of outside inputs', () => {
  it('lists every missing input before any stage starts, with the pipeline description as pointer', async () => {
    writeFileSync(join(ws, 'present.jsonl'), '');
    writeFileSync(
      join(ws, 'p.yaml'),
      [
        'description: "Study; how to obtain the datasets: docs/datasets.md"',
        'params: { root: "${env.TEST_ROOT:-absent}" }',
        'stages:',
        '  early:',
        '    run: [touch, "${outs.done}"]',
        '    outs: { done: done.txt }',
        '  tables:',
        '    uses: report/tables',
        '    matrix: { seed: [1, 2] }',
        '    with: { metrics: ["${params.root}/a.jsonl", "present.jsonl", "${params.root}/b.jsonl"] }',
        '  cmd:',
        '    run: [cat, "${params.root}/c.txt"]',
        '    deps: ["${params.root}/c.txt"]',
        '    needs: [early]',
      ].join('\n'),
    );
    const r = await pipe(['run', 'p.yaml'], { cwd: ws });
    expect(r.exitCode).toBe(2);
    const lines = String(r.all).split('\n');
    expect(lines.filter((l) => l.includes('does not exist'))).toEqual([
      'p.yaml: error: input absent/a.jsonl does not exist (read by tables@seed=1 and 1 more)',
      'p.yaml: error: input absent/b.jsonl does not exist (read by tables@seed=1 and 1 more)',
      'p.yaml: error: input absent/c.txt does not exist (read by cmd)',
    ]);
    expect(r.all).toContain('how to obtain the datasets: docs/datasets.md');
    // Nothing ran, not even the stage without missing inputs; no run was recorded.
    expect(existsSync(join(ws, 'runs', 'pipe.db'))).toBe(false);
  });

  it('checks only what the selection needs', async () => {
    const r = await pipe(['run', 'p.yaml', '--only', 'early'], { cwd: ws });
    expect(r.exitCode, String(r.all)).toBe(0);
  });
});

describe('pipelines/paper-tables.yaml without the data', () => {
  it('names every missing dataset, the captions and the model, and where to get them, before anything runs', async () => {
    const r = await pipe(['run', join(ROOT, 'pipelines', 'paper-tables.yaml'), '--workspace', ws, '--set', `data_root=${join(ws, 'datasets')}`], { cwd: ws });
    expect(r.exitCode).toBe(2);
    const missing = String(r.all).split('\n').filter((l) => l.includes('does not exist'));
    for (const d of ['webemo', 'iaps', 'emotion6', 'emotionroi', 'fi']) expect(missing.some((l) => l.includes(`input datasets/${d} does not exist`)), d).toBe(true);
    expect(missing.some((l) => l.includes('webemo-ofa.jsonl'))).toBe(true);
    expect(missing.some((l) => l.includes('models/clip-vit-base-patch32'))).toBe(true);
    expect(missing).toHaveLength(7);
    expect(r.all).toContain('docs/datasets.md');
    expect(r.all).toContain('pipe model fetch');
  });
});
