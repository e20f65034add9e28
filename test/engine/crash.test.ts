// Crash safety and concurrency: kill -9 mid-stage then resume; two runs on one workspace at once.
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, PIPE_BIN, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(50);
  }
}

// Appends its name to executions.log (outside the store) so the test can count executions.
const LOGGED = (name: string, extra = '') =>
  `"const fs=require('fs'); fs.appendFileSync('executions.log', '${name}\\\\n'); ${extra} fs.writeFileSync(process.argv[1], '${name} done')"`;

describe('crash safety', () => {
  it('SIGKILL mid-stage, then re-run: finished stages are not repeated, no partial output survives', async () => {
    ws = tempWorkspace();
    // `slow` writes half its output, then waits until the file `go` exists (created after the kill).
    const slowBody = `fs.writeFileSync(process.argv[1] + '.part', 'half'); fs.writeFileSync('slow.pid', String(process.pid)); while (!fs.existsSync('go')) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); }`;
    ws.write(
      'p.yaml',
      `stages:
  fast:
    run: [node, -e, ${LOGGED('fast')}, "\${outs.o}"]
    outs: { o: fast.txt }
  slow:
    needs: [fast]
    run: [node, -e, ${LOGGED('slow', slowBody)}, "\${outs.o}"]
    outs: { o: slow.txt }
  last:
    run: [node, -e, ${LOGGED('last')}, "\${outs.o}", "\${stages.slow.outputs.o}"]
    outs: { o: last.txt }
`,
    );
    const child = execa(process.execPath, [PIPE_BIN, 'run', 'p.yaml', '--jobs', '1'], { cwd: ws.dir, reject: false, env: { CI: '1' } });
    await waitFor(() => existsSync(ws.path('slow.pid')));
    child.kill('SIGKILL');
    await child;
    process.kill(Number(readFileSync(ws.path('slow.pid'), 'utf8')), 'SIGKILL'); // the orphaned stage process
    expect(readdirSync(ws.path('runs/tmp'))).toHaveLength(1); // the killed attempt's private dir

    ws.write('go', '');
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    expect(byStatus(r.doc)).toEqual({ cached: ['fast'], ran: ['last', 'slow'] });
    expect(readFileSync(ws.path('executions.log'), 'utf8').split('\n').filter(Boolean)).toEqual(['fast', 'slow', 'slow', 'last']);
    expect(readdirSync(ws.path('runs/tmp'))).toHaveLength(0); // stale attempt cleaned up
    const slowOut = r.doc.instances.find((i) => i.id === 'slow')!.outputs!.o;
    expect(readFileSync(slowOut, 'utf8')).toBe('slow done');
    const runs = await execa(process.execPath, [PIPE_BIN, 'runs'], { cwd: ws.dir });
    expect(runs.stdout).toMatch(/^1 .*interrupted/m);
  });

  it('two concurrent runs on one workspace: every stage executes once, both succeed', async () => {
    ws = tempWorkspace();
    const wait = `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);`;
    ws.write(
      'p.yaml',
      `params: { parts: [1, 2, 3] }
stages:
  part:
    matrix: { i: "\${params.parts}" }
    run: [node, -e, ${LOGGED('part', wait)}, "\${outs.o}", "\${matrix.i}"]
    outs: { o: part.txt }
  join:
    run: [node, -e, ${LOGGED('join')}, "\${outs.o}", "\${stages.part.outputs.o}"]
    outs: { o: join.txt }
`,
    );
    const [a, b] = await Promise.all([
      runPipeJson(['run', 'p.yaml', '--jobs', '2'], { cwd: ws.dir }),
      runPipeJson(['run', 'p.yaml', '--jobs', '2'], { cwd: ws.dir }),
    ]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    const lines = readFileSync(ws.path('executions.log'), 'utf8').split('\n').filter(Boolean).sort();
    expect(lines).toEqual(['join', 'part', 'part', 'part']);
    const ran = [...a.doc.instances, ...b.doc.instances].filter((i) => i.status === 'ran').map((i) => i.id).sort();
    expect(ran).toEqual(['join', 'part@i=1', 'part@i=2', 'part@i=3']);
    expect(a.doc.instances.every((i) => i.status === 'ran' || i.status === 'cached')).toBe(true);
    expect(b.doc.instances.every((i) => i.status === 'ran' || i.status === 'cached')).toBe(true);
  });
});
