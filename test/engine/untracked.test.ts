// Untracked inputs (src/pipeline/untracked.ts), in the test process against real files: which words of a
// command are workspace paths, which count as tracked, and the located error with its fix. inputs.test.ts
// shows the same through `pipe`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUntracked } from '../../src/pipeline/untracked.js';
import type { JsonPath } from '../../src/pipeline/locate.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';
import { loader } from '../support/load.js';

let ws: TempWorkspace;
beforeAll(() => {
  ws = tempWorkspace();
  for (const f of ['data/x.csv', 'data/y.csv', 'data/x', 'tools/run.sh', 'tools/other.sh', 'runs/old.txt', 'runsfoo/z.txt', 'lib/a.py', 'eq.txt', '-flag.txt'])
    ws.write(f, 'content');
  ws.write('params.yaml', 'e: 1\n');
  // What a map would be as text: a map in run: is not a word.
  ws.write('[object Object]', '');
});
afterAll(() => ws.cleanup());
const { ok, errors } = loader(() => ws);

const untracked = (where: string, rel: string, kind: string, stage: string) =>
  `error: ${where}: "${rel}" is a ${kind} of the workspace that is neither a dep nor an upstream output: editing it would not re-run ${stage}\n  hint: add it to deps: (e.g. deps: { NAME: ${rel} }, then \${deps.NAME} in run:), or list it under untracked: [${rel}] to say it is deliberate`;

