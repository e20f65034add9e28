// `pipe store reindex`: rebuilds the database's index of results from runs/store/ (engine/reindex.ts). A
// damaged or emptied pipe.db is moved aside first (kept, never deleted), so this is the way back from
// the exit-3 "database is damaged" errors without recomputing anything.
import { existsSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeReindex, reindex } from '../../engine/reindex.js';
import { Layout } from '../../engine/layout.js';
import { UsageError } from '../../engine/errors.js';
import { asEnvironmentError, shown } from '../../store/environment.js';
import { openStore, type Store } from '../../store/index.js';
import { EXIT_OK, WORKSPACE_OPTION, guard, parse, workspaceOf } from '../common.js';

const USAGE = `usage: pipe store reindex [--json] [--workspace DIR] [--db PATH]

  reindex   index every committed result in runs/store/ that the database lacks (each verified in full
            first; damaged entries are moved to runs/corrupt/). A damaged or empty runs/pipe.db is moved
            aside to runs/pipe.db.broken-<time> and a new one is built. Nothing is recomputed.`;
const OPTIONS = { ...WORKSPACE_OPTION, db: { type: 'string' }, json: { type: 'boolean' } } as const;

/** Opens the store; a database that cannot be read (not a full disk) is moved aside and a new one made. */
function openOrReplace(layout: Layout, say: (line: string) => void): Store {
  try {
    const store = openStore(layout.db);
    store.listRuns(1);
    return store;
  } catch (e) {
    const env = asEnvironmentError(e);
    if (!env || / is full/.test(env.message)) throw e;
    const aside = `${layout.db}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(layout.db + suffix)) renameSync(layout.db + suffix, aside + suffix);
    say(`pipe: ${env.message}; moved to ${shown(aside)}`);
    return openStore(layout.db);
  }
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, OPTIONS, USAGE);
    if (positionals[0] !== 'reindex' || positionals.length !== 1)
      throw new UsageError(positionals.length ? `unknown store command "${positionals.join(' ')}"` : 'missing the store command', USAGE);
    const layout = new Layout(workspaceOf(values), values.db === undefined ? undefined : resolve(values.db));
    const say = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
    const store = openOrReplace(layout, say);
    try {
      const report = reindex(layout, store);
      if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else for (const line of describeReindex(report, 'store reindex')) say(line);
      return EXIT_OK;
    } finally {
      store.close();
    }
  });
}
