// The pipeline loader in the test process (`loadPipeline`, what `pipe validate` and `pipe run` call): the
// instances and upstream links a valid file expands to, and every located error of an invalid one. The
// CLI's own tests (validate.test.ts, matrix-templates.test.ts) show the same through `pipe`; these reach
// the loader where mutation testing can see it (docs/testing.md), at a few milliseconds a case.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, loadPipeline, MAX_ALIAS_COUNT, MAX_PIPELINE_BYTES } from '../../src/pipeline/load.js';
import type { Pipeline } from '../../src/pipeline/types.js';
import { defineStage, type StageKind } from '../../src/stage-api.js';
import { openFilesUnder, tempWorkspace, type TempWorkspace } from '../support/index.js';
import { loader } from '../support/load.js';

// One workspace for the file: every case writes its own pipeline file name.
let ws: TempWorkspace;
beforeAll(() => {
  ws = tempWorkspace();
});
afterAll(() => ws.cleanup());

const KIND = defineStage<{ lr: number; data?: string }>({
  kind: 'test/train',
  version: '1',
  description: 'test',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['lr'],
    properties: { lr: { type: 'number' }, data: { type: 'string', format: 'path' } },
  },
  outputs: { model: { path: 'model.onnx', description: 'the model' } },
  async run() {},
}) as unknown as StageKind<unknown>;
const KINDS = { 'test/train': KIND };

const { ok, errors } = loader(() => ws, KINDS);

const ids = (p: Pipeline) => p.instances.map((i) => i.id);
const ups = (p: Pipeline) => Object.fromEntries(p.instances.map((i) => [i.id, i.upstream]));

