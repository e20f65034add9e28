// `pipe runs`: the run history of the workspace, newest first.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Layout } from '../../engine/layout.js';
import { openStore } from '../../store/index.js';
import { EXIT_OK, WORKSPACE_OPTION, guard, parse, workspaceOf } from '../common.js';

const USAGE = 'usage: pipe runs [--limit N] [--json] [--workspace DIR] [--db PATH]';
const OPTIONS = { ...WORKSPACE_OPTION, db: { type: 'string' }, limit: { type: 'string', short: 'n' }, json: { type: 'boolean' } } as const;

export function fmtTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

export function fmtDuration(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${ms}ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** A peak RSS in KiB, as `212MB` or `1.6GB` (`-`: not measured). */
export function fmtMemory(kb: number | null | undefined): string {
  if (kb === null || kb === undefined) return '-';
  const mb = kb / 1024;
  return mb < 1024 ? `${Math.round(mb)}MB` : `${(mb / 1024).toFixed(1)}GB`;
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values } = parse(argv, OPTIONS, USAGE);
    const layout = new Layout(workspaceOf(values), values.db === undefined ? undefined : resolve(values.db));
    if (!existsSync(layout.db)) {
      process.stdout.write(values.json ? '[]\n' : 'no runs yet\n');
      return EXIT_OK;
    }
    const store = openStore(layout.db);
    try {
      const limit = Number(values.limit ?? 20);
      const runs = store.listRuns(limit);
      const counts = store.runCounts(limit);
      if (values.json) {
        process.stdout.write(`${JSON.stringify(runs.map((r) => ({ ...r, counts: counts.get(r.id) ?? {} })), null, 2)}\n`);
        return EXIT_OK;
      }
      const lines = ['RUN   STARTED              DURATION  STATUS       RAN  CACHED  FAILED  PIPELINE'];
      for (const r of runs) {
        const c = counts.get(r.id) ?? {};
        lines.push(
          `${String(r.id).padEnd(5)} ${fmtTime(r.startedAt)}  ${fmtDuration(r.finishedAt === null ? null : r.finishedAt - r.startedAt).padEnd(8)}  ${r.status.padEnd(11)}  ${String(c.ran ?? 0).padStart(3)}  ${String(c.cached ?? 0).padStart(6)}  ${String(c.failed ?? 0).padStart(6)}  ${r.pipeline}${r.argv.includes('--set') ? `  ${r.argv.filter((_, i) => r.argv[i - 1] === '--set').join(' ')}` : ''}`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      return EXIT_OK;
    } finally {
      store.close();
    }
  });
}
