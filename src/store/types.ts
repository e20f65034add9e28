// Row types of the results store, as the typed query API returns them.
import type { Json, MetricRow, TagValue } from '../stage-api.js';

export type InstanceStatus = 'ran' | 'cached' | 'failed' | 'skipped';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface RunRow {
  readonly id: number;
  readonly pipeline: string;
  readonly argv: string[];
  readonly params: Json;
  readonly pid: number;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly finishedAt: number | null;
}

export interface RunInstanceRow {
  readonly runId: number;
  readonly instanceId: string;
  readonly stage: string;
  readonly key: string | null;
  readonly status: InstanceStatus;
  readonly startedAt: number | null;
  readonly durationMs: number | null;
  /** Ran: CPU time (user + system, ms) and peak RSS (KiB) of the attempt; null where not measured. */
  readonly cpuMs?: number | null;
  readonly peakRssKb?: number | null;
  readonly logPath: string | null;
  readonly error: string | null;
  /** Attempts of an executed instance (ran or failed; `retry:`); absent for cached and skipped ones. */
  readonly attempts?: number;
  /** `local` or `slurm` for instances that executed (ran or failed in a stage); null otherwise. */
  readonly executor?: string | null;
  /** The Slurm job id (`123`, or `123_4` for an array task) of a slurm-executed instance. */
  readonly jobId?: string | null;
}

/** A cluster job in flight for a stage key (see the `jobs` table). */
export interface JobRow {
  readonly key: string;
  readonly jobId: string;
  readonly dir: string;
  readonly instanceId: string;
  readonly runId: number;
  readonly submittedAt: number;
}

export interface ArtifactRow {
  readonly name: string;
  /** Relative to the workspace. */
  readonly path: string;
  readonly hash: string;
}

/** One committed file of a store entry, as recorded at commit. */
export interface FileRecord {
  /** Relative to the entry (runs/store/<key>/). */
  readonly path: string;
  readonly size: number;
  readonly mtimeNs: string;
  readonly sha256: string;
}

export interface CommittedInstance {
  readonly key: string;
  readonly stage: string;
  readonly instanceId: string;
  readonly components: Json;
  readonly runId: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly durationMs: number;
  /** CPU time (user + system, ms) and peak RSS (KiB) of the attempt; null where not measured. */
  readonly cpuMs?: number | null;
  readonly peakRssKb?: number | null;
  readonly logPath: string | null;
  readonly artifacts: ArtifactRow[];
}

/** A metric row as stored: the stage's row plus where it came from. */
export interface StoredMetric extends MetricRow {
  readonly runId: number;
  readonly instanceId: string;
  readonly stageKey: string;
  readonly step: number | null;
  readonly tags: Readonly<Record<string, TagValue>>;
}

/** A metric column: a name and its tags, as stored (JSON text, so equal tags compare as text in SQL). */
export interface MetricColumn {
  readonly name: string;
  readonly tags: string;
}

/** The value of one column in one stage key's results, at the chosen step. */
export interface MetricCell extends MetricColumn {
  readonly key: string;
  readonly value: number | null;
}

export interface MetricPoint extends MetricCell {
  readonly step: number;
}

/** Which row of a column a cell takes (see Store.metricCells). */
export type CellChoice = { readonly kind: 'final' } | { readonly kind: 'best'; readonly lower: readonly string[] } | { readonly kind: 'at'; readonly step: number };

export interface HashCacheRow {
  readonly path: string;
  readonly kind: 'file' | 'dir';
  readonly ino: string;
  readonly size: number;
  readonly mtimeNs: string;
  readonly sig: string | null;
  readonly hash: string;
}
