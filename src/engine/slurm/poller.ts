// Waits for many Slurm jobs. A job's result file (written last, atomically) is the fast signal: the
// files are stat-ed every half second, which costs the scheduler nothing. Slurm itself is asked with one
// `squeue` call per round for all jobs (plus one `sacct` for those squeue has forgotten, when accounting
// is on), to learn of jobs that end without a result (time limit, OOM, scancel, lost node). That interval
// adapts: short right after a submission or a finished job, then growing while nothing changes, so a long
// training job costs a call every 30 s, not every second. A query error is not a failure: the round is
// repeated later (slurmctld restarts happen).
import { existsSync } from 'node:fs';
import { accounting, accountingEnabled, queue, type JobState } from './client.js';
import { phaseOf } from './states.js';

/** How a job ended, as the poller saw it. */
export type Ended =
  /** Slurm's final state (COMPLETED, FAILED, TIMEOUT, ...). */
  | { readonly state: string }
  /** Not listed by Slurm any more, but its result file exists (ended before MinJobAge or accounting). */
  | { readonly state: 'ENDED' }
  /** Neither listed nor a result file for several rounds. */
  | { readonly state: 'VANISHED' }
  /** The run was interrupted; the job was cancelled by us. */
  | { readonly state: 'INTERRUPTED' };

const FILE_MS = 500;
const MIN_MS = 1000;
const MAX_MS = 30_000;
/** Rounds a job may be missing from squeue before it counts as vanished (squeue can lag a submission). */
const MISSING_ROUNDS = 3;

interface Waiter {
  readonly result: string;
  readonly done: (e: Ended) => void;
  missing: number;
}

export class Poller {
  private readonly waiters = new Map<string, Waiter>();
  private interval = MIN_MS;
  private timer: NodeJS.Timeout | undefined;
  private fileTimer: NodeJS.Timeout | undefined;
  private busy = false;
  private accountingOn: Promise<boolean> | undefined;

  /** Resolves when job `id` has ended; `result` is the path of its result file. */
  wait(id: string, result: string): Promise<Ended> {
    return new Promise((done) => {
      this.waiters.set(id, { result, done, missing: 0 });
      this.soon();
      this.fileTimer ??= setInterval(() => this.checkFiles(), FILE_MS);
    });
  }

  private checkFiles(): void {
    for (const [id, w] of [...this.waiters])
      if (existsSync(w.result)) {
        this.waiters.delete(id);
        w.done({ state: 'ENDED' });
      }
    if (!this.waiters.size) this.stopFiles();
  }

  private stopFiles(): void {
    if (this.fileTimer) clearInterval(this.fileTimer);
    this.fileTimer = undefined;
  }

  /** Something changed (a submission): poll at the short interval again. */
  soon(): void {
    this.interval = MIN_MS;
    if (this.timer) clearTimeout(this.timer);
    this.schedule();
  }

  /** Ends every wait (the run was interrupted). */
  interruptAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.stopFiles();
    for (const w of this.waiters.values()) w.done({ state: 'INTERRUPTED' });
    this.waiters.clear();
  }

  liveIds(): string[] {
    return [...this.waiters.keys()];
  }

  private schedule(): void {
    if (this.busy || !this.waiters.size) return;
    this.timer = setTimeout(() => void this.round(), this.interval);
  }

  private async round(): Promise<void> {
    this.timer = undefined;
    this.busy = true;
    let ended = 0;
    try {
      const listed = await this.states();
      for (const [id, w] of [...this.waiters]) {
        const e = this.judge(listed.get(id), w);
        if (!e) continue;
        this.waiters.delete(id);
        w.done(e);
        ended++;
      }
    } catch {
      // squeue/sacct unreachable this round: keep every job waiting and try again later.
    } finally {
      this.busy = false;
    }
    this.interval = ended ? MIN_MS : Math.min(MAX_MS, Math.round(this.interval * 1.5));
    this.schedule();
  }

  private async states(): Promise<Map<string, JobState>> {
    const listed = await queue();
    const missing = [...this.waiters.keys()].filter((id) => !listed.has(id));
    if (missing.length && (await (this.accountingOn ??= accountingEnabled())))
      for (const [id, s] of await accounting(missing)) listed.set(id, s);
    return listed;
  }

  private judge(s: JobState | undefined, w: Waiter): Ended | undefined {
    if (s) return phaseOf(s.state).phase === 'active' ? undefined : { state: s.state };
    if (existsSync(w.result)) return { state: 'ENDED' };
    return ++w.missing >= MISSING_ROUNDS ? { state: 'VANISHED' } : undefined;
  }
}
