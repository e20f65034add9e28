// Progress reporting: a live view on a terminal (running stages with their own progress messages,
// counts, rate and ETA), plain one-line-per-event records otherwise (CI, pipes, --json).
import type { Progress } from '../stage-api.js';
import type { InstanceResult, RunResult } from './results.js';
import { describeReindex, type ReindexReport } from './reindex.js';

export interface Reporter {
  begin(info: { runId: number | null; pipeline: string; total: number; dryRun: boolean }): void;
  started(id: string): void;
  progress(id: string, p: Progress): void;
  waiting(id: string, why: string): void;
  /** The store entry of an instance's result was found damaged: moved aside, the instance is rebuilt. */
  corrupt(id: string, problem: string, movedTo: string): void;
  /** The database was new beside a non-empty store: the store was indexed before the run (reindex.ts). */
  reindexed?(r: ReindexReport): void;
  /** A stage's log line (only with --verbose). */
  log(id: string, line: string): void;
  /** Every line a running stage writes to its log, where the view shows it (the terminal: the last one). */
  output?(id: string, line: string): void;
  finished(r: InstanceResult): void;
  end(r: RunResult): void;
}

function fmtMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function fmtProgress(p: Progress): string {
  // A bare status message (e.g. the Slurm job id of a queued instance) has nothing to count yet.
  if (p.done === 0 && p.total === undefined && p.unit === undefined && p.message) return p.message;
  const count = p.total ? `${p.done}/${p.total}` : `${p.done}`;
  return `${count}${p.unit ? ` ${p.unit}` : ''}${p.message ? ` ${p.message}` : ''}`;
}

function failureLines(r: InstanceResult): string[] {
  const out = [`  error: ${r.error ?? 'failed'}`];
  if (r.hint) out.push(`  hint: ${r.hint}`);
  if (r.log) out.push(`  log: ${r.log}`);
  for (const l of r.log_tail ?? []) out.push(`  | ${l}`);
  return out;
}

function summary(r: RunResult, dryRun: boolean): string {
  const n = (s: string) => r.instances.filter((i) => i.status === s).length;
  const wouldRun = r.instances.filter((i) => i.would_run).length;
  return dryRun
    ? `dry run: ${wouldRun} would run, ${n('cached')} up to date`
    : `${r.status}${r.run !== null ? ` (run ${r.run})` : ''}: ${n('ran')} ran, ${n('cached')} cached, ${n('failed')} failed, ${n('skipped')} skipped`;
}

/** One line per event, e.g. `ran     train@seed=1  2.3s  key=1f3a9c2e`; progress at most every 5 s per stage. */
export class PlainReporter implements Reporter {
  private lastProgress = new Map<string, number>();
  private dryRun = false;
  constructor(private readonly write: (s: string) => void) {}
  begin(info: { runId: number | null; pipeline: string; total: number; dryRun: boolean }): void {
    this.dryRun = info.dryRun;
    this.write(`pipe: ${info.dryRun ? 'dry run of' : `run ${info.runId} of`} ${info.pipeline}: ${info.total} instances\n`);
  }
  started(id: string): void {
    this.write(`start   ${id}\n`);
  }
  progress(id: string, p: Progress): void {
    const now = Date.now();
    if (now - (this.lastProgress.get(id) ?? 0) < 5000 && p.done !== p.total) return;
    this.lastProgress.set(id, now);
    this.write(`progress ${id} ${fmtProgress(p)}\n`);
  }
  waiting(id: string, why: string): void {
    this.write(`wait    ${id}: ${why}\n`);
  }
  corrupt(id: string, problem: string, movedTo: string): void {
    this.write(`corrupt ${id}: ${problem}; moved to ${movedTo}, rebuilding\n`);
  }
  reindexed(r: ReindexReport): void {
    for (const line of describeReindex(r, 'a new database')) this.write(`${line}\n`);
  }
  log(id: string, line: string): void {
    this.write(`log     ${id}: ${line}\n`);
  }
  finished(r: InstanceResult): void {
    const label = r.would_run ? 'would run' : r.status;
    if (r.status === 'cached' && !this.dryRun) return; // hits are summarised at the end
    const tail = r.status === 'skipped' && r.reason ? `  (${r.reason})` : r.key ? `  key=${r.key.slice(0, 12)}` : '';
    this.write(`${label.padEnd(7)} ${r.id}${r.status === 'ran' || r.status === 'failed' ? `  ${fmtMs(r.duration_ms)}` : ''}${r.attempts ? `  (${r.attempts} attempts)` : ''}${tail}\n`);
    if (r.status === 'failed') this.write(failureLines(r).join('\n') + '\n');
  }
  end(r: RunResult): void {
    this.write(`${summary(r, this.dryRun)}\n`);
  }
}

