// The key recipe itself (`prepare` in src/engine/keys.ts), in the test process, one instance at a time:
// what each component holds, the key as the documented hash of them (upstream outputs by content), and
// the errors of an input that cannot be read. keys.test.ts shows the same through whole runs (what
// re-runs); these take milliseconds, so mutation testing can afford them on every mutant of keys.ts.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/engine/canonical.js';
import { GROUP_MARK, KEY_SCHEME, prepare, type Artifact, type Prepared } from '../../src/engine/keys.js';
import { HashCache, noHashRows } from '../../src/hash/cache.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import type { Pipeline } from '../../src/pipeline/types.js';
import { defineStage, type Json, type StageKind } from '../../src/stage-api.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const KIND = defineStage<{ file: string; n: number; from: string; nested: Json; mode: string }>({
  kind: 't/k',
  version: '7',
  description: 'test',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['file', 'n'],
    properties: {
      file: { type: 'string', format: 'path' },
      n: { type: 'integer' },
      from: { type: 'string', format: 'path' },
      nested: { type: 'object' },
      mode: { type: 'string', default: 'a' },
    },
  },
  outputs: { out: { path: 'out.txt', description: 'out' } },
  fingerprint: (p) => Promise.resolve({ runtime: `r-${p.mode}` }),
  secrets: () => ['KIND_SECRET'],
  run: () => Promise.resolve(),
}) as unknown as StageKind<unknown>;

const PLAIN = defineStage<{ file: string }>({
  kind: 't/plain',
  version: '1',
  description: 'no fingerprint, no secrets',
  params: { type: 'object', additionalProperties: false, required: ['file'], properties: { file: { type: 'string', format: 'path' } } },
  outputs: {},
  run: () => Promise.resolve(),
}) as unknown as StageKind<unknown>;
const KINDS = { 't/k': KIND, 't/plain': PLAIN };

const PIPELINE = `
params: { n: 3, m: { k: v, other: o }, tag: t, seeds: [1, 2], dfile: x.txt }
stages:
  up:
    run: [sh, -c, 'echo a > "$1"; echo b > "$2"', sh, "\${outs.out}", "\${outs.out2}"]
    outs: { out: a.txt, out2: b.txt }
  k:
    uses: t/k
    with: { file: data.txt, n: "\${params.n}", from: "\${stages.up.outputs.out}", nested: { list: ["\${stages.up.outputs.out2}", x] } }
    secrets: [STAGE_SECRET]
  here:
    uses: t/k
    with: { file: ., n: 1 }
  cmd:
    run: [cat, "\${stages.up.outputs.out2}", "\${stages.up.outputs.out}", "\${params.m.k}", "\${deps.data}"]
    deps: { data: data.txt, dir: dir, up: "\${stages.up.outputs.out}", px: "dir/\${params.dfile}" }
    env: { MODE: "\${params.tag}", PLAIN: fixed }
    params: [m.other]
    outs: { o: o.txt, scores: s.json, hist: h.csv }
    metrics: [scores]
    plots: [{ out: hist, x: step, y: loss }]
  sh:
    shell: true
    run: 'cat \${stages.up.outputs.out} > \${outs.o}'
    outs: { o: o.txt }
  fan:
    matrix: { seed: "\${params.seeds}" }
    run: [cat, "\${group.members}", "\${params.tag}"]
    group_by: [seed]
  parts:
    matrix: { seed: "\${params.seeds}" }
    run: [touch, "\${outs.o}"]
    outs: { o: o.txt }
  gather:
    run: [cat, "\${stages.parts.outputs.o}", "\${params.n}"]
    deps: ["\${stages.parts.outputs.o}"]
  plain:
    uses: t/plain
    with: { file: data.txt }
  absolute:
    uses: t/plain
    with: { file: ABS/data.txt }
  same:
    matrix: { seed: "\${params.seeds}" }
    run: [echo, hi]
  missing:
    run: [cat, "\${deps.x}"]
    deps: { x: gone.txt }
  notdir:
    run: [cat, "\${deps.x}"]
    deps: { x: data.txt/inside }
  envref:
    run: [echo, "\${env.FROM_ENV}"]
`;