describe('a valid pipeline', () => {
  it('expands matrices in stage order and links each instance to the upstream its matrix point matches', async () => {
    const p = await ok(`
description: demo
params: { seeds: [0, 1], lr: 0.1 }
stages:
  train:
    uses: test/train
    matrix: { seed: "\${params.seeds}", ds: [a, b] }
    with: { lr: "\${params.lr}", data: "\${stages.prep.outputs.o}" }
  prep:
    matrix: { ds: [a, b] }
    run: [touch, "\${outs.o}"]
    outs: { o: o.txt }
  report:
    run: [cat, "\${stages.train.outputs.model}"]
    needs: [prep]
`);
    expect(p.description).toBe('demo');
    expect(p.relFile).toMatch(/^p\d+\.yaml$/);
    expect(p.params).toEqual({ seeds: [0, 1], lr: 0.1 });
    expect(ids(p)).toEqual(['prep@ds=a', 'prep@ds=b', 'train@seed=0,ds=a', 'train@seed=0,ds=b', 'train@seed=1,ds=a', 'train@seed=1,ds=b', 'report']);
    expect(ups(p)).toEqual({
      'prep@ds=a': [],
      'prep@ds=b': [],
      'train@seed=0,ds=a': ['prep@ds=a'],
      'train@seed=0,ds=b': ['prep@ds=b'],
      'train@seed=1,ds=a': ['prep@ds=a'],
      'train@seed=1,ds=b': ['prep@ds=b'],
      report: ['prep@ds=a', 'prep@ds=b', 'train@seed=0,ds=a', 'train@seed=0,ds=b', 'train@seed=1,ds=a', 'train@seed=1,ds=b'],
    });
    expect(p.byStage.get('train')).toHaveLength(4);
    expect(p.byId.get('report')?.stage.name).toBe('report');
    expect(p.byId.get('train@seed=1,ds=b')?.matrix).toEqual({ seed: 1, ds: 'b' });
    expect(p.byId.get('train@seed=1,ds=b')?.kind).toBe(KIND);
    expect(p.byId.get('prep@ds=a')?.kind).toBeUndefined();
    expect(p.executor).toBeUndefined();
    expect(p.sets).toEqual([]);
  });

  it('params: environment references, params files, then --set, maps merged key by key', async () => {
    ws.write('params-a.yaml', 'train: { lr: 0.5, epochs: 3 }\nextra: 1\n');
    ws.write('params-b.yaml', 'train: { epochs: 4 }\n');
    ws.write('params-empty.yaml', '');
    const p = await ok(
      `
params:
  root: "\${env.DATA:-/data}"
  home: "\${env.HOME}"
  train: { lr: 0.1, epochs: 1, batch: 8 }
  seeds: [0]
params_files: [params-a.yaml, params-b.yaml, params-empty.yaml]
executor: slurm
slurm: { partition: debug }
stages:
  a: { run: [echo, "\${params.train.lr}"] }
`,
      { sets: ['seeds=[1, 2]', 'train.batch=16'] },
    );
    expect(p.params).toEqual({ root: '/data', home: '/home/x', train: { lr: 0.5, epochs: 4, batch: 16 }, seeds: [1, 2], extra: 1 });
    expect(p.paramsFiles).toEqual(['params-a.yaml', 'params-b.yaml', 'params-empty.yaml']);
    expect(p.sets).toEqual(['seeds=[1, 2]', 'train.batch=16']);
    expect(p.executor).toBe('slurm');
    expect(p.slurm).toEqual({ partition: 'debug' });
    // A --set of a param skips its environment reference: an unset variable does not fail it.
    const q = await ok('params: { root: "${env.NOPE}" }\nstages:\n  a: { run: [echo, "${params.root}"] }\n', { sets: ['root=/x'] });
    expect(q.params.root).toBe('/x');
    expect((await ok('params: { r: "${env.DATA}" }\nstages:\n  a: { run: [echo] }\n', { env: { DATA: '/d' } })).params.r).toBe('/d');
  });

  it('templates merge deeply along their chain, the stage winning; lists replace', async () => {
    const p = await ok(`
templates:
  base: { run: [echo, base], env: { A: "1", B: "1" }, outs: { o: o.txt } }
  mid: { extends: base, env: { B: "2" } }
stages:
  s: { extends: mid, env: { C: "3" }, run: [echo, s] }
  t: { extends: base }
  u: { run: [echo, u] }
`);
    const decl = (id: string) => p.byId.get(id)!.stage;
    expect(decl('s').env).toEqual({ A: '1', B: '2', C: '3' });
    expect(decl('s').run).toEqual(['echo', 's']);
    expect(decl('s').outs).toEqual({ o: 'o.txt' });
    expect(decl('t').env).toEqual({ A: '1', B: '1' });
    expect(decl('u').env).toBeUndefined();
  });

  it('matrix values that are lists, maps with a name and globbed file names', async () => {
    ws.write('g/x.fq', '');
    ws.write('g/y.fq', '');
    ws.write('g/y.txt', '');
    const p = await ok(`
params: { abl: [[sc, ic], [sc]] }
stages:
  a:
    matrix: { c: "\${params.abl}", d: [{ name: fi, k: 8 }], s: { glob: "g/{s}.fq" } }
    run: [echo, "\${matrix.c}", "\${matrix.d.k}", "\${matrix.s}"]
`);
    expect(ids(p)).toEqual(['a@c=sc+ic,d=fi,s=x', 'a@c=sc+ic,d=fi,s=y', 'a@c=sc,d=fi,s=x', 'a@c=sc,d=fi,s=y']);
  });

  it('a published output is recorded by its workspace path', async () => {
    const p = await ok(`
stages:
  a:
    run: [touch, "\${outs.o}"]
    outs: { o: { path: o.txt, publish: "results/a.txt" } }
`);
    expect(p.byId.get('a')!.stage.outs).toEqual({ o: 'o.txt' });
    expect([...p.publishes]).toEqual([['results/a.txt', { id: 'a', output: 'o' }]]);
  });
});