describe('untracked workspace paths in run:', () => {
  it('reports files and directories named by an argument, after "=", or as a program with a slash', async () => {
    expect(
      await errors(`
stages:
  s:
    run: [./tools/run.sh, data/x.csv, "--in=data/y.csv", data, lib/a.py, "=eq.txt", data/x.csv, 3, "--skip=", "-flag.txt", "--flag.txt", runsfoo/z.txt]
`),
    ).toEqual([
      `4:11: ${untracked('stages.s.run[0]', 'tools/run.sh', 'file', 's')}`,
      `4:27: ${untracked('stages.s.run[1]', 'data/x.csv', 'file', 's')}`,
      `4:39: ${untracked('stages.s.run[2]', 'data/y.csv', 'file', 's')}`,
      `4:58: ${untracked('stages.s.run[3]', 'data', 'directory', 's')}`,
      `4:64: ${untracked('stages.s.run[4]', 'lib/a.py', 'file', 's')}`,
      `4:74: ${untracked('stages.s.run[5]', 'eq.txt', 'file', 's')}`,
      `4:138: ${untracked('stages.s.run[11]', 'runsfoo/z.txt', 'file', 's')}`,
    ]);
  });

  it('skips a bare program, the workspace itself, paths outside it or in runs/, and what does not exist', async () => {
    const p = await ok(`
stages:
  s:
    run: [data, ., /etc/hostname, runs/old.txt, runs, data/none.csv, ../x, "--x=", "-", "", "${ws.dir}", "${ws.dir}/runs/old.txt"]
  k:
    run: [tools, "-data/x.csv"]
  sh:
    shell: true
    run: "data -x | lib -y && tools; data; cat $\${D}data/x.csv"
`);
    expect(p.instances.map((i) => i.id)).toEqual(['s', 'k', 'sh']);
  });

  it('counts a path as tracked inside a dep (list or map), an untracked: entry, or a params file of a stage with params:', async () => {
    const p = await ok(`
params_files: [params.yaml]
params: { d: data }
stages:
  list:
    run: [cat, data/x.csv, tools/run.sh]
    deps: [data, tools/run.sh]
  map:
    run: [cat, "\${deps.d}", data/x.csv, "\${params.d}/y.csv"]
    deps: { d: "\${params.d}/" }
  un:
    run: [cat, data/x.csv, lib/a.py, eq.txt]
    untracked: ["\${params.d}", lib, /]
  reads:
    run: [cat, params.yaml]
    params: [d]
`);
    expect(p.instances).toHaveLength(4);
    expect(
      await errors(`
stages:
  near:
    run: [cat, data/x.csv, params.yaml, runsfoo/z.txt]
    deps: [data/x, runs]
    untracked: [/etc]
`),
    ).toEqual([`4:16: ${untracked('stages.near.run[1]', 'data/x.csv', 'file', 'near')}`, `4:28: ${untracked('stages.near.run[2]', 'params.yaml', 'file', 'near')}`, `4:41: ${untracked('stages.near.run[3]', 'runsfoo/z.txt', 'file', 'near')}`]);
  });

  it('reads a shell line word by word, a program after each operator; reports a path once per stage', async () => {
    expect(
      await errors(`
stages:
  sh:
    shell: true
    run: "tools/run.sh data/x.csv | tools/other.sh --o=eq.txt && data/x.csv; lib/a.py > \${outs.o}"
    outs: { o: o.txt }
  m:
    matrix: { i: [1, 2] }
    run: [cat, data/x.csv, data/x.csv]
`),
    ).toEqual([
      `5:10: ${untracked('stages.sh.run', 'tools/run.sh', 'file', 'sh')}`,
      `5:10: ${untracked('stages.sh.run', 'data/x.csv', 'file', 'sh')}`,
      `5:10: ${untracked('stages.sh.run', 'tools/other.sh', 'file', 'sh')}`,
      `5:10: ${untracked('stages.sh.run', 'eq.txt', 'file', 'sh')}`,
      `5:10: ${untracked('stages.sh.run', 'lib/a.py', 'file', 'sh')}`,
      `9:16: ${untracked('stages.m.run[1]', 'data/x.csv', 'file', 'm')}`,
    ]);
  });

  it('checks only command stages with run:, each list element of an argument', async () => {
    const seen: [JsonPath, string][] = [];
    const p = await ok(`
stages:
  s:
    run: [echo]
`);
    const inst = p.byId.get('s')!;
    const scope = { params: { files: ['data/x.csv', null, { a: 'lib/a.py' }, 2] }, byStage: p.byStage, env: {} };
    const check = (stage: object, kind?: object) =>
      checkUntracked([{ ...inst, stage: { ...inst.stage, ...stage }, ...(kind ? { kind } : {}) } as typeof inst], { scope, workspace: ws.dir, paramsFiles: [], report: (at, _key, message) => seen.push([at, message]) });
    check({ run: undefined });
    check({ run: ['cat', 'data/x.csv'] }, { kind: 'k' });
    check({ run: 3 });
    expect(seen).toEqual([]);
    check({ run: ['cat', '${params.files}'] });
    expect(seen).toEqual([[['stages', 's', 'run', 1], 'stages.s.run[1]: "data/x.csv" is a file of the workspace that is neither a dep nor an upstream output: editing it would not re-run s']]);
  });

  it('reports a value that cannot be resolved (found only per instance) where it is written, once per place', async () => {
    const NO_KEY = '${matrix.v.k}: the matrix value {"name":"b"} has no key "k"\n  hint: give every value of the axis that key, or reference the axis itself';
    expect(
      await errors(`
params: { m: { a: 1 } }
stages:
  s:
    matrix: { v: [{ name: a, k: x }, { name: b }] }
    run: [echo, "\${matrix.v.k}", "\${matrix.v.k}"]
    deps: { d: "\${matrix.v.k}" }
    untracked: ["\${matrix.v.k}"]
  l:
    matrix: { v: [{ name: a, k: x }, { name: b }] }
    run: "echo \${params.m} \${matrix.v.k}"
    shell: true
    deps: ["\${matrix.v.k}"]
`),
    ).toEqual([
      `6:17: error: stages.s.run[1]: s@v=b: ${NO_KEY}`,
      `6:34: error: stages.s.run[2]: s@v=b: ${NO_KEY}`,
      `7:16: error: stages.s.deps.d: s@v=b: ${NO_KEY}`,
      `8:17: error: stages.s.untracked[0]: s@v=b: ${NO_KEY}`,
      '11:10: error: stages.l.run: l@v=a: ${params.m} is a map and cannot be embedded in a shell command\n  hint: reference one of its values instead',
      `13:12: error: stages.l.deps[0]: l@v=b: ${NO_KEY}`,
    ]);
  });
});
