// Writing a per-dataset concept once: `{ for_each, item }` lists, references that name one instance
// (`${stages.S@AXIS=V.outputs.O}`) or an output by a matrix value (`${stages.S.outputs[matrix.AXIS.KEY]}`),
// and a kind chosen by the matrix (`uses: "${matrix.dataset.kind}"`), through the real CLI.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const PIPELINE = `
params:
  sets: [{ name: a, n: 1 }, { name: b, n: 2 }]
stages:
  data:
    run: [sh, -c, 'printf A > "$1"; printf B > "$2"', sh, "\${outs.a}", "\${outs.b}"]
    outs: { a: a.txt, b: b.txt }
  prep:
    matrix: { set: "\${params.sets}" }
    run: [sh, -c, 'cat "$1" > "$2"; echo " n=$3" >> "$2"', sh, "\${stages.data.outputs[matrix.set.name]}", "\${outs.o}", "\${matrix.set.n}"]
    outs: { o: o.txt }
  only-b:
    run: [sh, -c, 'cat "$1" > "$2"', sh, "\${stages.prep@set=b.outputs.o}", "\${outs.o}"]
    outs: { o: o.txt }
  all:
    run: [sh, -c, 'for f in "$@"; do echo "$f"; done > "$0"', "\${outs.o}", { for_each: { set: "\${params.sets}" }, item: "\${matrix.set.name}=\${stages.prep.outputs.o}" }]
    outs: { o: o.txt }
`;

async function validate(pipeline: string): Promise<string> {
  ws.write('p.yaml', pipeline);
  const r = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir });
  expect(r.exitCode, r.all).toBe(2);
  return r.stderr;
}

describe('per-instance references and lists', () => {
  it('selects an output by a matrix value, one instance by its matrix values, and lists one item per value', async () => {
    ws = tempWorkspace('pipe-matrix-refs-');
    ws.write('p.yaml', PIPELINE);
    // A reference that names one instance waits for that instance only.
    const until = await runPipeJson(['run', 'p.yaml', '--until', 'only-b'], { cwd: ws.dir });
    expect(until.exitCode, until.stderr).toBe(0);
    expect(byStatus(until.doc)).toEqual({ ran: ['data', 'only-b', 'prep@set=b'] });
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = (id: string) => readFileSync(r.doc.instances.find((i) => i.id === id)!.outputs!.o, 'utf8');
    expect(out('prep@set=a')).toBe('A n=1\n');
    expect(out('prep@set=b')).toBe('B n=2\n');
    expect(out('only-b')).toBe('B n=2\n');
    const lines = out('all').trim().split('\n');
    expect(lines.map((l) => l.split('=')[0])).toEqual(['a', 'b']);
    expect(lines.map((l) => readFileSync(l.split('=')[1], 'utf8'))).toEqual(['A n=1\n', 'B n=2\n']);
    expect(byStatus(r.doc)).toEqual({ ran: ['all', 'prep@set=a'], cached: ['data', 'only-b', 'prep@set=b'] });
  });

  it('reports each mistake with its location and the fix', async () => {
    ws = tempWorkspace('pipe-matrix-refs-');
    expect(await validate(PIPELINE.replace('prep@set=b', 'prep@sett=b'))).toMatch(/p\.yaml:\d+:\d+.*stage "prep" has no matrix axis "sett"[\s\S]*axes of prep: set/);
    expect(await validate(PIPELINE.replace('outputs[matrix.set.name]', 'outputs[matrix.sett.name]'))).toMatch(/p\.yaml:\d+:\d+.*unknown matrix axis "sett"/);
    expect(await validate(PIPELINE.replace('item: "${matrix.set.name}=', 'item: "${matrix.other.name}='))).toMatch(/unknown matrix axis "other"/);
    // A command's run: is resolved per instance at load: a value that names no output is refused before
    // anything runs, located on the argument.
    ws.write('p.yaml', PIPELINE.replace('{ name: b, n: 2 }', '{ name: c, n: 2 }').replace('prep@set=b', 'prep@set=a'));
    const run = await runPipe(['run', 'p.yaml'], { cwd: ws.dir });
    expect(run.exitCode).toBe(2);
    expect(run.all).toMatch(/p\.yaml:10:64: error: stages\.prep\.run\[4\]: prep@set=c: \$\{stages\.data\.outputs\[matrix\.set\.name\]\}: "c" is not an output of "data"\n {2}hint: its outputs: a, b/);
    expect(await validate(PIPELINE.replace('}, item:', '}, extra: 1, item:'))).toMatch(/p\.yaml:\d+:\d+/);
  });

  it('picks each instance\'s kind from the matrix: the kinds must share their outputs, and such a stage cannot group', async () => {
    ws = tempWorkspace('pipe-matrix-refs-');
    const stage = (kinds: string, extra = '') => `
stages:
  s:
    matrix: { k: [${kinds}], seed: [0] }${extra}
    uses: "\${matrix.k}"
    with: { count: 5 }
`;
    expect(await validate(stage('synonyms/table, prompts/build'))).toMatch(/stages\.s\.uses: the kinds it picks declare different outputs \(synonyms\/table: .*; prompts\/build: /);
    expect(await validate(stage('synonyms/table, no/such'))).toMatch(/stages\.s\.uses: s@k=no\/such,seed=0 picks unknown stage kind "no\/such"[\s\S]*known kinds: .*synonyms\/table/);
    expect(await validate(stage('synonyms/table', '\n    group_by: [seed]'))).toMatch(/a kind chosen by the matrix cannot be combined with group_by:/);
    ws.write('p.yaml', stage('synonyms/table'));
    const ok = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir });
    expect(ok.stdout).toBe('p.yaml: ok (1 stages, 1 instances)');
  });
});