describe('reading the file', () => {
  it('a missing file, a directory, a FIFO, invalid UTF-8, a non-map', async () => {
    expect((await loadPipeline('nope.yaml', { workspace: ws.dir })) as unknown).toMatchObject({ ok: false, diagnostics: [{ file: 'nope.yaml', line: 0, message: 'cannot read nope.yaml: ENOENT' }] });
    ws.write('dir/x', '');
    const dir = await loadPipeline('dir', { workspace: ws.dir });
    expect(!dir.ok && dir.diagnostics[0].message).toBe('dir is not a regular file');
    execFileSync('mkfifo', [ws.path('fifo.yaml')]);
    const fifo = await loadPipeline('fifo.yaml', { workspace: ws.dir });
    expect(!fifo.ok && fifo.diagnostics[0].message).toBe('fifo.yaml is not a regular file');
    ws.write('bad.yaml', Buffer.concat([Buffer.from('stages:\n  a: { run: [echo, "\uFFFD'), Buffer.from([0xc3, 0x28]), Buffer.from('"] }\n')]));
    const utf = await loadPipeline('bad.yaml', { workspace: ws.dir });
    expect(!utf.ok && formatDiagnostic(utf.diagnostics[0])).toBe('bad.yaml:2:22: error: invalid UTF-8 (byte 0xc3)\n  hint: re-save the file as UTF-8');
    expect(await errors('- a\n- b\n')).toEqual(['1:1: error: a pipeline file must be a map with a "stages:" key\n  hint: see docs/pipeline-format.md']);
  });

  it('YAML syntax errors and duplicate keys, in file order; an alias bomb at its first alias', async () => {
    const e = await errors('stages:\n  a: { run: [echo] }\n  a: { run: [echo] }\n  b: { run: [echo, x }\n');
    expect(e[0]).toBe('3:3: error: Map keys must be unique: "a" appears twice\n  hint: each key (stage id, param, field) may appear once: rename or merge the duplicate');
    expect(e.slice(1).every((l) => l.endsWith('hint: fix the YAML syntax at this position'))).toBe(true);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 6 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`), 'stages: {}'].join('\n');
    const b = await errors(bomb);
    expect(b).toHaveLength(1);
    expect(b[0]).toMatch(new RegExp(`^2:8: error: YAML aliases expand too much \\(.*; limit: ${MAX_ALIAS_COUNT} alias expansions\\)\\n  hint: write the values out`));
  });
});

describe('located errors', () => {
  const cases: [string, string, string[]][] = [
    [
      'schema: unknown field, missing run/uses, wrong form, enum',
      'stages:\n  a:\n    run: [echo]\n    bogus: 1\n  b: {}\n  c:\n    run: [echo]\n    retry: fast\nexecutor: cloud\n',
      [
        '4:5: error: stages.a: unknown field "bogus"',
        '5:3: error: stages.b: a stage needs exactly one of "uses" (a built-in kind) or "run" (a command)\n  hint: add uses: KIND or run: [program, args...]',
        '8:12: error: stages.c.retry:',
        '9:11: error: executor: must be equal to one of the allowed values\n  hint: one of: "local", "slurm"',
      ],
    ],
    [
      'command and kind fields that do not fit the stage',
      'stages:\n  k:\n    uses: test/train\n    with: { lr: 1 }\n    run: [echo]\n  j:\n    uses: test/train\n    with: { lr: 1 }\n    env: { A: "1" }\n  c:\n    run: [echo]\n    with: { x: 1 }\n  s:\n    run: "echo hi"\n  t:\n    run: [echo]\n    shell: true\n  q:\n    run: "echo \'${outs.o}\'"\n    shell: true\n    outs: { o: o }\n  u:\n    uses: no/such\n',
      [
        '2:3: error: stages.k: a stage needs exactly one of "uses" (a built-in kind) or "run" (a command)\n  hint: remove run: or uses:',
        '9:5: error: stages.j.env: applies only to command stages (run:)\n  hint: remove it; built-in kinds declare their inputs in with: (and extra ones in deps:)',
        '12:5: error: stages.c.with: applies only to built-in kinds (uses:)\n  hint: pass values to a command through run: arguments or env:',
        '14:10: error: stages.s.run: a single string needs "shell: true"\n  hint: write run as a list [program, arg, ...] (no shell), or add shell: true to run it with /bin/sh',
        '16:10: error: stages.t.run: with "shell: true", run must be one string\n  hint: write the command line as one string, or drop shell: true',
        '19:10: error: stages.q.run: ${outs.o} is inside quotes\n  hint: write references unquoted: each value is inserted as one shell-quoted word',
        '23:11: error: stages.u.uses: unknown stage kind "no/such"',
      ],
    ],
    [
      'metrics and plots name declared outs',
      'stages:\n  a:\n    run: [echo]\n    outs: { m: m.json }\n    metrics: [m, x]\n    plots: [{ out: y, x: step, y: loss }]\n  b:\n    run: [echo]\n    metrics: [z]\n',
      [
        '5:18: error: stages.a.metrics: "x" is not a declared output\n  hint: declared outs: m',
        '6:20: error: stages.a.plots[0].out: "y" is not a declared output\n  hint: declared outs: m',
        '9:15: error: stages.b.metrics: "z" is not a declared output\n  hint: declare it under outs: { NAME: file }',
      ],
    ],
    [
      'references: params, matrix axes, env, outs, deps, resources, stages, needs',
      [
        'params: { p: { q: 1 } }',
        'stages:',
        '  a:',
        '    matrix: { i: [1] }',
        '    run: [echo, "${params.nope}", "${params.p.r}", "${matrix.j}", "${env.UNSET_X}", "${env.UNSET_X:-d}", "${outs.x}", "${deps.y}", "${resources.cpu}"]',
        '    outs: { o: o.txt }',
        '    deps: { d: in.txt }',
        '    params: [p.q, p.nope]',
        '  b:',
        '    run: [echo, "${matrix.i}", "${stages.a.outputs.zz}", "${stages.nope.outputs.o}"]',
        '    env: { X: "${outs.o}" }',
        '    needs: [ghost]',
        '  c:',
        '    uses: test/train',
        '    with: { lr: "${resources.gpu}" }',
        '    deps: ["${deps.d}"]',
      ].join('\n'),
      [
        '5:17: error: stages.a.run[1]: unknown param "nope"\n  hint: declare it under params: (declared: p)',
        '5:35: error: stages.a.run[2]: param "p" has no key "r"\n  hint: check the spelling against the params block',
        '5:52: error: stages.a.run[3]: unknown matrix axis "j"\n  hint: axes of a: i',
        '5:67: error: stages.a.run[4]: environment variable UNSET_X is not set\n  hint: export UNSET_X=..., or write ${env.UNSET_X:-default}',
        '5:106: error: stages.a.run[6]: unknown output "x" in ${outs.x}\n  hint: declared outs: o',
        '5:119: error: stages.a.run[7]: unknown dep "y"\n  hint: named deps of a: d',
        '8:19: error: stages.a.params[1]: param "p" has no key "nope"',
        '10:17: error: stages.b.run[1]: unknown matrix axis "i"\n  hint: stage b has no matrix: add matrix: { i: [...] }',
        '10:32: error: stages.b.run[2]: stage "a" has no output "zz"\n  hint: outputs of a: o',
        '10:58: error: stages.b.run[3]: unknown stage "nope"\n  hint: stages: a, b, c',
        '11:15: error: stages.b.env.X: unknown output "o" in ${outs.o}\n  hint: declare it under outs: { NAME: file }',
        '12:13: error: stages.b.needs: unknown stage "ghost"\n  hint: stages: a, b, c',
        '15:17: error: stages.c.with.lr: ${resources.gpu} is only available in run: and env: of a command stage\n  hint: built-in kinds size themselves in code',
        '16:12: error: stages.c.deps[0]: ${deps...} cannot be used in deps:\n  hint: name the dep in the map form: deps: { NAME: path }',
      ],
    ],
    [
      'matrix axes: empty, bad values held by a param, a param that is no list, too many points, a glob matching nothing',
      [
        'params: { one: 5, many: [1, "1"], bad: [{ k: 1 }, [[1]], []] }',
        'stages:',
        '  a: { matrix: { x: [] }, run: [echo] }',
        '  b: { matrix: { x: "${params.bad}" }, run: [echo] }',
        '  d: { matrix: { x: "${params.one}" }, run: [echo] }',
        `  f: { matrix: { ${Array.from({ length: 6 }, (_, i) => `a${i}: [${Array.from({ length: 10 }, (_, j) => j).join(', ')}]`).join(', ')} }, run: [echo] }`,
        '  g: { matrix: { s: { glob: "nothing/{s}.x" } }, run: [echo] }',
        '  h: { matrix: { x: "${params.nope}" }, run: [echo] }',
      ].join('\n'),
      [
        '3:21: error: stages.a.matrix.x: has the wrong form',
        '4:21: error: stages.b.matrix.x[0]: a map value needs a "name:" (a string or number): it names the value in instance ids (the param ${params.bad} holds [{"k":1},[[1]],[]])\n  hint: matrix values are scalars',
        '4:21: error: stages.b.matrix.x[1]: a list value must be a non-empty list of strings, numbers or booleans (the param ${params.bad} holds',
        '4:21: error: stages.b.matrix.x[2]: a list value must be a non-empty list',
        '5:21: error: stages.d.matrix.x: must be a non-empty list of values (the param ${params.one} holds 5)\n  hint: e.g. seed: [0, 1, 2]',
        '6:8: error: stages.f.matrix: 1,000,000 instances (a0: 10 x a1: 10 x a2: 10 x a3: 10 x a4: 10 x a5: 10) exceed the limit of 100,000 per stage\n  hint: split the sweep',
        '7:29: error: stages.g.matrix.s: glob "nothing/{s}.x" matches no file\n  hint: check the pattern (relative to the workspace), or add the files',
        '8:21: error: stages.h.matrix.x: unknown param "nope"\n  hint: declare it under params: (declared: one, many, bad)',
      ],
    ],
    [
      'two matrix points with the same id (checked once the file is otherwise valid)',
      'params: { many: [1, "1"] }\nstages:\n  e: { matrix: { x: "${params.many}" }, run: [echo] }\n',
      ['3:16: error: stages.e: two matrix points give the same instance id "e@x=1"\n  hint: make the axis values distinct as text (e.g. 1 and "1" collide)'],
    ],
    [
      'templates: unknown, cycles',
      'templates:\n  x: { extends: y }\n  y: { extends: x }\n  z: { extends: z }\n  w: { extends: gone }\nstages:\n  a: { extends: nope, run: [echo] }\n  b: { extends: x, run: [echo] }\n  c: { extends: z, run: [echo] }\n  d: { extends: w, run: [echo] }\n',
      [
        '3:17: error: templates.y.extends: template cycle x -> y -> x\n  hint: remove one of these extends:',
        '4:17: error: templates.z.extends: template cycle z -> z\n  hint: remove one of these extends:',
        '5:17: error: templates.w.extends: unknown template "gone"\n  hint: templates: x, y, z, w',
        '7:17: error: stages.a.extends: unknown template "nope"\n  hint: templates: x, y, z, w',
      ],
    ],
    [
      'dependency cycles, each with its members',
      'stages:\n  a: { run: [echo, "${stages.b.outputs.o}"], outs: { o: o } }\n  b: { run: [echo, "${stages.a.outputs.o}"], outs: { o: o } }\n  c: { run: [echo], needs: [c] }\n',
      [
        '2:3: error: dependency cycle: a -> b -> a\n  hint: remove one of these references or needs: entries',
        '4:3: error: dependency cycle: c -> c\n  hint: remove one of these references or needs: entries',
      ],
    ],
    [
      "a kind's params against its schema, per instance",
      'params: { lr: fast }\nstages:\n  t:\n    uses: test/train\n    with: { lr: "${params.lr}", epochs: 3 }\n  u:\n    uses: test/train\n    with: {}\n',
      [
        '5:17: error: stages.t.with.lr: must be number',
        '5:33: error: stages.t.with: unknown field "epochs"\n  hint: allowed fields: lr, data',
        '8:5: error: stages.u.with: missing required field "lr"\n  hint: add "lr:"',
      ],
    ],
    [
      'params: only environment references, well formed',
      'params:\n  a: "${params.b}"\n  b: "${env"\n  c: "${env.UNSET_Y}"\nstages:\n  s: { run: [echo] }\n',
      [
        '2:6: error: params.a: a param may only reference ${env...}\n  hint: put derived values in the stages that use them',
        '3:6: error: params.b: ',
        '4:6: error: params.c: environment variable UNSET_Y is not set',
      ],
    ],
    [
      'secrets never reach a key in clear',
      'stages:\n  a:\n    run: [echo, "${env.TOKEN:-x}"]\n    secrets: [TOKEN]\n    env: { TOKEN: "1" }\n',
      [
        '3:17: error: stages.a.run[1]: ${env.TOKEN} names a secret (declared under secrets:): its value would enter a key in clear',
        '5:12: error: stages.a.env.TOKEN: TOKEN is declared a secret: it cannot also be an env: entry (part of the key)',
      ],
    ],
  ];
  for (const [title, yaml, expected] of cases) {
    it(title, async () => {
      // Each expected entry is the start of a diagnostic (some leave out the rest of a long hint).
      expect(await errors(yaml)).toEqual(expected.map((e) => expect.stringMatching(new RegExp(`^${e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))));
    });
  }

  it('--set: bad forms, unknown params, invalid YAML, a field of a non-map', async () => {
    const yaml = 'params: { a: 1, m: { k: 1 } }\nstages:\n  s: { run: [echo] }\n';
    expect(await errors(yaml, { sets: ['noequals', '=1', 'zz=1', 'a=[1', 'a.b=2', 'm.k.j=3'] })).toEqual([
      '--set: error: --set noequals: expected name=value\n  hint: e.g. --set seeds=[0,1] or --set data_root=/data',
      '--set: error: --set =1: expected name=value\n  hint: e.g. --set seeds=[0,1] or --set data_root=/data',
      '--set: error: --set zz=1: unknown param "zz"\n  hint: declared params: a, m',
      expect.stringMatching(/^--set: error: --set a=\[1: value is not valid YAML \(.+\)\n  hint: quote the value$/),
      '--set: error: --set a.b=2: "a" is not a map\n  hint: set the whole param instead',
      '--set: error: --set m.k.j=3: "m.k" is not a map\n  hint: set the whole param instead',
    ].map((e) => (typeof e === 'string' ? e.replace(/^--set: /, '--set: ') : e)));
    expect(await errors('stages:\n  s: { run: [echo] }\n', { sets: ['x=1'] })).toEqual(['--set: error: --set x=1: unknown param "x"\n  hint: declared params: none']);
  });

  it('params files: unreadable, bad YAML, not a map', async () => {
    ws.write('pf-list.yaml', '- 1\n');
    ws.write('pf-bad.yaml', 'a: [1\n');
    const e = await errors('params_files: [pf-missing.yaml, pf-list.yaml, pf-bad.yaml]\nstages:\n  s: { run: [echo] }\n');
    expect(e.find((l) => l.startsWith('pf-bad.yaml:'))).toMatch(/^pf-bad\.yaml:\d+:\d+: error: .*\n  hint: fix the YAML syntax of this params file$/);
    expect(e.filter((l) => !l.startsWith('pf-bad.yaml:'))).toEqual([
      '1:16: error: params_files[0]: cannot read pf-missing.yaml (ENOENT)\n  hint: create it, or remove it from params_files:',
      '1:33: error: params_files[1]: pf-list.yaml must hold a map of params (name: value)\n  hint: e.g. "train: { lr: 0.01, epochs: 10 }"',
    ]);
  });
});

