// The loader's checks of references, kinds and kind params (src/pipeline/load.ts), in the test process:
// each mistake in one file reported with its exact position, words and fix. load.test.ts covers the
// expansion of valid files and the YAML level; validate.test.ts the same through `pipe validate`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ajvDiagnostics } from '../../src/pipeline/load.js';
import { newAjv } from '../../src/pipeline/validators.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';
import { loader, testKind } from '../support/load.js';

let ws: TempWorkspace;
beforeAll(() => {
  ws = tempWorkspace();
});
afterAll(() => ws.cleanup());

const KINDS = {
  'test/a': testKind('test/a', { params: { type: 'object', additionalProperties: false, properties: { x: { type: 'string' }, n: { type: 'integer', minimum: 1 } } } }),
  'test/b': testKind('test/b', { outputs: { other: { path: 'o', description: 'o' } } }),
  'test/c': testKind('test/c'),
  'test/group': testKind('test/group', { async runGroup() {} }),
};
const { ok, errors } = loader(() => ws, KINDS);

/** The hint of an unknown kind lists the built-in and the test's kinds, sorted, each once. */
function expectKnownKinds(diagnostic: string): void {
  const known = diagnostic.slice(diagnostic.indexOf('known kinds: ') + 13).split(', ');
  expect(known).toEqual([...known].sort());
  expect(known).toEqual(expect.arrayContaining(['test/a', 'test/b', 'test/c', 'test/group']));
  expect(new Set(known).size).toBe(known.length);
}

