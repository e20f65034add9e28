// Matrix axes whose values are lists or named maps, and stage templates (`templates:` + `extends:`),
// through the real CLI in temporary workspaces.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

// `echo` stands in for a training command: it writes its argv, so the test sees what each instance got.
const WRITE = "require('fs').writeFileSync(process.argv[1], process.argv.slice(2).join(' '))";

describe('matrix values that are lists or maps', () => {
  it('names instances by joined lists and map names, passes the values and their fields, and matches upstream by them', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
params:
  ablations: [[sc, ssc, ic], [sc, ic]]
stages:
  prep:
    matrix:
      dataset: [{ name: fi, classes: 8 }, { name: emotion6, classes: 6 }]
    run: [node, -e, "${WRITE}", "\${outs.o}", "\${matrix.dataset.name}", "\${matrix.dataset.classes}"]
    outs: { o: o.txt }
  train:
    matrix: { captions: "\${params.ablations}", seed: [3], dataset: [{ name: fi, classes: 8 }] }
    run: [node, -e, "${WRITE}", "\${outs.o}", "\${matrix.captions}", "seed=\${matrix.seed}", "\${stages.prep.outputs.o}"]
    outs: { o: { path: o.txt, publish: "results/\${matrix.dataset.name}-\${matrix.seed}-\${params.ablations}.txt" } }
`);
    // A list cannot be embedded in a longer string: the publish path above is refused, and says why.
    const bad = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/is a list and cannot be embedded in a longer string/);
    ws.write('p.yaml', readFileSync(ws.path('p.yaml'), 'utf8').replace('-${params.ablations}.txt', '-${matrix.captions.name}.txt'));
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(byStatus(r.doc).ran).toEqual([
      'prep@dataset=emotion6',
      'prep@dataset=fi',
      'train@captions=sc+ic,seed=3,dataset=fi',
      'train@captions=sc+ssc+ic,seed=3,dataset=fi',
    ]);
    const out = (id: string) => readFileSync(r.doc.instances.find((i) => i.id === id)!.outputs!.o, 'utf8');
    expect(out('prep@dataset=fi')).toBe('fi 8');
    // A list-valued reference in run: splices one argument per element; the map value pins prep@dataset=fi.
    expect(out('train@captions=sc+ic,seed=3,dataset=fi')).toMatch(/^sc ic seed=3 \/.*\/o\.txt$/);
    expect(readFileSync(out('train@captions=sc+ic,seed=3,dataset=fi').split(' ').pop()!, 'utf8')).toBe('fi 8');
    // \`.name\` of a list value is its label.
    expect(readFileSync(ws.path('results/fi-3-sc+ic.txt'), 'utf8')).toBe(out('train@captions=sc+ic,seed=3,dataset=fi'));
  });

  it('rejects a map value without a name and an empty list value, located', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  a:
    matrix: { d: [{ classes: 8 }], c: [[]] }
    run: [touch, "\${outs.o}"]
    outs: { o: o }
`);
    const r = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/p\.yaml:4:\d+: error: stages\.a\.matrix\.d\[0\]: a map value needs a "name:"/);
    expect(r.stderr).toMatch(/stages\.a\.matrix\.c\[0\]: a list value must be a non-empty list/);
  });
});

describe('templates', () => {
  const PIPELINE = `
templates:
  base:
    env: { MODE: base, LEVEL: "1" }
    outs: { o: o.txt }
    run: [sh, -c, 'echo "$MODE $LEVEL $0" > "$1"', "\${params.tag}", "\${outs.o}"]
  fast:
    extends: base
    env: { MODE: fast }
params: { tag: t1 }
stages:
  a:
    extends: base
  b:
    extends: fast
    env: { LEVEL: "2" }
`;

  it('merges a stage onto its template chain, maps deeply and the stage winning', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = (id: string) => readFileSync(r.doc.instances.find((i) => i.id === id)!.outputs!.o, 'utf8');
    expect(out('a')).toBe('base 1 t1\n');
    expect(out('b')).toBe('fast 2 t1\n');
    // Editing the template re-runs the stages that extend it, and only those whose values changed.
    ws.write('p.yaml', PIPELINE.replace('env: { MODE: fast }', 'env: { MODE: quick }'));
    const again = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(again.doc)).toEqual({ cached: ['a'], ran: ['b'] });
  });

  it('reports an unknown template and a template cycle with the fix', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
templates:
  x: { extends: y }
  y: { extends: x }
stages:
  a: { extends: nope, run: [true] }
  b: { extends: x, run: [true] }
`);
    const r = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/p\.yaml:6:\d+: error: stages\.a\.extends: unknown template "nope"\n  hint: templates: x, y/);
    expect(r.stderr).toMatch(/templates\.\w\.extends: template cycle/);
  });
});