// Found unchecked by mutation testing (docs/testing.md): each case pins one behaviour the loader had
// without a test in the test process.
describe('more of the loader', () => {
  it('a file of exactly the size limit is read whole, one byte more is refused; the file is closed either way', async () => {
    // Spaces, then an invalid byte as the very last one: its position proves the whole file was read.
    const full = Buffer.alloc(MAX_PIPELINE_BYTES, 0x20);
    full[MAX_PIPELINE_BYTES - 1] = 0xff;
    ws.write('full.yaml', full);
    const atLimit = await loadPipeline('full.yaml', { workspace: ws.dir });
    expect(!atLimit.ok && formatDiagnostic(atLimit.diagnostics[0])).toBe(`full.yaml:1:${MAX_PIPELINE_BYTES}: error: invalid UTF-8 (byte 0xff)\n  hint: re-save the file as UTF-8`);
    ws.write('over.yaml', Buffer.alloc(MAX_PIPELINE_BYTES + 1, 0x20));
    const over = await loadPipeline('over.yaml', { workspace: ws.dir });
    expect(over).toEqual({
      ok: false,
      diagnostics: [{ file: 'over.yaml', line: 0, col: 0, message: 'over.yaml is larger than the limit of 32 MiB for a pipeline file', hint: 'a pipeline file holds configuration: keep data in files it references (deps:, params with paths)' }],
    });
    rmSync(ws.path('full.yaml'));
    rmSync(ws.path('over.yaml'));
    ws.write('dir2/x', '');
    const dir = await loadPipeline('dir2', { workspace: ws.dir });
    expect(!dir.ok && dir.diagnostics[0]).toMatchObject({ message: 'dir2 is not a regular file', hint: 'pass the path of a YAML file' });
    expect(openFilesUnder(ws.dir)).toEqual([]);
  });

  it('invalid UTF-8: the first invalid byte is located, past any U+FFFD the file spells itself', async () => {
    const spelled = [0xef, 0xbf, 0xbd];
    const cases: [number[], string][] = [
      [[...Buffer.from('ok\n'), ...spelled, ...Buffer.from('ab'), 0xef, 0xbf, 0x41], '2:4: error: invalid UTF-8 (byte 0xef)'],
      [[...spelled, ...Buffer.from('\nab'), 0xff], '2:3: error: invalid UTF-8 (byte 0xff)'],
      [[...Buffer.from('a'), 0xf0, 0xbf, 0xbd, ...Buffer.from('a')], '1:2: error: invalid UTF-8 (byte 0xf0)'],
      [[...Buffer.from('a'), 0xef, 0x41, 0xbd], '1:2: error: invalid UTF-8 (byte 0xef)'],
      [[...Buffer.from('x'), ...spelled, ...Buffer.from('yz'), 0xc3, 0x28], '1:5: error: invalid UTF-8 (byte 0xc3)'],
    ];
    for (const [bytes, expected] of cases) {
      ws.write('utf.yaml', Buffer.from(bytes));
      const r = await loadPipeline('utf.yaml', { workspace: ws.dir });
      expect(!r.ok && formatDiagnostic(r.diagnostics[0]), Buffer.from(bytes).toString('hex')).toBe(`utf.yaml:${expected}\n  hint: re-save the file as UTF-8`);
    }
  });

  it('secrets: never through ${env.NAME} or an env: entry; the same name under another root, and other variables, pass', async () => {
    const yaml = `
params: { TOKEN: p }
stages:
  a:
    run: [sh, -c, 'echo "$1" "$2"', sh, "\${env.TOKEN}", "\${params.TOKEN}"]
    secrets: [TOKEN]
    env: { TOKEN: x, HOMEDIR: "\${env.HOME}" }
  b:
    run: [echo, "\${env.TOKEN}"]
`;
    const hint = 'hint: read the secret from the environment inside the command (it is set there), never through ${env...} or env:';
    expect(await errors(yaml, { env: { TOKEN: 't' } })).toEqual([
      `5:41: error: stages.a.run[4]: \${env.TOKEN} names a secret (declared under secrets:): its value would enter a key in clear\n  ${hint}`,
      `7:12: error: stages.a.env.TOKEN: TOKEN is declared a secret: it cannot also be an env: entry (part of the key)\n  ${hint}`,
      `9:17: error: stages.b.run[1]: \${env.TOKEN} names a secret (declared under secrets:): its value would enter a key in clear\n  ${hint}`,
    ]);
    const p = await ok(yaml.replace('"${env.TOKEN}", "${params.TOKEN}"', '"${params.TOKEN}"').replace('TOKEN: x, ', '').replace('"${env.TOKEN}"]', 'b]'), { env: { TOKEN: 't' } });
    expect(p.byId.get('a')!.stage.secrets).toEqual(['TOKEN']);
  });

  it('executor: local is taken from the file; a map with complex keys is not a duplicate', async () => {
    expect((await ok('executor: local\nstages:\n  s: { run: [echo] }\n')).executor).toBe('local');
    expect((await errors('params: { ? [a] : 1, ? [b] : 2 }\nstages:\n  s: { run: [echo] }\n')).filter((e) => e.includes('appears twice'))).toEqual([]);
  });

  it('templates: a map replaces a list and a list a map (deps: takes both); publish paths read params', async () => {
    const p = await ok(`
params: { where: out }
templates:
  listed: { run: [echo], deps: [a.txt], outs: { o: { path: o.txt, publish: "\${params.where}/o.txt" } } }
  mapped: { run: [echo], deps: { d: a.txt } }
stages:
  s: { extends: listed, deps: { d: b.txt } }
  t: { extends: mapped, deps: [b.txt] }
`);
    expect(p.byId.get('s')!.stage.deps).toEqual({ d: 'b.txt' });
    expect(p.byId.get('t')!.stage.deps).toEqual(['b.txt']);
    expect([...p.publishes]).toEqual([['out/o.txt', { id: 's', output: 'o' }]]);
  });

  it('an output path that leaves the directory is located at its path, in the long form too; a stage that is not a map is one error', async () => {
    expect(await errors('stages:\n  s:\n    run: [echo]\n    outs:\n      a: ../a.txt\n      b: { path: /b.txt }\n')).toEqual([
      expect.stringMatching(/^5:10: error: stages\.s\.outs\.a: "\.\.\/a\.txt" climbs out/),
      expect.stringMatching(/^6:18: error: stages\.s\.outs\.b: "\/b\.txt" is an absolute path/),
    ]);
    expect(await errors('stages:\n  s: 5\n')).toEqual([expect.stringMatching(/^2:6: error: stages\.s: /)]);
  });
  it('templates: a map overridden by null, extends without any templates, stages that are a list: diagnostics, no crash', async () => {
    expect(await errors('templates:\n  t: { run: [echo], env: { A: "1" } }\nstages:\n  s: { extends: t, env: null }\n')).toEqual([expect.stringMatching(/^4:\d+: error: stages\.s\.env: must be object/)]);
    expect(await errors('stages:\n  s: { extends: nope, run: [echo] }\n')).toEqual(['2:17: error: stages.s.extends: unknown template "nope"\n  hint: templates: none (declare them under templates:)']);
    expect(await errors('stages: [a, b]\n')).toEqual([expect.stringMatching(/^1:9: error: stages: must be object/)]);
  });
});
