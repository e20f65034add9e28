// The examples/ workflows (other tools' tutorials in pipe YAML) end to end through the real CLI, each in
// a temporary copy of its directory with generated data.
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, byStatus, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

function copyExample(name: string): TempWorkspace {
  const w = tempWorkspace(`pipe-example-${name}-`);
  cpSync(join(REPO_ROOT, 'examples', name), w.dir, { recursive: true, filter: (src) => !/\/(runs|data|calls|plots|eval|\.snakemake)$/.test(src) });
  return w;
}

describe('examples/snakemake-tutorial', () => {
  it('maps, sorts, indexes and calls every sample, plots the qualities, then restores a deleted plot without re-running', async () => {
    ws = copyExample('snakemake-tutorial');
    await execa('python3', ['tools/generate.py', 'data', 'A', 'B', 'C'], { cwd: ws.dir });
    const first = await runPipeJson(['run', 'pipeline.yaml'], { cwd: ws.dir });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.doc.instances).toHaveLength(11);
    const vcf = readFileSync(ws.path('calls/all.vcf'), 'utf8');
    expect(vcf).toMatch(/^##fileformat=VCFv4\.2\n#CHROM/);
    expect(vcf.split('\n').filter((l) => l.startsWith('chr1\t')).length).toBeGreaterThan(3);
    expect(readFileSync(ws.path('plots/quals.svg'), 'utf8')).toMatch(/^<svg .*variant calls: QUAL/);

    rmSync(ws.path('plots/quals.svg'));
    const second = await runPipeJson(['run', 'pipeline.yaml'], { cwd: ws.dir });
    expect(byStatus(second.doc).ran).toBeUndefined();
    expect(second.doc.published?.find((p) => p.path === 'plots/quals.svg')?.status).toBe('restored');

    // A new sample file adds its three instances (a glob axis) and re-runs the calls and the plot, nothing else.
    await execa('python3', ['tools/generate.py', 'data', 'D'], { cwd: ws.dir });
    const third = await runPipeJson(['run', 'pipeline.yaml'], { cwd: ws.dir });
    expect(byStatus(third.doc).ran).toEqual(['bcftools-call', 'bwa-map@sample=D', 'plot-quals', 'samtools-index@sample=D', 'samtools-sort@sample=D']);
  });
});

describe('examples/dvc-get-started', () => {
  it('prepares, featurizes, trains and evaluates; a params.yaml edit re-runs exactly the stages that list the key', async () => {
    ws = copyExample('dvc-get-started');
    await execa('python3', ['tools/generate.py', '600'], { cwd: ws.dir });
    const first = await runPipeJson(['run', 'pipeline.yaml'], { cwd: ws.dir });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(byStatus(first.doc).ran).toEqual(['evaluate', 'featurize', 'prepare', 'train']);
    const metrics = JSON.parse(readFileSync(ws.path('eval/metrics.json'), 'utf8')) as Record<string, Record<string, number>>;
    expect(metrics.test.accuracy).toBeGreaterThan(0.6);
    expect(JSON.parse(readFileSync(ws.path('eval/plots/roc-test.json'), 'utf8'))).toContainEqual({ fpr: 0, tpr: 0 });
    expect(JSON.parse(readFileSync(ws.path('model.json'), 'utf8'))).toHaveProperty('weights');

    ws.write('params.yaml', readFileSync(ws.path('params.yaml'), 'utf8').replace('n_est: 50', 'n_est: 20'));
    const second = await runPipeJson(['run', 'pipeline.yaml'], { cwd: ws.dir });
    expect(byStatus(second.doc)).toEqual({ cached: ['featurize', 'prepare'], ran: ['evaluate', 'train'] });
    expect(second.doc.published?.find((p) => p.path === 'eval')?.status).toBe('updated');
  });
});
