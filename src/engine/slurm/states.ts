// Slurm job states -> what the controller does with the instance. The job's own result file says whether
// the stage succeeded; the Slurm state says why a job that wrote none ended (killed, out of time, lost).

export type Phase =
  /** Still queued or running: keep polling. */
  | { readonly phase: 'active' }
  /** Ended normally: the result file decides. */
  | { readonly phase: 'ended' }
  /** Lost through no fault of the stage (node died, preempted): submit again (bounded). */
  | { readonly phase: 'retry'; readonly why: string }
  /** Ended by Slurm or a person: the instance fails with this message and hint. */
  | { readonly phase: 'failed'; readonly error: string; readonly hint?: string };

const ACTIVE = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'RESIZING',
  'SUSPENDED',
  'STAGE_OUT',
  'SIGNALING',
  'STOPPED',
  'RESV_DEL_HOLD',
  'SPECIAL_EXIT',
]);

/** `time` is the job's --time as submitted, for the message. */
export function phaseOf(state: string, time?: string): Phase {
  if (ACTIVE.has(state)) return { phase: 'active' };
  switch (state) {
    case 'COMPLETED':
    case 'FAILED':
      // FAILED: a non-zero exit; the result file (or the log) has the stage's own error.
      return { phase: 'ended' };
    case 'NODE_FAIL':
      return { phase: 'retry', why: 'its node failed' };
    case 'PREEMPTED':
      return { phase: 'retry', why: 'it was preempted' };
    case 'BOOT_FAIL':
      return { phase: 'retry', why: 'its node failed to boot' };
    case 'TIMEOUT':
      return {
        phase: 'failed',
        error: `Slurm job exceeded its time limit${time ? ` (--time=${time})` : ''}`,
        hint: 'raise the stage\'s timeout_s or slurm: { time: ... }',
      };
    case 'DEADLINE':
      return { phase: 'failed', error: 'Slurm job reached its deadline before it ran', hint: 'remove --deadline from slurm: { extra: [...] }' };
    case 'OUT_OF_MEMORY':
      return { phase: 'failed', error: 'Slurm job ran out of memory (killed by the OOM handler)', hint: 'raise the stage\'s resources: { memory_mb: ... } (--mem)' };
    case 'CANCELLED':
      return { phase: 'failed', error: 'Slurm job was cancelled from outside pipe (scancel or an administrator)', hint: 'run again to resubmit it' };
    default:
      return { phase: 'failed', error: `Slurm job ended in state ${state}` };
  }
}
