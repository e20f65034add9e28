// `pipe exec-instance REQUEST.json` (internal): what a Slurm job runs for a built-in stage. See
// src/engine/slurm/worker.ts.
import { UsageError } from '../../engine/errors.js';
import { guard, parse } from '../common.js';

const USAGE = `usage: pipe exec-instance REQUEST.json

Internal: what a Slurm job runs for a built-in stage (pipe run --executor slurm writes the request).`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { positionals } = parse(argv, {}, USAGE);
    if (positionals.length !== 1) throw new UsageError("expected the job's request.json", 'pipe run --executor slurm writes it; this command is not meant to be typed');
    // The worker (the engine, the stage kinds) loads after the arguments check: `--help` stays cheap.
    const { execInstance } = await import('../../engine/slurm/worker.js');
    return execInstance(positionals[0]);
  });
}
