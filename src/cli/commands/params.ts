// `pipe params diff A B`: params that differ between two runs, with the numeric change.
import { diffCommand } from '../diff-command.js';

export const run = (argv: string[]): Promise<number> => diffCommand('params', argv);