let ws: TempWorkspace;
let p: Pipeline;
let upstream: Map<string, Map<string, Artifact>>;
beforeAll(async () => {
  ws = tempWorkspace('pipe-recipe-');
  ws.write('data.txt', 'DATA');
  ws.write('dir/x.txt', 'X');
  ws.write('p.yaml', PIPELINE.replace('ABS/', `${ws.dir}/`));
  const loaded = await loadPipeline('p.yaml', { workspace: ws.dir, kinds: KINDS, env: { FROM_ENV: 'e1' } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  p = loaded.pipeline;
  mkdirSync(ws.path('store'));
  upstream = new Map([
    ['up', new Map([['out', { path: ws.write('store/a.txt', 'A'), hash: sha('A') }], ['out2', { path: ws.write('store/b.txt', 'B'), hash: sha('B') }]])],
    ['parts@seed=1', new Map([['o', { path: ws.write('store/p1.txt', 'P1'), hash: sha('P1') }]])],
    ['parts@seed=2', new Map([['o', { path: ws.write('store/p2.txt', 'P2'), hash: sha('P2') }]])],
  ]);
});
afterAll(() => ws.cleanup());

function prep(id: string, o: { env?: NodeJS.ProcessEnv; upstream?: typeof upstream } = {}): Promise<Prepared> {
  const inst = p.byId.get(id)!;
  const scope = { params: p.params, byStage: p.byStage, env: o.env ?? { FROM_ENV: 'e1' } };
  return prepare(inst, scope, o.upstream ?? upstream, new HashCache(noHashRows), ws.dir);
}

/** The key as documented (docs/engine.md): canonical JSON of the components, upstream labels by content. */
function documentedKey(c: { code: Json; params: Json; inputs: Record<string, string>; env: Json }, byContent: Record<string, string>): string {
  const swap = (v: Json): Json => {
    if (typeof v === 'string') return Object.entries(byContent).reduce((s, [from, to]) => s.split(from).join(to), v);
    if (Array.isArray(v)) return v.map(swap);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
    return v;
  };
  const inputs = Object.fromEntries(Object.entries(c.inputs).map(([l, h]) => [/^(up|parts@seed=\d):/.test(l) ? `artifact:${h}` : l, h]));
  return sha(canonicalJson({ scheme: KEY_SCHEME, code: swap(c.code), params: swap(c.params), inputs, env: c.env }));
}
// Longer label first: `artifact:up:out2` must not become the hash of `out` followed by "2".
const BY_CONTENT = { 'artifact:up:out2': `artifact:${sha('B')}`, 'artifact:up:out': `artifact:${sha('A')}` };

describe('the key recipe', () => {
  it('a built-in kind: kind and version, params with defaults and relative paths, inputs by content, fingerprint', async () => {
    const r = await prep('k');
    expect(r.components).toEqual({
      code: { kind: 't/k', version: '7' },
      params: { file: 'data.txt', n: 3, from: 'artifact:up:out', nested: { list: ['artifact:up:out2', 'x'] }, mode: 'a' },
      inputs: { 'path:data.txt': sha('DATA'), 'up:out': sha('A'), 'up:out2': sha('B') },
      env: { runtime: 'r-a' },
    });
    expect(r.key).toBe(documentedKey(r.components, BY_CONTENT));
    // The stage runs with absolute paths; secrets of the stage and of its kind, never in the key.
    expect(r.params).toEqual({ file: ws.path('data.txt'), n: 3, from: ws.path('store/a.txt'), nested: { list: [ws.path('store/b.txt'), 'x'] }, mode: 'a' });
    expect([...r.secrets].sort()).toEqual(['KIND_SECRET', 'STAGE_SECRET']);
    expect(r.argv).toBeUndefined();
  });

  it('upstream outputs enter by content: other producers of the same bytes give the same key, other bytes another', async () => {
    const k = await prep('k');
    const moved = new Map([['up', new Map([['out', { path: ws.path('store/b.txt'), hash: sha('A') }], ['out2', { path: ws.path('store/a.txt'), hash: sha('B') }]])]]);
    expect((await prep('k', { upstream: moved })).key).toBe(k.key);
    const swapped = new Map([['up', new Map([['out', { path: ws.path('store/a.txt'), hash: sha('B') }], ['out2', { path: ws.path('store/b.txt'), hash: sha('A') }]])]]);
    const other = await prep('k', { upstream: swapped });
    expect(other.key).not.toBe(k.key);
    expect(other.key).toBe(documentedKey(other.components, { 'artifact:up:out2': `artifact:${sha('A')}`, 'artifact:up:out': `artifact:${sha('B')}` }));
  });

  it('the workspace itself as a path is keyed as "."', async () => {
    const r = await prep('here');
    expect(r.components.params).toEqual({ file: '.', n: 1, mode: 'a' });
    expect(Object.keys(r.components.inputs)).toEqual(['path:.']);
  });

  it('a command: argv, outs, metrics, the params it reads, deps by content, env hashed; it runs with real paths and values', async () => {
    const r = await prep('cmd');
    const dirHash = new HashCache(noHashRows).hashPath(ws.path('dir'));
    expect(r.components).toEqual({
      code: { argv: ['cat', 'artifact:up:out2', 'artifact:up:out', 'v', 'data.txt'], outs: { o: 'o.txt', scores: 's.json', hist: 'h.csv' }, metrics: ['scores'], plots: [{ out: 'hist', x: 'step', y: 'loss' }] },
      params: { 'm.k': 'v', tag: 't', dfile: 'x.txt', 'm.other': 'o' },
      inputs: { 'up:out2': sha('B'), 'up:out': sha('A'), 'dep:data.txt': sha('DATA'), 'dep:dir': dirHash, 'dep:dir/x.txt': sha('X') },
      env: { MODE: `sha256:${sha('t')}`, PLAIN: `sha256:${sha('fixed')}` },
    });
    expect(r.key).toBe(documentedKey(r.components, BY_CONTENT));
    expect(r.argv).toEqual(['cat', ws.path('store/b.txt'), ws.path('store/a.txt'), 'v', 'data.txt']);
    expect(r.env).toEqual({ MODE: 't', PLAIN: 'fixed' });
    expect(r.shellCommand).toBeUndefined();
    expect(r.secrets).toEqual([]);
  });

  it('a shell command: its text is the code, references shell-quoted; it runs with the paths filled in', async () => {
    const r = await prep('sh');
    expect(r.components.code).toEqual({ shell: 'cat artifact\\:up\\:out > outs:o', outs: { o: 'o.txt' } });
    expect(r.shellCommand).toBe(`cat ${ws.path('store/a.txt')} > \u0000outs:o\u0000`);
    expect(r.argv).toBeUndefined();
    expect(r.key).toBe(documentedKey(r.components, { 'artifact\\:up\\:out': `artifact\\:${sha('A')}` }));
  });

  it('renaming the upstream stage changes no key: argv, shell line, params and inputs hold its outputs by content', async () => {
    ws.write('renamed.yaml', PIPELINE.replace('ABS/', `${ws.dir}/`).replaceAll('up:', 'source:').replaceAll('stages.up.', 'stages.source.'));
    const loaded = await loadPipeline('renamed.yaml', { workspace: ws.dir, kinds: KINDS, env: { FROM_ENV: 'e1' } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    const renamed = new Map([['source', upstream.get('up')!]]);
    for (const id of ['k', 'cmd', 'sh']) {
      const inst = loaded.pipeline.byId.get(id)!;
      const scope = { params: loaded.pipeline.params, byStage: loaded.pipeline.byStage, env: { FROM_ENV: 'e1' } };
      const r = await prepare(inst, scope, renamed, new HashCache(noHashRows), ws.dir);
      expect(JSON.stringify(r.components)).toContain('source');
      expect(r.key, id).toBe((await prep(id)).key);
    }
  });

  it('a grouped command: its matrix values are params (the line is the same for every member)', async () => {
    const one = await prep('fan@seed=1');
    const two = await prep('fan@seed=2');
    expect(one.components.params).toEqual({ tag: 't', 'matrix.seed': 1 });
    expect(two.components.params).toEqual({ tag: 't', 'matrix.seed': 2 });
    expect(one.key).not.toBe(two.key);
    expect(one.components.code).toEqual({ argv: ['cat', 'group:members', 't'], outs: {} });
    expect(one.argv).toEqual(['cat', GROUP_MARK, 't']);
  });

  it('an ungrouped matrix command that does not read its axis: one key for every instance (built once)', async () => {
    const [one, two] = [await prep('same@seed=1'), await prep('same@seed=2')];
    expect(one.components.params).toEqual({});
    expect(two.key).toBe(one.key);
  });

  it("a matrix stage's outputs splice into argv, each by content; a list in deps is one input each", async () => {
    const r = await prep('gather');
    expect(r.components.code).toEqual({ argv: ['cat', 'artifact:parts@seed=1:o', 'artifact:parts@seed=2:o', '3'], outs: {} });
    expect(r.components.inputs).toEqual({ 'parts@seed=1:o': sha('P1'), 'parts@seed=2:o': sha('P2') });
    expect(r.argv).toEqual(['cat', ws.path('store/p1.txt'), ws.path('store/p2.txt'), '3']);
    expect(r.key).toBe(documentedKey(r.components, { 'artifact:parts@seed=1:o': `artifact:${sha('P1')}`, 'artifact:parts@seed=2:o': `artifact:${sha('P2')}` }));
  });

  it('a kind without fingerprint or secrets; an absolute path inside the workspace is keyed as the relative one', async () => {
    const plain = await prep('plain');
    expect(plain.components).toEqual({ code: { kind: 't/plain', version: '1' }, params: { file: 'data.txt' }, inputs: { 'path:data.txt': sha('DATA') }, env: {} });
    expect(plain.secrets).toEqual([]);
    expect(plain.key).toBe(documentedKey(plain.components, {}));
    const absolute = await prep('absolute');
    expect(absolute.components).toEqual(plain.components);
    expect(absolute.key).toBe(plain.key);
  });

  it('an input that cannot be read, an upstream output never recorded, an unset variable: errors naming them', async () => {
    await expect(prep('missing')).rejects.toMatchObject({ name: 'PrepareError', message: `input dep:gone.txt cannot be read (ENOENT): ${ws.path('gone.txt')}`, hint: 'create it, or fix the path in the pipeline' });
    const notDir = await prep('notdir').catch((e: unknown) => e);
    expect(notDir).toMatchObject({ name: 'PrepareError', message: `input dep:data.txt/inside cannot be read (ENOTDIR): ${ws.path('data.txt/inside')}`, hint: undefined });
    await expect(prep('k', { upstream: new Map() })).rejects.toMatchObject({ name: 'PrepareError', message: 'up has no recorded output "out"', hint: 're-run up' });
    expect((await prep('envref')).components.code).toEqual({ argv: ['echo', 'e1'], outs: {} });
    await expect(prep('envref', { env: {} })).rejects.toMatchObject({ name: 'PrepareError', message: expect.stringMatching(/^envref: .*FROM_ENV/) });
  });
});
