// Errors of the programmatic API that the CLI turns into messages and exit codes. Kept apart from
// engine/index.ts so catching them does not load the runner (and its executors) into every command.
import { formatDiagnostic } from '../pipeline/diagnostic.js';
import type { Diagnostic } from '../pipeline/types.js';

export { UsageError } from './select.js';

/** The pipeline file is invalid: every problem, located. */
export class PipelineInvalidError extends Error {
  override readonly name = 'PipelineInvalidError';
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
  }
}
