// What a run reports per instance and overall (also the `--json` document).
import type { PublishedFile } from './publish.js';

export type Outcome = 'ran' | 'cached' | 'failed' | 'skipped';

export interface InstanceResult {
  readonly id: string;
  readonly status: Outcome;
  readonly duration_ms: number;
  /** Ran: the CPU time (user + system) and peak RSS of the attempt, where measured (docs/engine.md, "Resource use"). */
  readonly cpu_ms?: number;
  readonly peak_rss_kb?: number;
  readonly key: string | null;
  /** Skipped: why (upstream failed, not selected, dry run). */
  readonly reason?: string;
  /** `--dry-run`: the instance would run. */
  readonly would_run?: boolean;
  /** Failed: the message, a hint, the log file and its last lines. */
  readonly error?: string;
  readonly hint?: string;
  readonly log?: string;
  readonly log_tail?: string[];
  /** Ran or failed: how many attempts were made (`retry:`). */
  readonly attempts?: number;
  /** Its store entry was found damaged (what changed, and where the entry was moved); it was rebuilt. */
  readonly corrupt?: string;
  /** Output name -> absolute path in the store (ran and cached). */
  readonly outputs?: Readonly<Record<string, string>>;
}

export interface RunResult {
  /** Run id in the store; null for a dry run. */
  readonly run: number | null;
  readonly status: 'succeeded' | 'failed' | 'interrupted';
  readonly instances: readonly InstanceResult[];
  /** The outputs published to workspace paths (`publish:`), and what happened at each. */
  readonly published?: readonly PublishedFile[];
}
