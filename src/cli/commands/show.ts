// `pipe show RUN|INSTANCE|STAGE`: one run (params, instances, logs) or one instance's history (keys,
// outputs, what its key is made of).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Layout } from '../../engine/layout.js';
import { UsageError } from '../../engine/errors.js';
import { openStore } from '../../store/index.js';
import { EXIT_OK, WORKSPACE_OPTION, guard, parse, workspaceOf } from '../common.js';
import { fmtDuration, fmtMemory, fmtTime } from './runs.js';
import type { RunInstanceRow } from '../../store/index.js';

const USAGE = 'usage: pipe show RUN|INSTANCE|STAGE [--json] [--workspace DIR] [--db PATH]';
const OPTIONS = { ...WORKSPACE_OPTION, db: { type: 'string' }, json: { type: 'boolean' } } as const;

/** ` (3 attempts)` for an instance that took more than one (`retry:`). */
function attempts(n: number | undefined): string {
  return n !== undefined && n > 1 ? ` (${n} attempts)` : '';
}

/** The DURATION, CPU, PEAK RSS and KEY columns of an instance row. */
function figures(i: RunInstanceRow): string {
  return `${fmtDuration(i.durationMs).padEnd(8)}  ${fmtDuration(i.cpuMs ?? null).padEnd(8)}  ${fmtMemory(i.peakRssKb).padEnd(8)}  ${(i.key ?? '-').slice(0, 12).padEnd(12)}`;
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    if (positionals.length !== 1) throw new UsageError('expected one run number, instance id or stage name', USAGE);
    const what = positionals[0];
    const layout = new Layout(workspaceOf(values), values.db === undefined ? undefined : resolve(values.db));
    if (!existsSync(layout.db)) throw new UsageError('no runs yet in this workspace', 'run pipe run FILE first, or pass --workspace DIR');
    const store = openStore(layout.db);
    const out = (lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);
    try {
      if (/^\d+$/.test(what)) {
        const r = store.getRun(Number(what));
        if (!r) throw new UsageError(`no run ${what}`, 'pipe runs lists them');
        const instances = store.runInstances(r.id);
        const metrics = store.metricsForRun(r.id).length;
        if (values.json) {
          out([JSON.stringify({ ...r, instances, metric_rows: metrics }, null, 2)]);
          return EXIT_OK;
        }
        const lines = [
          `run ${r.id}: ${r.status}`,
          `pipeline: ${r.pipeline}`,
          `started:  ${fmtTime(r.startedAt)}   duration: ${fmtDuration(r.finishedAt === null ? null : r.finishedAt - r.startedAt)}   pid: ${r.pid}`,
          `command:  pipe ${r.argv.join(' ')}`,
          `params:   ${JSON.stringify(r.params)}`,
          `metrics:  ${metrics} rows`,
          '',
          'STATUS   DURATION  CPU       PEAK RSS  KEY           INSTANCE',
        ];
        for (const i of instances) {
          lines.push(`${i.status.padEnd(7)}  ${figures(i)}  ${i.instanceId}${attempts(i.attempts)}`);
          if (i.error) lines.push(`         error: ${i.error}`);
          if (i.logPath && i.status !== 'cached') lines.push(`         log: ${i.logPath}`);
        }
        out(lines);
        return EXIT_OK;
      }
      const history = store.instanceHistory(what);
      if (!history.length) throw new UsageError(`no instance or stage "${what}" in the run history`, 'pipe status FILE lists instance ids');
      const keys = [...new Set(history.map((h) => h.key).filter((k): k is string => k !== null))];
      const committed = keys.map((k) => store.getCommitted(k)).filter((c) => c !== undefined);
      if (values.json) {
        out([JSON.stringify({ history, results: committed }, null, 2)]);
        return EXIT_OK;
      }
      const lines = ['RUN   STATUS   DURATION  CPU       PEAK RSS  KEY           INSTANCE'];
      for (const h of history) lines.push(`${String(h.runId).padEnd(5)} ${h.status.padEnd(7)}  ${figures(h)}  ${h.instanceId}${attempts(h.attempts)}${h.error ? `  (${h.error})` : ''}`);
      const latest = committed[0];
      if (latest) {
        lines.push('', `latest result ${latest.key.slice(0, 12)} (${latest.instanceId}, run ${latest.runId}, ${fmtTime(latest.finishedAt)}, ${fmtDuration(latest.durationMs)}, CPU ${fmtDuration(latest.cpuMs ?? null)}, peak RSS ${fmtMemory(latest.peakRssKb)})`);
        for (const a of latest.artifacts) lines.push(`  output ${a.name}: ${a.path}  sha256:${a.hash.slice(0, 12)}`);
        if (latest.logPath) lines.push(`  log: ${latest.logPath}`);
        lines.push(`  key components: ${JSON.stringify(latest.components)}`);
      }
      out(lines);
      return EXIT_OK;
    } finally {
      store.close();
    }
  });
}