describe('references', () => {
  it('each wrong reference of a command stage, located on it, with the fix', async () => {
    expect(
      await errors(`
params: { p: { a: 1 } }
stages:
  up:
    matrix: { ds: [a, b] }
    run: [touch, "\${outs.o}"]
    outs: { o: o.txt }
  one:
    run: [touch, "\${outs.o}"]
    outs: { o: o.txt }
  s:
    matrix: { v: [{ name: o, k: o }] }
    run: [echo, "\${params.p.b}", "\${matrix.w}", "\${env.NOPE_M15}", "\${outs.nope}", "\${deps.nope}", "\${stages.nope.outputs.o}", "\${stages.up.outputs.x}", "\${stages.up.outputs[matrix.w]}", "\${stages.up@zz=1.outputs.o}", "\${stages.one@ds=a.outputs.o}", "\${resources.cpu}"]
    env: { R: "\${resources.gpu}", O: "\${outs.o}", D: "\${deps.d}" }
    deps: { d: "\${deps.d}", e: "\${outs.o}" }
    outs: { o: "\${deps.d}", q: "\${outs.o}" }
    untracked: ["\${matrix.w}"]
    params: [p.zz, nope]
    needs: [zz]
  t:
    uses: test/a
    with: { x: "\${outs.o}", y: "\${resources.cpu}", z: "\${matrix.w}" }
  u:
    uses: test/c
    with: { d: "\${deps.x}" }
  v:
    run: [echo, "\${deps.x}"]
`),
    ).toEqual([
      '13:17: error: stages.s.run[1]: param "p" has no key "b"\n  hint: check the spelling against the params block',
      '13:34: error: stages.s.run[2]: unknown matrix axis "w"\n  hint: axes of s: v',
      '13:49: error: stages.s.run[3]: environment variable NOPE_M15 is not set\n  hint: export NOPE_M15=..., or write ${env.NOPE_M15:-default}',
      '13:68: error: stages.s.run[4]: unknown output "nope" in ${outs.nope}\n  hint: declared outs: o, q',
      '13:84: error: stages.s.run[5]: unknown dep "nope"\n  hint: named deps of s: d, e',
      '13:100: error: stages.s.run[6]: unknown stage "nope"\n  hint: stages: up, one, s, t, u, v',
      '13:128: error: stages.s.run[7]: stage "up" has no output "x"\n  hint: outputs of up: o',
      '13:154: error: stages.s.run[8]: unknown matrix axis "w"\n  hint: axes of s: v',
      '13:188: error: stages.s.run[9]: stage "up" has no matrix axis "zz"\n  hint: axes of up: ds',
      '13:219: error: stages.s.run[10]: stage "one" has no matrix axis "ds"\n  hint: one has one instance: reference it as ${stages.one.outputs.o}',
      '15:16: error: stages.s.deps.d: ${deps...} cannot be used in deps:\n  hint: named deps of s: d, e',
      '16:16: error: stages.s.outs.o: ${deps...} cannot be used in outs:\n  hint: named deps of s: d, e',
      '16:32: error: stages.s.outs.q: unknown output "o" in ${outs.o}\n  hint: declared outs: o, q',
      '17:17: error: stages.s.untracked[0]: unknown matrix axis "w"\n  hint: axes of s: v',
      '18:14: error: stages.s.params[0]: param "p" has no key "zz"\n  hint: check the spelling against the params block',
      '18:20: error: stages.s.params[1]: unknown param "nope"\n  hint: declare it under params: (declared: p)',
      '19:13: error: stages.s.needs: unknown stage "zz"\n  hint: stages: up, one, s, t, u, v',
      '22:16: error: stages.t.with.x: unknown output "o" in ${outs.o}\n  hint: declare it under outs: { NAME: file }',
      '22:32: error: stages.t.with.y: ${resources.cpu} is only available in run: and env: of a command stage\n  hint: built-in kinds size themselves in code',
      '22:55: error: stages.t.with.z: unknown matrix axis "w"\n  hint: stage t has no matrix: add matrix: { w: [...] }',
      '25:16: error: stages.u.with.d: unknown dep "x"\n  hint: name the dep in the map form: deps: { NAME: path }',
      '27:17: error: stages.v.run[1]: unknown dep "x"\n  hint: name the dep in the map form: deps: { NAME: path }',
    ]);
  });

  it('an output named by a matrix axis the stage lacks; a reference to a kind stage; each upstream linked once', async () => {
    expect(
      await errors(`
stages:
  one:
    run: [touch, "\${outs.o}"]
    outs: { o: o.txt }
  s:
    run: [echo, "\${stages.one.outputs[matrix.w.k]}"]
`),
    ).toEqual(['7:17: error: stages.s.run[1]: unknown matrix axis "w"\n  hint: stage s has no matrix']);
    const t = await errors(`
stages:
  up:
    matrix: { ds: [a, b] }
    uses: test/c
  s:
    matrix: { ds: [a, b] }
    run: [echo, "\${stages.up.outputs.model}", "\${stages.up.outputs.model}", "\${stages.up@ds=b.outputs.model}", "\${stages.up@ds=b.outputs.model}"]
  t:
    run: [echo, { for_each: { ds: [a] }, item: "\${stages.up.outputs[matrix.ds]}" }]
`);
    expect(t).toEqual(['10:17: error: stages.t.run[1]: t: ${stages.up.outputs[matrix.ds]}: "a" is not an output of "up"\n  hint: its outputs: model, metrics']);
    const q = await ok(`
stages:
  up:
    matrix: { ds: [a, b] }
    uses: test/c
  s:
    matrix: { ds: [a, b] }
    run: [echo, "\${stages.up.outputs.model}", "\${stages.up.outputs.model}", "\${stages.up@ds=b.outputs.model}", "\${stages.up@ds=b.outputs.model}"]
`);
    expect(q.instances.map((i) => [i.id, i.upstream])).toEqual([
      ['up@ds=a', []],
      ['up@ds=b', []],
      ['s@ds=a', ['up@ds=a', 'up@ds=b']],
      ['s@ds=b', ['up@ds=b']],
    ]);
  });

  it('a dependency cycle, named by its members', async () => {
    expect(
      await errors(`
stages:
  f:
    run: [echo, "\${stages.g.outputs.o}"]
    outs: { o: o }
  g:
    run: [echo, "\${stages.h.outputs.o}"]
    outs: { o: o }
  h:
    run: [echo, "\${stages.f.outputs.o}", "\${stages.f.outputs.o}"]
    outs: { o: o }
  i:
    run: [echo, "\${stages.h.outputs.o}"]
    needs: [i]
`),
    ).toEqual([
      '3:3: error: dependency cycle: f -> g -> h -> f\n  hint: remove one of these references or needs: entries',
      '12:3: error: dependency cycle: i -> i\n  hint: remove one of these references or needs: entries',
    ]);
  });
});

