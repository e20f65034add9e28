// `pipe validate FILE`: every problem of a pipeline file, located, with a fix; exit 2 when invalid.
import { EXIT_OK, WORKSPACE_OPTION, guard, openPipelineArg, parse } from '../common.js';

const USAGE = 'usage: pipe validate FILE [--set name=value]... [--workspace DIR]';
const OPTIONS = { ...WORKSPACE_OPTION, set: { type: 'string', multiple: true, short: 's' } } as const;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    const p = await openPipelineArg(positionals, values, USAGE);
    process.stdout.write(`${p.relFile}: ok (${p.stages.length} stages, ${p.instances.length} instances)\n`);
    return EXIT_OK;
  });
}
