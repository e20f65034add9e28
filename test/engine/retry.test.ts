// retry: and timeout_s: through the real CLI: attempts recorded and shown; a timed-out attempt ends the
// command's whole process group.
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

/** Running (a zombie is not: where PID 1 does not reap, an ended orphan stays one). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('retry and timeout', () => {
  it('retries a failing command until it succeeds; the attempts are recorded and shown', async () => {
    ws = tempWorkspace();
    // Fails twice (counting its attempts in a file outside the output), then succeeds.
    ws.write('p.yaml', `
stages:
  flaky:
    retry: { attempts: 3, delay_s: 0 }
    untracked: [count.txt]
    shell: true
    run: echo x >> count.txt; test $(wc -l < count.txt) -ge 3 && echo ok > \${outs.o}
    outs: { o: o.txt }
  never:
    retry: { attempts: 2 }
    run: [sh, -c, "echo boom; exit 3"]
`);
    const r = await runPipeJson(['run', 'p.yaml', '--keep-going'], { cwd: ws.dir });
    expect(byStatus(r.doc)).toEqual({ failed: ['never'], ran: ['flaky'] });
    const flaky = r.doc.instances.find((i) => i.id === 'flaky')!;
    expect(flaky).toMatchObject({ attempts: 3 });
    expect(readFileSync(flaky.outputs!.o, 'utf8')).toBe('ok\n');
    const never = r.doc.instances.find((i) => i.id === 'never')!;
    expect(never).toMatchObject({ attempts: 2, error: 'command exited with code 3' });
    // One log for all attempts, each attempt's output and the retry note in it.
    const log = readFileSync(ws.path(never.log!), 'utf8');
    expect(log.match(/^boom$/gm)).toHaveLength(2);
    expect(log).toMatch(/\[pipe\] attempt 1 of 2 failed \(command exited with code 3\); retrying in 0 s/);

    const show = await runPipe(['show', String(r.doc.run)], { cwd: ws.dir });
    expect(show.stdout).toMatch(/^ran .* flaky \(3 attempts\)$/m);
    expect(show.stdout).toMatch(/^failed .* never \(2 attempts\)$/m);
    const history = await runPipe(['show', 'flaky'], { cwd: ws.dir });
    expect(history.stdout).toMatch(/ flaky \(3 attempts\)/);
  });

  it('a timed-out attempt ends the process group of the command, children included', async () => {
    ws = tempWorkspace();
    // The command starts a background child that would outlive it, records both pids, then hangs.
    ws.write('p.yaml', `
stages:
  hang:
    timeout_s: 1
    shell: true
    run: sleep 300 & echo $! > \${env.PIDS}/child; echo $$ > \${env.PIDS}/shell; wait
    outs: { o: o.txt }
`);
    const pids = ws.path('pids');
    ws.write('pids/.keep', '');
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir, env: { PIDS: pids } });
    expect(byStatus(r.doc)).toEqual({ failed: ['hang'] });
    expect(r.doc.instances[0]).toMatchObject({ error: 'timed out after 1 s' });
    for (const f of ['child', 'shell']) {
      expect(existsSync(`${pids}/${f}`)).toBe(true);
      expect(alive(Number(readFileSync(`${pids}/${f}`, 'utf8')))).toBe(false);
    }
  });
});
