// Every component of a stage key, changed alone, re-runs exactly the instances that depend on it: the
// stage itself, and downstream only where its output bytes changed (outputs enter keys by content).
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { defineStage, type StageKind } from '../../src/stage-api.js';
import { runEngine, statuses, tempWorkspace, type TempWorkspace } from '../support/index.js';

interface KindSettings {
  /** `t/source`'s version (it writes the version into its output). */
  sourceVersion: string;
  /** `t/consume`'s version (it does not write it). */
  consumeVersion: string;
  /** Default of `t/source`'s `mode` param (written into the output). */
  modeDefault: string;
  /** What `t/source`'s fingerprint reports (not written into the output). */
  runtime: string;
}

const DEFAULTS: KindSettings = { sourceVersion: '1', consumeVersion: '1', modeDefault: 'a', runtime: 'r1' };

function makeKinds(s: KindSettings): StageKind<never>[] {
  const source = defineStage<{ n: number; data: string; mode: string }>({
    kind: 't/source',
    version: s.sourceVersion,
    description: 'writes its version, params and the content of a data file',
    params: {
      type: 'object',
      additionalProperties: false,
      required: ['n', 'data'],
      properties: { n: { type: 'integer' }, data: { type: 'string', format: 'path' }, mode: { type: 'string', default: s.modeDefault } },
    },
    outputs: { out: { path: 'out.txt', description: 'the text' } },
    fingerprint: () => Promise.resolve({ runtime: s.runtime }),
    run(ctx) {
      const p = ctx.params;
      writeFileSync(ctx.output('out'), `v${s.sourceVersion} n=${p.n} mode=${p.mode} data=${readFileSync(p.data, 'utf8')}`);
      return Promise.resolve();
    },
  });
  const consume = (kind: string) =>
    defineStage<{ input: string; seed: number }>({
      kind,
      version: s.consumeVersion,
      description: 'copies its input and appends the seed',
      params: {
        type: 'object',
        additionalProperties: false,
        required: ['input', 'seed'],
        properties: { input: { type: 'string', format: 'path' }, seed: { type: 'integer' } },
      },
      outputs: { out: { path: 'out.txt', description: 'the text' } },
      run(ctx) {
        writeFileSync(ctx.output('out'), `${readFileSync(ctx.params.input, 'utf8')} seed=${ctx.params.seed}`);
        return Promise.resolve();
      },
    });
  return [source, consume('t/consume'), consume('t/consume-too')] as unknown as StageKind<never>[];
}

// src -> fan@seed=* (built-in kinds); src -> cmd -> last (commands); solo stands alone.
const PIPELINE = `
params: { n: 1, seeds: [1, 2], tag: t1, mode: m1 }
stages:
  src:
    uses: t/source
    with: { n: "\${params.n}", data: input.txt }
  fan:
    matrix: { seed: "\${params.seeds}" }
    uses: t/consume
    with: { input: "\${stages.src.outputs.out}", seed: "\${matrix.seed}" }
  cmd:
    run: [sh, -c, 'cat "$1" dep.txt > "$2"; echo "$3" >> "$2"', sh, "\${stages.src.outputs.out}", "\${outs.o}", "\${params.tag}"]
    deps: [dep.txt]
    env: { MODE: "\${params.mode}" }
    outs: { o: o.txt }
  last:
    run: [sh, -c, 'cat "$1" > "$2"', sh, "\${stages.cmd.outputs.o}", "\${outs.o}"]
    outs: { o: o.txt }
  solo:
    run: [sh, -c, 'echo solo > "$1"', sh, "\${outs.o}"]
    outs: { o: o.txt }
`;

const ALL = ['cmd', 'fan@seed=1', 'fan@seed=2', 'last', 'solo', 'src'];
/** Everything except `ran`, which is expected to be cached. */
const rest = (ran: string[]) => ALL.filter((id) => !ran.includes(id));

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

/** A workspace where the pipeline ran once with `DEFAULTS`; returns a runner for the second run. */
async function ranOnce(pipeline = PIPELINE) {
  ws = tempWorkspace('pipe-keys-');
  ws.write('p.yaml', pipeline);
  ws.write('input.txt', 'in1');
  ws.write('dep.txt', 'dep1');
  const first = await runEngine(ws.dir, 'p.yaml', { kinds: makeKinds(DEFAULTS) });
  expect(statuses(first)).toEqual({ ran: ALL });
  return (change: Partial<KindSettings> = {}, opts: { sets?: string[]; force?: string[] } = {}) =>
    runEngine(ws.dir, 'p.yaml', { kinds: makeKinds({ ...DEFAULTS, ...change }), ...opts }).then(statuses);
}

