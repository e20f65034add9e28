// `pipe metrics diff A B`: metrics that differ between two runs (final step), with the numeric change.
import { diffCommand } from '../diff-command.js';

export const run = (argv: string[]): Promise<number> => diffCommand('metrics', argv);
