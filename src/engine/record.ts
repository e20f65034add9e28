// What happened to each instance: reported to the Reporter and recorded in the run's history rows.
// Cache hits and skips are batched (one transaction, not one fsync per instance); failures are written
// at once, successes by the commit transaction itself (see commit.ts).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Instance } from '../pipeline/types.js';
import type { RunInstanceRow, Store } from '../store/index.js';
import type { Artifact } from './keys.js';
import type { Reporter } from './progress.js';
import type { InstanceResult } from './results.js';
import type { Usage } from './usage.js';

export interface Outcome {
  readonly result: InstanceResult;
  /** Present when the instance's outputs exist (ran or cached). */
  readonly artifacts?: ReadonlyMap<string, Artifact>;
}

const TAIL_LINES = 20;

function logTail(path: string): string[] {
  try {
    const lines = readFileSync(path, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-TAIL_LINES);
  } catch {
    return [];
  }
}

function outputsOf(arts: ReadonlyMap<string, Artifact>): Record<string, string> {
  return Object.fromEntries([...arts].map(([n, a]) => [n, a.path]));
}

export class Recorder {
  private readonly pending: RunInstanceRow[] = [];

  constructor(
    private readonly store: Store,
    private readonly reporter: Reporter,
    private readonly workspace: string,
    /** null for a dry run: nothing is recorded. */
    private readonly runId: number | null,
    /** Recorded with failed attempts, as commit.ts records it with successful ones. */
    private readonly executor: string,
    private readonly jobIds: ReadonlyMap<string, string>,
  ) {}

  /** Writes the batched cache hits and skips so far. */
  flush(): void {
    if (this.runId !== null) this.store.recordRunInstances(this.pending.splice(0));
  }

  finish(r: InstanceResult, artifacts?: ReadonlyMap<string, Artifact>): Outcome {
    this.reporter.finished(r);
    return artifacts ? { result: r, artifacts } : { result: r };
  }

  skipped(inst: Instance, reason: string, extra: Partial<InstanceResult> = {}): Outcome {
    const r: InstanceResult = { id: inst.id, status: 'skipped', duration_ms: 0, key: null, reason, ...extra };
    if (this.runId !== null && !r.would_run)
      this.pending.push({ runId: this.runId, instanceId: inst.id, stage: inst.stage.name, key: r.key, status: 'skipped', startedAt: null, durationMs: 0, logPath: null, error: reason });
    return this.finish(r);
  }

  cached(inst: Instance, key: string, arts: ReadonlyMap<string, Artifact>): Outcome {
    if (this.runId !== null)
      this.pending.push({ runId: this.runId, instanceId: inst.id, stage: inst.stage.name, key, status: 'cached', startedAt: null, durationMs: 0, logPath: null, error: null });
    return this.finish({ id: inst.id, status: 'cached', duration_ms: 0, key, outputs: outputsOf(arts) }, arts);
  }

  /** A committed attempt (its history row was written by the commit transaction). */
  ran(inst: Instance, key: string, ms: number, relLog: string, arts: ReadonlyMap<string, Artifact>, attempts = 1, corrupt?: string, usage?: Usage | null): Outcome {
    const used = usage ? { cpu_ms: usage.cpuMs, peak_rss_kb: usage.peakRssKb } : {};
    return this.finish({ id: inst.id, status: 'ran', duration_ms: ms, ...used, key, log: relLog, ...(corrupt ? { corrupt } : {}), outputs: outputsOf(arts), ...(attempts > 1 ? { attempts } : {}) }, arts);
  }

  failed(inst: Instance, key: string | null, ms: number, error: string, hint?: string, log?: string, attempts?: number): Outcome {
    const r: InstanceResult = {
      id: inst.id,
      status: 'failed',
      duration_ms: ms,
      key,
      error,
      ...(hint ? { hint } : {}),
      ...(log ? { log: relative(this.workspace, log), log_tail: logTail(log) } : {}),
      ...(attempts !== undefined && attempts > 1 ? { attempts } : {}),
    };
    if (this.runId !== null)
      this.store.recordRunInstance({ runId: this.runId, instanceId: inst.id, stage: inst.stage.name, key, status: 'failed', startedAt: Date.now() - ms, durationMs: ms, logPath: r.log ?? null, error, ...(attempts !== undefined ? { attempts } : {}), ...(key ? { executor: this.executor, jobId: this.jobIds.get(inst.id) ?? null } : {}) });
    return this.finish(r);
  }
}
