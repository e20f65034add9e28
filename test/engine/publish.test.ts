// Published outputs through the real CLI: `outs: { NAME: { path, publish } }` and `publish:` put a
// read-only copy of an output at a workspace path after every run, cached or not; an edited copy is
// reported and kept; a removed output's copy is cleaned up; `pipe checkout RUN` publishes an older
// run's outputs; `--until PATH` selects the instance that publishes PATH.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

// gen writes "n=<n>"; square@x=* publishes one file per matrix value; report publishes a directory.
const pipeline = (extra = '') => `
params: { n: 3, xs: [1, 2] }
stages:
  gen:
    run: [node, -e, "require('fs').writeFileSync(process.argv[1], 'n=' + process.argv[2])", "\${outs.data}", "\${params.n}"]
    outs: { data: { path: data.txt, publish: results/data.txt } }
  square:
    matrix: { x: "\${params.xs}" }
    run: [node, -e, "require('fs').writeFileSync(process.argv[1], String(process.argv[2] ** 2))", "\${outs.sq}", "\${matrix.x}"]
    outs: { sq: { path: sq.txt, publish: "results/sq-\${matrix.x}.txt" } }
  report:
    run: [sh, -c, 'mkdir -p "$1" && cat "$2" > "$1/summary.txt"', sh, "\${outs.dir}", "\${stages.gen.outputs.data}"]
    outs: { dir: report }
    publish: { dir: results/report }
${extra}`;

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const read = (rel: string) => readFileSync(ws.path(rel), 'utf8');

describe('published outputs', () => {
  it('publishes read-only copies after every run and restores a deleted one without re-running', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', pipeline());
    const first = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(read('results/data.txt')).toBe('n=3');
    expect(read('results/sq-2.txt')).toBe('4');
    expect(read('results/report/summary.txt')).toBe('n=3');
    expect(statSync(ws.path('results/data.txt')).mode & 0o777).toBe(0o444);
    // Copies, not links into the store.
    expect(statSync(ws.path('results/data.txt')).ino).not.toBe(statSync(first.doc.instances.find((i) => i.id === 'gen')!.outputs!.data).ino);

    const { rmSync } = await import('node:fs');
    rmSync(ws.path('results/sq-1.txt'));
    rmSync(ws.path('results/report'), { recursive: true });
    const second = await runPipe(['run', 'p.yaml'], { cwd: ws.dir });
    expect(second.exitCode, second.all).toBe(0);
    expect(second.stdout).toMatch(/0 ran, 4 cached/);
    expect(second.stdout).toMatch(/restored +results\/sq-1\.txt/);
    expect(second.stdout).toMatch(/restored +results\/report /);
    expect(read('results/sq-1.txt')).toBe('1');
    expect(read('results/report/summary.txt')).toBe('n=3');

    // A new result replaces the published copy.
    const third = await runPipeJson(['run', 'p.yaml', '--set', 'n=4'], { cwd: ws.dir });
    expect(byStatus(third.doc).ran).toEqual(['gen', 'report']);
    expect(read('results/data.txt')).toBe('n=4');
    expect(third.doc).toHaveProperty('published');
  });

  it('reports an edited published file and never overwrites it; checkout --force restores it', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', pipeline());
    expect((await runPipe(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    const edited = ws.path('results/data.txt');
    const { chmodSync } = await import('node:fs');
    chmodSync(edited, 0o644);
    writeFileSync(edited, 'my notes');
    const again = await runPipe(['run', 'p.yaml', '--set', 'n=5'], { cwd: ws.dir });
    expect(again.exitCode, again.all).toBe(0);
    expect(again.stderr).toMatch(/warning: results\/data\.txt \(gen data\) changed since pipe published it: not overwritten/);
    expect(read('results/data.txt')).toBe('my notes');

    const co = await runPipe(['checkout', '--only', 'results/data.txt', '--force'], { cwd: ws.dir });
    expect(co.exitCode, co.all).toBe(0);
    expect(read('results/data.txt')).toBe('n=5');
  });

  it('checks out an older run, and cleans up the copy of an output that is no longer published', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', pipeline());
    expect((await runPipe(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    expect((await runPipe(['run', 'p.yaml', '--set', 'n=7', '--set', 'xs=[3]'], { cwd: ws.dir })).exitCode).toBe(0);
    expect(read('results/data.txt')).toBe('n=7');
    // sq-1 and sq-2 are no longer declared: removed. sq-3 is new.
    expect(existsSync(ws.path('results/sq-1.txt'))).toBe(false);
    expect(read('results/sq-3.txt')).toBe('9');

    const co = await runPipe(['checkout', '1'], { cwd: ws.dir });
    expect(co.exitCode, co.all).toBe(0);
    expect(co.stdout).toMatch(/updated +results\/data\.txt/);
    expect(read('results/data.txt')).toBe('n=3');
    expect(read('results/sq-1.txt')).toBe('1');
    const only = await runPipe(['checkout', '2', '--only', 'gen'], { cwd: ws.dir });
    expect(only.exitCode, only.all).toBe(0);
    expect(read('results/data.txt')).toBe('n=7');
    expect(read('results/sq-1.txt')).toBe('1');
  });

  it('takes a published path as a --until target', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', pipeline());
    const r = await runPipeJson(['run', 'p.yaml', '--until', 'results/sq-2.txt'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(byStatus(r.doc)).toEqual({ ran: ['square@x=2'] });
    expect(read('results/sq-2.txt')).toBe('4');
    const dir = await runPipeJson(['run', 'p.yaml', '--until', 'results/report'], { cwd: ws.dir });
    expect(byStatus(dir.doc)).toEqual({ ran: ['gen', 'report'] });
  });

  it('rejects a publish path outside the workspace, inside runs/, or shared by two instances', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  a:
    matrix: { x: [1, 2] }
    run: [touch, "\${outs.f}"]
    outs: { f: { path: f, publish: results/f } }
  b:
    run: [touch, "\${outs.f}"]
    outs: { f: f }
    publish: { f: ../f, g: g }
  c:
    run: [touch, "\${outs.f}"]
    outs: { f: { path: f, publish: runs/f } }
`);
    const r = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/p\.yaml:6:\d+: error: stages\.a\.outs\.f\.publish: a@x=2 and a@x=1 both publish to "results\/f"/);
    expect(r.stderr).toMatch(/hint: put the matrix values in the path/);
    expect(r.stderr).toMatch(/stages\.b\.publish\.f: "\.\.\/f" is not a path inside the workspace/);
    expect(r.stderr).toMatch(/stages\.b\.publish\.g: stage "b" has no output "g"/);
    expect(r.stderr).toMatch(/stages\.c\.outs\.f\.publish: "runs\/f" is pipe's own directory or inside runs\//);
  });
});