describe('the file against the schema', () => {
  it('names, unknown fields with those allowed, wrong forms with the form, matrix axes referencing more than params', async () => {
    expect(
      await errors(`
stages:
  c:
    uses: test/c
    matrix: { s: ["\${stages.a.outputs.model}"] }
  d:
    uses: test/c
    matrix: { s: "\${env.X:-1}" }
  "Bad Name":
    run: [echo]
    bogus: 1
    matrix: 3
    deps: 5
`),
    ).toEqual([
      '5:18: error: stages.c.matrix.s: a matrix axis may only reference ${params...}, not ${stages...}\n  hint: list the values, or hold them in a param',
      '8:18: error: stages.d.matrix.s: has the wrong form\n  hint: a matrix axis: a non-empty list of values, e.g. seed: [0, 1, 2]; a value may be a list (features: [[a, b], [a]]) or a map with a name (dataset: [{ name: mnist, classes: 10 }]); a param holding such a list: seed: ${params.seeds}; or file names: sample: { glob: "data/{sample}.fastq" }',
      '8:18: error: stages.d.matrix.s: a matrix axis may only reference ${params...}, not ${env...}\n  hint: list the values, or hold them in a param',
      '9:3: error: stages: invalid name "Bad Name"\n  hint: names must match ^[a-z0-9][a-z0-9_-]*$',
      '11:5: error: stages.Bad Name: unknown field "bogus"\n  hint: allowed fields: description, extends, uses, with, run, shell, deps, untracked, params, outs, secrets, metrics, plots, env, matrix, group_by, group_size, needs, resources, publish, retry, timeout_s, slurm',
      '12:13: error: stages.Bad Name.matrix: must be object',
      '13:11: error: stages.Bad Name.deps: has the wrong form\n  hint: deps: a list of paths, or a map NAME: path (then ${deps.NAME} is that path in run:)',
    ]);
  });
});

describe('a kind per matrix value', () => {
  it('picks each instance\'s kind; the stage takes the first for its outputs', async () => {
    const p = await ok(`
stages:
  fine:
    matrix: { v: [{ name: a, kind: test/c }, { name: c, kind: test/group }], s: [1, 2] }
    uses: "\${matrix.v.kind}"
  down:
    run: [echo, "\${stages.fine.outputs.model}", "\${stages.fine@v=c,s=2.outputs.model}"]
`);
    expect(p.instances.map((i) => [i.id, i.kind?.kind])).toEqual([
      ['fine@v=a,s=1', 'test/c'],
      ['fine@v=a,s=2', 'test/c'],
      ['fine@v=c,s=1', 'test/group'],
      ['fine@v=c,s=2', 'test/group'],
      ['down', undefined],
    ]);
    expect(p.byId.get('down')?.upstream).toEqual(['fine@v=a,s=1', 'fine@v=a,s=2', 'fine@v=c,s=1', 'fine@v=c,s=2']);
  });

  it('refuses kinds with different outputs, an unknown kind, group_by:, an output reference, a value without the key', async () => {
    const e = await errors(`
params: { kinds: [test/a, test/b] }
stages:
  one:
    matrix: { k: "\${params.kinds}" }
    uses: "\${matrix.k}"
  two:
    matrix: { k: [test/c, nope/x, test/c] }
    uses: "\${matrix.k}"
  grp:
    matrix: { k: [test/group] }
    uses: "\${matrix.k}"
    group_by: [k]
  outref:
    uses: "\${stages.three.outputs.model}"
  outs:
    uses: "x\${outs.o}"
  three:
    matrix: { v: [{ name: a, kind: test/a }, { name: b }] }
    uses: "\${matrix.v.kind}"
`);
    expect(e.map((l) => l.replace(/known kinds: .*/, 'known kinds: ...'))).toEqual([
      '6:11: error: stages.one.uses: the kinds it picks declare different outputs (test/a: model; test/b: other)\n  hint: pick kinds with the same outputs, or write one stage per kind',
      '9:11: error: stages.two.uses: two@k=nope/x picks unknown stage kind "nope/x"\n  hint: known kinds: ...',
      '12:11: error: stages.grp.uses: a kind chosen by the matrix cannot be combined with group_by: (a group is one call of one kind)\n  hint: remove group_by:, or write one stage per kind',
      // Said so (it used to be "no instance of three matches outref": kinds are picked before instances exist).
      '15:11: error: stages.outref.uses: can reference params, matrix values and the environment, not ${stages...}\n  hint: pick the kind with ${matrix.AXIS.KEY} or ${params.NAME}',
      '17:11: error: stages.outs.uses: can reference params, matrix values and the environment, not ${outs...}\n  hint: pick the kind with ${matrix.AXIS.KEY} or ${params.NAME}',
      '20:11: error: stages.three.uses: three@v=b: ${matrix.v.kind}: the matrix value {"name":"b"} has no key "kind"\n  hint: give every value of the axis that key, or reference the axis itself',
    ]);
    expectKnownKinds(e[1]);
  });
});

