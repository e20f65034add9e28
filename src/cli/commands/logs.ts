// `pipe logs ID [-f] [--run N]`: one instance's log, from the latest run (or run N); with -f, followed
// while that run is running, like `tail -f` that stops when the instance is done.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Layout } from '../../engine/layout.js';
import { UsageError } from '../../engine/errors.js';
import type { Store } from '../../store/index.js';
import { EXIT_OK, WORKSPACE_OPTION, guard, parse, withRecordedRun, workspaceOf } from '../common.js';

const USAGE = `usage: pipe logs INSTANCE [-f|--follow] [--run N|latest] [--workspace DIR]

Prints the log of INSTANCE (an id as \`pipe status\` lists it, e.g. map@sample=a) in the latest run, or in
run N. An instance the run restored from the cache has no log of its own: the log of the run that built
its result is shown. -f follows the log until the instance finishes (or the run ends).`;

const OPTIONS = {
  ...WORKSPACE_OPTION,
  follow: { type: 'boolean', short: 'f' },
  run: { type: 'string', short: 'r' },
} as const;

/** How often a followed log and its run's state are polled. */
const POLL_MS = 200;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    if (positionals.length !== 1) throw new UsageError(positionals.length ? 'expected one instance id' : 'missing the instance id', USAGE);
    const id = positionals[0];
    const workspace = workspaceOf(values);
    const layout = new Layout(workspace);
    if (!existsSync(layout.db)) throw new UsageError(`no runs recorded in ${workspace}`, 'run pipe run FILE first, or pass --workspace DIR');
    return withRecordedRun(workspace, values.run, '--run', USAGE, async (store, runId) => {
      const own = layout.log(runId, id);
      if (existsSync(own) || (values.follow && isRunning(store, runId, id))) {
        await print(own, values.follow ? () => isRunning(store, runId, id) : () => false);
        return EXIT_OK;
      }
      const built = builtBy(store, id, runId);
      if (!built) {
        const ids = store.runInstances(runId).map((r) => r.instanceId);
        throw new UsageError(`no log of "${id}" in run ${runId}`, ids.length ? `instances of run ${runId}: ${ids.slice(0, 12).join(', ')}${ids.length > 12 ? ', ...' : ''}` : `run ${runId} recorded no instances`);
      }
      process.stderr.write(`pipe logs: ${id} was restored from the cache in run ${runId}; the log of run ${built.runId}, which built it:\n`);
      await print(resolve(workspace, built.logPath), () => false);
      return EXIT_OK;
    });
  });
}

/** The run is still going and has not recorded the instance as finished. */
function isRunning(store: Store, runId: number, id: string): boolean {
  if (store.getRun(runId)?.status !== 'running') return false;
  return !store.runInstances(runId).some((r) => r.instanceId === id);
}

/** The newest earlier attempt of `id` (up to run `runId`) that wrote a log. */
function builtBy(store: Store, id: string, runId: number): { runId: number; logPath: string } | undefined {
  const row = store.instanceHistory(id).find((r) => r.instanceId === id && r.runId <= runId && r.logPath !== null);
  return row ? { runId: row.runId, logPath: row.logPath! } : undefined;
}

/** Copies the file to stdout; while `more()` holds, keeps polling for appended bytes. */
async function print(path: string, more: () => boolean): Promise<void> {
  let offset = 0;
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    // Read `more` before draining, so bytes written just before the instance finished are not lost.
    const going = more();
    if (existsSync(path) && statSync(path).size > offset) {
      const fd = openSync(path, 'r');
      try {
        // A copy per write: stdout may still hold the chunk when the buffer is refilled.
        for (let n; (n = readSync(fd, buf, 0, buf.length, offset)) > 0; offset += n) process.stdout.write(Buffer.from(buf.subarray(0, n)));
      } finally {
        closeSync(fd);
      }
    }
    if (!going) break;
    await sleep(POLL_MS);
  }
  if (!existsSync(path)) throw new UsageError(`the log ${relative(process.cwd(), path)} does not exist`, 'the instance has not started yet');
}
