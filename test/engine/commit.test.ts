// The per-instance path of a run through the real CLI: attempts that finish together are committed in one
// batch (group commit) with every entry complete, resume directories exist for each attempt, keep a failed
// attempt's checkpoints and are reused once empty, and commands start (the wide matrix's first 8 from the
// engine itself, the rest by the helper process: spawner.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { byStatus, PIPE_BIN, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

/** Entries of a directory, [] when it does not exist. */
const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

describe('commit path', () => {
  it('commits every instance of a wide matrix: entry, manifest, history row; no resume or tmp directory left', async () => {
    ws = tempWorkspace();
    // Each attempt checks that its resume directory exists and is empty (a reused one must be), then writes its output.
    ws.write('p.yaml', `
stages:
  part:
    matrix: { i: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }
    run: [sh, -c, 'test -d "$PIPE_RESUME_DIR" && test -z "$(ls -A "$PIPE_RESUME_DIR")" && echo "part $1" > "$0"', "\${outs.o}", "\${matrix.i}"]
    outs: { o: part.txt }
`);
    const r = await runPipeJson(['run', 'p.yaml', '--jobs', '4'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    expect(byStatus(r.doc).ran).toHaveLength(12);
    for (const inst of r.doc.instances) {
      const i = inst.id.split('=')[1];
      expect(readFileSync(inst.outputs!.o, 'utf8')).toBe(`part ${i}\n`);
      expect(existsSync(join(inst.outputs!.o, '..', '.pipe-entry.json'))).toBe(true);
    }
    expect(entries(ws.path('runs/partial'))).toEqual([]);
    expect(entries(ws.path('runs/tmp'))).toEqual([]);
    // The history rows were committed: a second run restores all twelve.
    const again = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(again.doc).cached).toHaveLength(12);
    const verify = await runPipeJson(['run', 'p.yaml', '--verify'], { cwd: ws.dir });
    expect(byStatus(verify.doc).cached).toHaveLength(12);
  });

  it("a failed attempt's checkpoint is in the resume directory of the next attempt; it is removed after the commit", async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  resumable:
    retry: { attempts: 2 }
    run: [sh, -c, 'if [ -f "$PIPE_RESUME_DIR/ckpt" ]; then cat "$PIPE_RESUME_DIR/ckpt" > "$0"; else echo "epoch 3" > "$PIPE_RESUME_DIR/ckpt"; exit 1; fi', "\${outs.o}"]
    outs: { o: o.txt }
`);
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.doc.instances[0]).toMatchObject({ status: 'ran', attempts: 2 });
    expect(readFileSync(r.doc.instances[0].outputs!.o, 'utf8')).toBe('epoch 3\n');
    expect(entries(ws.path('runs/partial'))).toEqual([]);
    expect(entries(ws.path('runs/tmp'))).toEqual([]);
  });

  it('a program that does not exist fails its instance, naming it; a shell line runs through sh', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
stages:
  missing:
    run: [no-such-program-for-pipe, x]
  shell:
    shell: true
    run: echo "from sh" > \${outs.o}; echo to-the-log
    outs: { o: o.txt }
`);
    const r = await runPipeJson(['run', 'p.yaml', '--keep-going'], { cwd: ws.dir });
    const missing = r.doc.instances.find((i) => i.id === 'missing')!;
    expect(missing.status).toBe('failed');
    expect(missing.error).toMatch(/^command could not be started \(.*ENOENT.*\)$/);
    expect(missing).toMatchObject({ hint: 'program not found: no-such-program-for-pipe' });
    const shell = r.doc.instances.find((i) => i.id === 'shell')!;
    expect(readFileSync(shell.outputs!.o, 'utf8')).toBe('from sh\n');
    expect(readFileSync(ws.path(shell.log!), 'utf8')).toMatch(/^to-the-log$/m);
    const logs = await runPipe(['logs', 'shell'], { cwd: ws.dir });
    expect(logs.stdout).toMatch(/^to-the-log$/m);
  });

  it('commits an output of more files than the process may open at once', async () => {
    ws = tempWorkspace();
    // 3,000 files under a limit of 256 open files: every file is fsynced before the rename, a few at a time.
    ws.write('p.yaml', `
stages:
  many:
    run: [node, -e, "const fs = require('fs'); fs.mkdirSync(process.argv[1]); for (let i = 0; i < 3000; i++) fs.writeFileSync(process.argv[1] + '/f' + i, String(i))", "\${outs.d}"]
    outs: { d: files }
`);
    const r = await execa('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, PIPE_BIN, 'run', 'p.yaml', '--json'], { cwd: ws.dir, env: { CI: '1' }, reject: false });
    expect(r.exitCode, r.stdout).toBe(0);
    const doc = JSON.parse(r.stdout) as { instances: { status: string; outputs: Record<string, string> }[] };
    expect(doc.instances[0].status).toBe('ran');
    expect(readdirSync(doc.instances[0].outputs.d)).toHaveLength(3000);
  });
});
