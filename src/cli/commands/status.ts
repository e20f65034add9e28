// `pipe status FILE`: which instances are up to date, and why the others are not.
import { EXIT_OK, WORKSPACE_OPTION, guard, openPipelineArg, parse } from '../common.js';

const USAGE = 'usage: pipe status FILE [--set name=value]... [--verify] [--json] [--workspace DIR]';
const OPTIONS = { ...WORKSPACE_OPTION, set: { type: 'string', multiple: true, short: 's' }, verify: { type: 'boolean' }, json: { type: 'boolean' } } as const;

const LABEL = { 'up-to-date': 'up to date', stale: 'stale', new: 'new', pending: 'pending', corrupt: 'corrupt', error: 'error' } as const;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    const p = await openPipelineArg(positionals, values, USAGE);
    const { pipelineStatus } = await import('../../engine/status.js');
    const states = await pipelineStatus(p, { verify: !!values.verify });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ pipeline: p.relFile, instances: states }, null, 2)}\n`);
      return EXIT_OK;
    }
    const lines: string[] = [];
    for (const s of states) {
      lines.push(`${LABEL[s.state].padEnd(11)} ${s.id}${s.reason ? `  (${s.reason})` : ''}`);
      for (const c of s.changes) lines.push(`              ${c.what.padEnd(6)} ${c.field}: ${c.old ?? '(none)'} -> ${c.new ?? '(none)'}`);
    }
    const n = (st: string) => states.filter((s) => s.state === st).length;
    lines.push(`${n('up-to-date')} up to date, ${n('stale')} stale, ${n('new')} new, ${n('pending')} pending${n('corrupt') ? `, ${n('corrupt')} corrupt (pipe run moves them aside and rebuilds them)` : ''}${n('error') ? `, ${n('error')} with errors` : ''}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT_OK;
  });
}
