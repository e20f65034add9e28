// Built-in (in-process) stage kinds through the programmatic API: the full StageContext, `format:
// "path"` params at any depth hashed into the key, metrics committed with the outputs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPipeline, runPipeline } from '../../src/engine/index.js';
import { pipelineStatus } from '../../src/engine/status.js';
import { defineStage, type RunInfo, type StageKind } from '../../src/stage-api.js';
import { openStore } from '../../src/store/index.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';

interface SumParams {
  eval_sets: { manifest: string; name: string }[];
  extra: { file: string };
  factor: number;
}

const seen: { params?: SumParams; resume?: string; kindCache?: string; hashes?: string[]; run?: RunInfo } = {};

const sum = defineStage<SumParams>({
  kind: 'test/sum',
  version: '1',
  description: 'Sums numbers in text files; records one metric per eval set.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['eval_sets', 'extra'],
    properties: {
      eval_sets: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          properties: { manifest: { type: 'string', format: 'path' }, name: { type: 'string' } },
        },
      },
      extra: { type: 'object', properties: { file: { type: 'string', format: 'path' } } },
      factor: { type: 'number', default: 2 },
    },
  },
  outputs: { summary: { path: 'summary.json', description: 'totals per eval set' } },
  async run(ctx) {
    seen.params = ctx.params;
    seen.resume = ctx.resumeDir;
    seen.kindCache = ctx.kindCacheDir;
    seen.run = ctx.run;
    writeFileSync(join(ctx.resumeDir, 'checkpoint'), 'x');
    const totals: Record<string, number> = {};
    ctx.params.eval_sets.forEach((s, i) => {
      totals[s.name] = Number(readFileSync(s.manifest, 'utf8')) * ctx.params.factor;
      ctx.progress({ done: i + 1, total: ctx.params.eval_sets.length, unit: 'sets' });
      ctx.metric({ name: 'accuracy', value: totals[s.name], tags: { set: s.name } });
    });
    seen.hashes = await ctx.hashFiles(ctx.params.eval_sets.map((s) => s.manifest));
    ctx.log(`totals ${JSON.stringify(totals)}`);
    writeFileSync(ctx.output('summary'), JSON.stringify(totals));
  },
});

const double = defineStage<{ input: string }>({
  kind: 'test/double',
  version: '1',
  description: 'Doubles a summary.',
  params: { type: 'object', additionalProperties: false, required: ['input'], properties: { input: { type: 'string', format: 'path' } } },
  outputs: { out: { path: 'out/double.json', description: 'doubled totals' } },
  async run(ctx) {
    const t = JSON.parse(readFileSync(ctx.params.input, 'utf8')) as Record<string, number>;
    mkdirSync(join(ctx.output('out'), '..'), { recursive: true });
    writeFileSync(ctx.output('out'), JSON.stringify(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v * 2]))));
  },
});

const kinds = { 'test/sum': sum, 'test/double': double } as Record<string, StageKind<unknown>>;

const PIPELINE = `
params: { root: data }
stages:
  sum:
    uses: test/sum
    with:
      eval_sets:
        - { manifest: "\${params.root}/a.txt", name: a }
        - { manifest: "\${params.root}/b.txt", name: b }
      extra: { file: "\${params.root}/dir" }
  double:
    uses: test/double
    with: { input: "\${stages.sum.outputs.summary}" }
`;

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