describe("a kind's with:", () => {
  it('is resolved per instance and checked against its schema, located inside with:', async () => {
    expect(
      await errors(`
params: { kind: "\${env.KIND_M15:-test/a}" }
stages:
  a:
    uses: test/a
    with: { x: { for_each: { d: [] }, item: x } }
  b:
    matrix: { d: [x] }
    uses: test/a
    with: { x: "\${stages.c.outputs.model}", n: "\${matrix.d}" }
  c:
    uses: test/c
  p:
    uses: "\${params.kind}"
    with: { x: 3, n: 0, extra: 1 }
`),
    ).toEqual([
      '6:5: error: stages.a.with: a: for_each axis "d" must be a non-empty list of values, got []\n  hint: list the values, or reference a param holding a list',
      '10:48: error: stages.b.with.n: must be integer',
      '15:16: error: stages.p.with.x: must be string',
      '15:22: error: stages.p.with.n: must be >= 1',
      '15:25: error: stages.p.with: unknown field "extra"\n  hint: allowed fields: x, n',
    ]);
  });
});

describe('params, --set, stage forms and secrets', () => {
  it('reports each bad --set, a param referencing more than the environment, and each stage of the wrong form', async () => {
    const e = await errors(
      `
params: { p: { a: 1, l: [1] }, s: x, q: "\${params.s}" }
stages:
  a:
    uses: nope/x
  b:
    uses: test/c
    run: [echo]
  c:
    uses: test/c
    outs: { o: o }
    shell: true
    env: { A: "1" }
  d:
    run: [echo]
    with: { a: 1 }
  e:
    run: echo
  f:
    run: [echo]
    shell: true
  g:
    shell: true
    run: "echo '\${params.s}' \\"\${params.p.a}\\" \${params.s}"
  h:
    description: nothing
`,
      { sets: ['x', 'p.a.b=1', 'p.l.x=1', 's=[1', 'p.zz=2', 'nope=1', 'p.l.0.x=1'] },
    );
    const ONLY_COMMANDS = 'applies only to command stages (run:)\n  hint: remove it; built-in kinds declare their inputs in with: (and extra ones in deps:)';
    expect(e.map((l) => l.replace(/known kinds: .*/, 'known kinds: ...'))).toEqual([
      '--set: error: --set x: expected name=value\n  hint: e.g. --set seeds=[0,1] or --set data_root=/data',
      '--set: error: --set p.a.b=1: "p.a" is not a map\n  hint: set the whole param instead',
      '--set: error: --set p.l.x=1: "p.l" is not a map\n  hint: set the whole param instead',
      '--set: error: --set s=[1: value is not valid YAML (Flow sequence must end with a ] at line 1, column 3:)\n  hint: quote the value',
      '--set: error: --set nope=1: unknown param "nope"\n  hint: declared params: p, s, q',
      '--set: error: --set p.l.0.x=1: "p.l.0" is not a map\n  hint: set the whole param instead',
      '2:41: error: params.q: a param may only reference ${env...}\n  hint: put derived values in the stages that use them',
      '5:11: error: stages.a.uses: unknown stage kind "nope/x"\n  hint: known kinds: ...',
      '6:3: error: stages.b: a stage needs exactly one of "uses" (a built-in kind) or "run" (a command)\n  hint: remove run: or uses:',
      `11:5: error: stages.c.outs: ${ONLY_COMMANDS}`,
      `12:5: error: stages.c.shell: ${ONLY_COMMANDS}`,
      `13:5: error: stages.c.env: ${ONLY_COMMANDS}`,
      '16:5: error: stages.d.with: applies only to built-in kinds (uses:)\n  hint: pass values to a command through run: arguments or env:',
      '18:10: error: stages.e.run: a single string needs "shell: true"\n  hint: write run as a list [program, arg, ...] (no shell), or add shell: true to run it with /bin/sh',
      '20:10: error: stages.f.run: with "shell: true", run must be one string\n  hint: write the command line as one string, or drop shell: true',
      '24:10: error: stages.g.run: ${params.s} is inside quotes\n  hint: write references unquoted: each value is inserted as one shell-quoted word',
      '24:10: error: stages.g.run: ${params.p.a} is inside quotes\n  hint: write references unquoted: each value is inserted as one shell-quoted word',
      '25:3: error: stages.h: a stage needs exactly one of "uses" (a built-in kind) or "run" (a command)\n  hint: add uses: KIND or run: [program, args...]',
    ]);
    expectKnownKinds(e[7]);
  });

  it('a --set into a map sets that key only', async () => {
    const p = await ok('params: { p: { a: 1, b: { c: 2 } } }\nstages:\n  s: { run: [echo] }\n', { sets: ['p.zz=2', 'p.b.c=[3]'] });
    expect(p.params).toEqual({ p: { a: 1, b: { c: [3] }, zz: 2 } });
  });

  it('a secret reaches no key: not through ${env...} anywhere, not as an env: entry', async () => {
    const SECRET = 'names a secret (declared under secrets:): its value would enter a key in clear\n  hint: read the secret from the environment inside the command (it is set there), never through ${env...} or env:';
    expect(
      await errors(
        `
params: { t: "\${env.TOKEN}" }
stages:
  a:
    run: [echo, "\${env.TOKEN}", "\${env.OTHER:-x}"]
    secrets: [TOKEN, KEY]
    env: { KEY: "\${env.TOKEN}", B: "1" }
`,
        { env: { TOKEN: 't' } },
      ),
    ).toEqual([
      `2:14: error: params.t: \${env.TOKEN} ${SECRET}`,
      `5:17: error: stages.a.run[1]: \${env.TOKEN} ${SECRET}`,
      '7:12: error: stages.a.env.KEY: KEY is declared a secret: it cannot also be an env: entry (part of the key)\n  hint: read the secret from the environment inside the command (it is set there), never through ${env...} or env:',
      `7:17: error: stages.a.env.KEY: \${env.TOKEN} ${SECRET}`,
    ]);
  });
});