/** The second run's statuses when exactly `ran` re-ran. */
const only = (ran: string[]) => (rest(ran).length ? { ran: [...ran].sort(), cached: rest(ran) } : { ran: [...ran].sort() });

describe('stage keys: each component alone re-runs exactly its dependents', () => {
  it('nothing changed: everything is restored', async () => {
    const again = await ranOnce();
    expect(await again()).toEqual({ cached: ALL });
  });

  it('kind version: the stage re-runs; dependents follow only where its bytes changed', async () => {
    const again = await ranOnce();
    // t/source writes its version: its consumers see new bytes.
    expect(await again({ sourceVersion: '2' })).toEqual(only(['src', 'fan@seed=1', 'fan@seed=2', 'cmd', 'last']));
    // t/consume does not: nothing downstream of it, and nothing else, re-runs.
    expect(await again({ sourceVersion: '2', consumeVersion: '2' })).toEqual(only(['fan@seed=1', 'fan@seed=2']));
  });

  it('kind name: the same code under another kind is another key', async () => {
    const again = await ranOnce();
    ws.write('p.yaml', PIPELINE.replace('uses: t/consume', 'uses: t/consume-too'));
    expect(await again()).toEqual(only(['fan@seed=1', 'fan@seed=2']));
  });

  it('params: a changed value, a new matrix value, a changed default', async () => {
    const again = await ranOnce();
    expect(await again({}, { sets: ['n=2'] })).toEqual(only(['src', 'fan@seed=1', 'fan@seed=2', 'cmd', 'last']));
    expect(await again({}, { sets: ['seeds=[1,3]'] })).toEqual({ ran: ['fan@seed=3'], cached: ['cmd', 'fan@seed=1', 'last', 'solo', 'src'] });
    // The default is applied before hashing: changing it changes the key of every stage that relies on it.
    expect(await again({ modeDefault: 'b' })).toEqual(only(['src', 'fan@seed=1', 'fan@seed=2', 'cmd', 'last']));
  });

  it('input content: edited bytes re-run, identical bytes rewritten do not', async () => {
    const again = await ranOnce();
    ws.write('input.txt', 'in1');
    expect(await again()).toEqual({ cached: ALL });
    ws.write('input.txt', 'in2');
    expect(await again()).toEqual(only(['src', 'fan@seed=1', 'fan@seed=2', 'cmd', 'last']));
  });

  it('upstream outputs: a re-run producing identical bytes leaves downstream cached', async () => {
    const again = await ranOnce();
    expect(await again({}, { force: ['src'] })).toEqual(only(['src']));
    expect(await again({}, { force: ['cmd'] })).toEqual(only(['cmd']));
  });

  it('upstream id: a renamed upstream stage re-runs nothing (outputs enter keys by content)', async () => {
    const again = await ranOnce();
    ws.write('p.yaml', PIPELINE.replace('  src:', '  source:').replaceAll('stages.src.', 'stages.source.'));
    expect(await again()).toEqual({ cached: [...rest(['src']), 'source'].sort() });
  });

  it('fingerprint: a changed runtime re-runs the stage alone when its bytes do not change', async () => {
    const again = await ranOnce();
    expect(await again({ runtime: 'r2' })).toEqual(only(['src']));
  });

  it('command argv: a param it reads and a literal argument', async () => {
    const again = await ranOnce();
    expect(await again({}, { sets: ['tag=t2'] })).toEqual(only(['cmd', 'last']));
    ws.write('p.yaml', PIPELINE.replace(`'echo solo > "$1"'`, `'echo solo2 > "$1"'`));
    expect(await again({}, { sets: ['tag=t2'] })).toEqual(only(['solo']));
  });

  it('command deps: edited content re-runs the command and what reads its new output', async () => {
    const again = await ranOnce();
    ws.write('dep.txt', 'dep2');
    expect(await again()).toEqual(only(['cmd', 'last']));
  });

  it('command env: a declared variable re-runs the command; identical output keeps downstream', async () => {
    const again = await ranOnce();
    expect(await again({}, { sets: ['mode=m2'] })).toEqual(only(['cmd']));
  });

  it('command outs: a renamed output file is another key', async () => {
    const again = await ranOnce();
    ws.write('p.yaml', PIPELINE.replace("outs: { o: o.txt }\n  last:", "outs: { o: o2.txt }\n  last:"));
    expect(await again()).toEqual(only(['cmd']));
  });
});