describe('built-in stage kinds', () => {
  it('gets absolute paths, buffers metrics, hashes path params at any depth into the key', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    ws.write('data/a.txt', '1');
    ws.write('data/b.txt', '5');
    ws.write('data/dir/x.txt', 'x');
    const opts = { file: 'p.yaml', workspace: ws.dir, kinds };
    const r1 = await runPipeline(opts);
    expect(r1.status).toBe('succeeded');
    expect(r1.instances.map((i) => i.status)).toEqual(['ran', 'ran']);
    expect(seen.params!.eval_sets[0].manifest).toBe(ws.path('data/a.txt'));
    expect(seen.params!.extra.file).toBe(ws.path('data/dir'));
    expect(seen.params!.factor).toBe(2); // schema default applied
    expect(seen.hashes).toHaveLength(2);
    expect(existsSync(seen.resume!)).toBe(false); // resumeDir removed after success
    expect(seen.kindCache).toBe(ws.path('runs/kind-cache/test/sum'));
    const sumOut = r1.instances[0].outputs!;
    expect(JSON.parse(readFileSync(sumOut.summary, 'utf8'))).toEqual({ a: 2, b: 10 });
    expect(readFileSync(sumOut.metrics, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(JSON.parse(readFileSync(r1.instances[1].outputs!.out, 'utf8'))).toEqual({ a: 4, b: 20 });
    expect(seen.run).toEqual({
      id: r1.run,
      pipelineFile: 'p.yaml',
      pipelineHash: createHash('sha256').update(PIPELINE).digest('hex'),
      codeVersion: expect.stringMatching(/^pipe \d+\.\d+\.\d+/),
    });

    // A change inside a directory param (nested object) changes the key.
    ws.write('data/dir/x.txt', 'y');
    const r2 = await runPipeline(opts);
    expect(r2.instances.map((i) => i.status)).toEqual(['ran', 'cached']); // same summary bytes: downstream hit

    // A change in a file listed inside an array of objects changes the key; reverting is a hit.
    ws.write('data/b.txt', '6');
    const r3 = await runPipeline(opts);
    expect(r3.instances.map((i) => i.status)).toEqual(['ran', 'ran']);
    ws.write('data/b.txt', '5');
    const r4 = await runPipeline(opts);
    expect(r4.instances.map((i) => i.status)).toEqual(['cached', 'cached']);

    // The run's provenance is not in the key: a new run id and an edited pipeline file are still hits.
    expect(seen.run!.id).toBe(r3.run);
    ws.write('p.yaml', `${PIPELINE}# a comment\n`);
    const r5 = await runPipeline(opts);
    expect(r5.instances.map((i) => i.status)).toEqual(['cached', 'cached']);

    const store = openStore(ws.path('runs/pipe.db'));
    try {
      const m = store.metricsForRun(r5.run!);
      expect(m.map((x) => [x.tags.set, x.value])).toEqual([['a', 2], ['b', 10]]);
      expect(m[0].stageKey).toBe(r5.instances[0].key);
    } finally {
      store.close();
    }
  });

  it('refuses to start when a path input is missing, naming it', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    ws.write('data/a.txt', '1');
    await expect(runPipeline({ file: 'p.yaml', workspace: ws.dir, kinds })).rejects.toThrow(/input data\/b\.txt does not exist \(read by sum\)/);
  });

  it("puts the kind's fingerprint into the key, and status names the env change", async () => {
    ws = tempWorkspace();
    let runtime = '1.0';
    const fp = defineStage<{ n: number }>({
      kind: 'test/fp',
      version: '1',
      description: 'fingerprinted',
      params: { type: 'object', properties: { n: { type: 'number' } } },
      outputs: { o: { path: 'o.txt', description: 'o' } },
      fingerprint: async () => ({ runtime }),
      async run(ctx) {
        writeFileSync(ctx.output('o'), String(ctx.params.n));
      },
    });
    ws.write('p.yaml', 'stages:\n  f:\n    uses: test/fp\n    with: { n: 1 }\n');
    const opts = { file: 'p.yaml', workspace: ws.dir, kinds: { 'test/fp': fp as StageKind<unknown> } };
    expect((await runPipeline(opts)).instances[0].status).toBe('ran');
    expect((await runPipeline(opts)).instances[0].status).toBe('cached');
    runtime = '2.0';
    const states = await pipelineStatus(await openPipeline(opts));
    expect(states[0]).toMatchObject({ state: 'stale', changes: [{ what: 'env', field: 'runtime', old: '"1.0"', new: '"2.0"' }] });
    expect((await runPipeline(opts)).instances[0].status).toBe('ran');
  });
});