describe('ajvDiagnostics', () => {
  const diagnose = (schema: object, value: unknown, base: (string | number)[] = []) => {
    const validate = newAjv().compile(schema);
    expect(validate(value)).toBe(false);
    const out: unknown[] = [];
    ajvDiagnostics(validate.errors ?? [], base, (path, key, message, hint) => out.push([path, key, message, hint]));
    return out;
  };

  it('one diagnostic per problem: a failed oneOf, not its branches; a bad name, not its pattern; no if', () => {
    const schema = {
      type: 'object',
      required: ['need'],
      properties: {
        form: { description: 'a number or a list', oneOf: [{ type: 'number' }, { type: 'array' }] },
        bare: { oneOf: [{ type: 'number' }, { type: 'array' }] },
        names: { type: 'object', propertyNames: { pattern: '^[a-z]+$' } },
        short: { type: 'object', propertyNames: { maxLength: 2 } },
        mode: { enum: ['a', 1] },
        cond: { if: { type: 'string' }, then: { minLength: 2 } },
        free: { type: 'object', additionalProperties: false },
        n: { type: 'integer', description: 'how many' },
      },
      additionalProperties: false,
    };
    const value = { form: 'x', bare: {}, names: { ok: 1, 'Bad/x~y': 2 }, short: { abc: 1 }, mode: 'b', cond: 'x', free: { z: 1 }, n: 1.5, extra: 1 };
    expect(diagnose(schema, value, ['stages', 's', 'with'])).toEqual([
      [['stages', 's', 'with'], true, 'stages.s.with: missing required field "need"', 'add "need:"'],
      [['stages', 's', 'with', 'extra'], true, 'stages.s.with: unknown field "extra"', 'allowed fields: form, bare, names, short, mode, cond, free, n'],
      [['stages', 's', 'with', 'form'], false, 'stages.s.with.form: has the wrong form', 'a number or a list'],
      [['stages', 's', 'with', 'bare'], false, 'stages.s.with.bare: has the wrong form', 'see docs/pipeline-format.md'],
      [['stages', 's', 'with', 'names', 'Bad/x~y'], true, 'stages.s.with.names: invalid name "Bad/x~y"', 'names must match ^[a-z]+$'],
      // Only a pattern's own error is folded into the name's (the pipeline schema constrains names by pattern).
      [['stages', 's', 'with', 'short'], false, 'stages.s.with.short: must NOT have more than 2 characters', undefined],
      [['stages', 's', 'with', 'short', 'abc'], true, 'stages.s.with.short: invalid name "abc"', undefined],
      [['stages', 's', 'with', 'mode'], false, 'stages.s.with.mode: must be equal to one of the allowed values', 'one of: "a", 1'],
      [['stages', 's', 'with', 'cond'], false, 'stages.s.with.cond: must NOT have fewer than 2 characters', undefined],
      [['stages', 's', 'with', 'free', 'z'], true, 'stages.s.with.free: unknown field "z"', 'remove it'],
      [['stages', 's', 'with', 'n'], false, 'stages.s.with.n: must be integer', 'how many'],
    ]);
  });

  it('decodes JSON pointers (~1 is /, ~0 is ~) and names the top level', () => {
    const schema = { type: 'object', properties: { 'a/b': { type: 'object', properties: { 'c~d': { type: 'string' } } } }, required: ['x'] };
    expect(diagnose(schema, { 'a/b': { 'c~d': 1 } })).toEqual([
      [[], true, '(top level): missing required field "x"', 'add "x:"'],
      [['a/b', 'c~d'], false, 'a/b.c~d: must be string', undefined],
    ]);
  });
});
