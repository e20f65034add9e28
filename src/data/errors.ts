// Data errors are StageErrors: the engine prints message + hint without a stack trace, and library
// callers (training, evaluation, reports) get the same user-facing text.
import { StageError } from '../stage-api.js';

/** Throws a StageError whose message starts with the file (or setting) at fault. */
export function dataError(where: string, problem: string, hint?: string): StageError {
  return new StageError(`${where}: ${problem}`, hint);
}
