// Orphans after the runner dies: a command stage runs in its own process group, the lock records the
// runner (host, pid, start time) and the group, and the run that takes the lock over ends the group first.
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { PIPE_BIN, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

/** Waits until `cond` holds (a condition that throws, e.g. on a file not written yet, does not hold). */
async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  const holds = (): boolean => {
    try {
      return cond();
    } catch {
      return false;
    }
  };
  while (!holds()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(50);
  }
}

/** Running, and not a zombie nobody reaped. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

// Restarts its work file in the resume dir, appends 100 lines tagged with its pid (slowly while the file
// \`hold\` exists), then copies the work file to its output: two live attempts would interleave lines.
const SLOW = `const fs=require('fs'); const w=process.env.PIPE_RESUME_DIR+'/work.txt';
fs.writeFileSync('attempt.'+process.pid, ''); fs.writeFileSync(w, '');
for (let i=0;i<100;i++){ fs.appendFileSync(w, process.pid+' '+i+'\\\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,fs.existsSync('hold')?300:20); }
fs.copyFileSync(w, process.argv[1]);`;

const PIPELINE = `stages:
  slow:
    run: [node, -e, "${SLOW.replace(/\n/g, ' ')}", "\${outs.o}"]
    outs: { o: out.txt }
`;

const attempts = (): number[] =>
  readdirSync(ws.dir)
    .filter((n) => n.startsWith('attempt.'))
    .map((n) => Number(n.slice('attempt.'.length)));

describe('orphans after the runner dies', () => {
  it('SIGKILL of pipe run mid-command: the re-run ends the orphan first; the output holds one attempt', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    ws.write('hold', '');
    const child = execa(process.execPath, [PIPE_BIN, 'run', 'p.yaml'], { cwd: ws.dir, reject: false, env: { CI: '1' } });
    await waitFor(() => attempts().length === 1 && readdirSync(ws.path('runs/partial')).length === 1);
    const [orphan] = attempts();
    await waitFor(() => readFileSync(ws.path(`runs/partial/${readdirSync(ws.path('runs/partial'))[0]}/work.txt`), 'utf8').split('\n').length > 3);
    child.kill('SIGKILL');
    await child;
    expect(running(orphan)).toBe(true); // the command outlived its runner

    const rerun = runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    await waitFor(() => attempts().length === 2);
    rmSync(ws.path('hold'));
    const r = await rerun;
    expect(r.exitCode).toBe(0);
    expect(running(orphan)).toBe(false);
    const lines = readFileSync(r.doc.instances[0].outputs!.o, 'utf8').split('\n').filter(Boolean);
    const pids = new Set(lines.map((l) => l.split(' ')[0]));
    expect(pids.size).toBe(1);
    expect(lines).toHaveLength(100);
    expect(existsSync(ws.path('runs/partial'))).toBe(true);
    expect(readdirSync(ws.path('runs/partial'))).toHaveLength(0);
  });

  it('a lock whose pid now belongs to another process (start time differs) is stale, not waited on', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `stages:\n  a:\n    run: [node, -e, "require('fs').writeFileSync(process.argv[1], 'a')", "\${outs.o}"]\n    outs: { o: a.txt }\n`);
    const dry = await runPipeJson(['run', 'p.yaml', '--dry-run'], { cwd: ws.dir });
    const key = dry.doc.instances[0].key!;
    // A live process that is not a pipe runner holds the pid recorded in the lock.
    const other = execa('sleep', ['60'], { reject: false });
    try {
      const db = new Database(ws.path('runs/pipe.db'));
      db.prepare(`INSERT INTO locks (key, pid, instance_id, acquired_at, host, started, pgid) VALUES (?, ?, 'a', 0, ?, '1', NULL)`).run(key, other.pid, hostname());
      db.close();
      const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
      expect(r.exitCode).toBe(0);
      expect(r.doc.instances[0].status).toBe('ran');
      expect(running(other.pid!)).toBe(true); // not the recorded runner's group: left alone
    } finally {
      other.kill('SIGKILL');
      await other;
    }
  });
});