interface Live {
  readonly id: string;
  readonly since: number;
  progress?: Progress;
  firstProgress?: { at: number; done: number };
  /** The last line the stage wrote to its log. */
  lastLine?: string;
}

/** Redraws a block of running stages below the scrolling log of finished ones. */
export class TtyReporter implements Reporter {
  private readonly live = new Map<string, Live>();
  private total = 0;
  private done = 0;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private dryRun = false;
  private started_ = Date.now();
  /** Durations of executed (not cached) instances, for the run's ETA. */
  private ranMs: number[] = [];
  constructor(private readonly out: NodeJS.WriteStream) {}

  begin(info: { runId: number | null; pipeline: string; total: number; dryRun: boolean }): void {
    this.total = info.total;
    this.dryRun = info.dryRun;
    this.started_ = Date.now();
    this.print(`pipe: ${info.dryRun ? 'dry run of' : `run ${info.runId} of`} ${info.pipeline}: ${info.total} instances`);
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
  }
  started(id: string): void {
    this.live.set(id, { id, since: Date.now() });
  }
  progress(id: string, p: Progress): void {
    const l = this.live.get(id);
    if (!l) return;
    l.progress = p;
    l.firstProgress ??= { at: Date.now(), done: p.done };
  }
  waiting(id: string, why: string): void {
    this.print(`\x1b[33mwait\x1b[0m    ${id}: ${why}`);
  }
  corrupt(id: string, problem: string, movedTo: string): void {
    this.print(`\x1b[31mcorrupt\x1b[0m ${id}: ${problem}; moved to ${movedTo}, rebuilding`);
  }
  reindexed(r: ReindexReport): void {
    for (const line of describeReindex(r, 'a new database')) this.print(line);
  }
  output(id: string, line: string): void {
    const l = this.live.get(id);
    // Control characters (colours, \r progress bars) would break the redrawn block.
    if (l && line.trim()) l.lastLine = line.replace(/\x1b\[[0-9;]*[A-Za-z]|[\x00-\x1f\x7f]/g, '').trim();
  }
  log(id: string, line: string): void {
    this.print(`\x1b[90m${id}:\x1b[0m ${line}`);
  }
  finished(r: InstanceResult): void {
    this.live.delete(r.id);
    this.done++;
    if (r.status === 'ran') this.ranMs.push(r.duration_ms);
    if (r.status === 'cached' && !this.dryRun) return;
    const color = r.status === 'ran' ? '32' : r.status === 'failed' ? '31' : '90';
    const label = r.would_run ? 'would run' : r.status;
    const extra = r.status === 'skipped' && r.reason ? `  (${r.reason})` : r.status === 'ran' || r.status === 'failed' ? `  ${fmtMs(r.duration_ms)}` : '';
    this.print(`\x1b[${color}m${label.padEnd(7)}\x1b[0m ${r.id}${extra}`);
    if (r.status === 'failed') for (const l of failureLines(r)) this.print(l);
  }
  end(r: RunResult): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
    this.out.write(`${summary(r, this.dryRun)}\n`);
  }

  private print(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.draw();
  }
  private clear(): void {
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }
  private draw(): void {
    this.clear();
    const now = Date.now();
    const width = this.out.columns || 100;
    const lines = [...this.live.values()].slice(0, 12).map((l) => {
      let s = `  \x1b[36m⠿\x1b[0m ${l.id}  ${fmtMs(now - l.since)}`;
      const p = l.progress;
      if (p) {
        s += `  ${fmtProgress(p)}`;
        const f = l.firstProgress;
        if (f && p.total && p.done > f.done && now > f.at) {
          const rate = (p.done - f.done) / ((now - f.at) / 1000);
          s += `  ${rate.toFixed(rate < 10 ? 1 : 0)}/s  ETA ${fmtMs(Math.round(((p.total - p.done) / rate) * 1000))}`;
        }
      }
      if (l.lastLine) s += `  › ${l.lastLine}`;
      return s.slice(0, width + 9);
    });
    let eta = '';
    if (this.ranMs.length && this.live.size) {
      // Rough: the mean duration of executed instances, over the current parallelism.
      const mean = this.ranMs.reduce((a, b) => a + b, 0) / this.ranMs.length;
      eta = `, ETA ~${fmtMs(Math.round((mean * (this.total - this.done)) / this.live.size))}`;
    }
    lines.push(`  ${this.done}/${this.total} done, ${this.live.size} running, ${fmtMs(now - this.started_)}${eta}`);
    this.out.write(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }
}

/** Reports nothing (the programmatic API's default). */
export const silentReporter: Reporter = {
  begin() {},
  started() {},
  progress() {},
  waiting() {},
  corrupt() {},
  log() {},
  finished() {},
  end() {},
};
