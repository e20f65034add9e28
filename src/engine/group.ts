// Process groups of stage attempts. Every command runs as the leader of its own group (spawned with
// `detached: true`), so the whole tree it starts (shells, `&` children, worker pools) can be ended
// together: on interruption, after the command exits (nothing may still write into its output once
// it is committed), and by the next run when a runner died under SIGKILL (see lock.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { StageError } from '../stage-api.js';
import { groupAlive } from '../store/process.js';

const POLL_MS = 50;
/** SIGTERM first, so a command can flush and exit; SIGKILL after this grace. */
export const GRACE_MS = 5000;
/** A group that survives SIGKILL this long is stuck in the kernel (D state, a hung NFS mount). */
const KILL_WAIT_MS = 30_000;

/** Groups this process started and has not yet seen end; killed on exit (a second Ctrl-C exits at once). */
const live = new Set<number>();
process.on('exit', () => {
  for (const g of live) signalGroup(g, 'SIGKILL');
});

export function trackGroup(pgid: number): void {
  live.add(pgid);
}

export function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // Already gone.
  }
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (groupAlive(pgid)) {
    if (Date.now() > end) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/** Ends every process of the group (SIGTERM, then SIGKILL after `graceMs`) and waits until none is left. */
export async function endGroup(pgid: number, graceMs = GRACE_MS): Promise<void> {
  if (groupAlive(pgid)) {
    signalGroup(pgid, 'SIGTERM');
    if (!(await waitGone(pgid, graceMs))) {
      signalGroup(pgid, 'SIGKILL');
      if (!(await waitGone(pgid, KILL_WAIT_MS)))
        throw new StageError(`process group ${pgid} survives SIGKILL`, `a process is stuck in the kernel: see \`ps -g ${pgid} -o pid,stat,cmd\``);
    }
  }
  live.delete(pgid);
}
