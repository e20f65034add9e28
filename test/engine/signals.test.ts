// Ctrl-C (SIGINT) and SIGTERM of `pipe run`: the running stage is stopped, nothing else starts, the run
// is recorded as interrupted, finished results stay, and a second signal exits at once (killing the stages).
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { pidAlive } from '../../src/store/index.js';
import { byStatus, PIPE_BIN, runPipe, tempWorkspace, type RunDoc, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
const orphans: number[] = [];
afterEach(() => {
  for (const pid of orphans.splice(0)) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  ws?.cleanup();
});

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 60_000; !cond(); await sleep(50)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

/**
 * `first` finishes; `slow` writes its pid once its TERM handler is installed and loops until stopped;
 * `after` needs it; `queued` is independent but waits for the single job slot.
 * `onTerm` is the shell's TERM trap: record and exit, or ignore the signal.
 */
function pipeline(onTerm: string): string {
  return `stages:
  first:
    run: [sh, -c, 'echo first > "$1"', sh, "\${outs.o}"]
    outs: { o: o.txt }
  slow:
    needs: [first]
    run: [sh, -c, 'trap "${onTerm}" TERM; echo $$ > slow.pid; while :; do sleep 0.1; done']
    outs: { o: o.txt }
  after:
    run: [sh, -c, 'echo after > "$2"', sh, "\${stages.slow.outputs.o}", "\${outs.o}"]
    outs: { o: o.txt }
  queued:
    needs: [first]
    run: [sh, -c, 'echo queued > "$1"', sh, "\${outs.o}"]
    outs: { o: o.txt }
`;
}

/** Starts `pipe run --jobs 1 --json` and waits until `slow` is running; returns the child and the stage's pid. */
async function startSlow(onTerm: string) {
  ws = tempWorkspace('pipe-signals-');
  ws.write('p.yaml', pipeline(onTerm));
  // One job slot: first, then slow; queued would start only after slow.
  const child = execa(process.execPath, [PIPE_BIN, 'run', 'p.yaml', '--jobs', '1', '--json'], { cwd: ws.dir, reject: false, env: { CI: '1' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(() => existsSync(ws.path('slow.pid')) && readFileSync(ws.path('slow.pid'), 'utf8').endsWith('\n'), 'the slow stage');
  const stagePid = Number(readFileSync(ws.path('slow.pid'), 'utf8'));
  orphans.push(stagePid);
  return { child, stagePid, stderr: () => stderr };
}

describe('pipe run under a signal', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s stops the running stage, starts nothing more, records the run as interrupted', async (sig) => {
    const { child, stagePid } = await startSlow('echo stopped > stopped.txt; exit 143');
    child.kill(sig);
    const r = await child;
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`pipe: ${sig}: stopping running stages`);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.status).toBe('interrupted');
    // The stage got its TERM (its trap ran) and is gone; whatever had not started was not started.
    expect(readFileSync(ws.path('stopped.txt'), 'utf8')).toBe('stopped\n');
    await waitFor(() => !pidAlive(stagePid), 'the stage to be gone');
    expect(byStatus(doc).ran).toEqual(['first']);
    expect(doc.instances.filter((i) => i.status === 'skipped').map((i) => [i.id, i.reason]).sort()).toEqual([
      ['after', 'upstream slow was skipped'],
      ['queued', 'interrupted'],
      ['slow', 'interrupted'],
    ]);

    // The store says so too, and the next run resumes: `first` restored, the rest run.
    const runs = JSON.parse((await runPipe(['runs', '--json'], { cwd: ws.dir })).stdout) as { id: number; status: string }[];
    expect(runs.map((x) => [x.id, x.status])).toEqual([[1, 'interrupted']]);
    ws.write('p.yaml', pipeline('exit 143').replace('while :; do sleep 0.1; done', 'echo slow > "$PIPE_OUT_DIR/o.txt"'));
    const again = await runPipe(['run', 'p.yaml', '--json'], { cwd: ws.dir });
    expect(byStatus(JSON.parse(again.stdout) as RunDoc)).toEqual({ cached: ['first'], ran: ['after', 'queued', 'slow'] });
  });

  it('a second signal exits at once, without waiting for a stage that ignores the first, and kills it', async () => {
    const { child, stagePid, stderr } = await startSlow('');
    child.kill('SIGINT');
    // The first signal was handled (the message is written before the stage is told to stop)...
    await waitFor(() => stderr().includes('stopping running stages'), 'the first signal to be handled');
    child.kill('SIGTERM');
    const r = await child;
    // ...and the second one exits with 130 at once: had pipe waited for the stage (which ignores TERM until
    // the SIGKILL after the grace period), the run would have ended normally, interrupted, with exit 1.
    expect(r.exitCode).toBe(130);
    expect(r.stdout).toBe('');
    // Nothing is left running: the stage's process group is killed as pipe exits.
    await waitFor(() => !pidAlive(stagePid), 'the stage to be killed');
    const runs = JSON.parse((await runPipe(['runs', '--json'], { cwd: ws.dir })).stdout) as { id: number; status: string }[];
    expect(runs.map((x) => [x.id, x.status])).toEqual([[1, 'interrupted']]);
  });
});
