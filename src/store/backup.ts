// Backups of the results database after a successful run, with SQLite's online backup API (a consistent
// copy even while another `pipe run` writes). The newest few are kept under `runs/backups/`; restoring
// one is a file copy (docs/engine.md, "Backups").
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const BACKUPS_KEPT = 3;
const NAME = /^pipe-run(\d+)\.db$/;

/** Copies `dbFile` to `runs/backups/pipe-runNNNNNN.db` and deletes all but the newest BACKUPS_KEPT. */
export async function backupDatabase(dbFile: string, runId: number): Promise<string> {
  const dir = join(dirname(dbFile), 'backups');
  mkdirSync(dir, { recursive: true });
  const dest = join(dir, `pipe-run${String(runId).padStart(6, '0')}.db`);
  const tmp = `${dest}.${process.pid}.tmp`;
  const db = new Database(dbFile, { timeout: 30_000 });
  try {
    await db.backup(tmp);
    renameSync(tmp, dest);
  } finally {
    db.close();
    rmSync(tmp, { force: true });
  }
  const all = readdirSync(dir).filter((f) => NAME.test(f)).sort();
  for (const old of all.slice(0, -BACKUPS_KEPT)) rmSync(join(dir, old), { force: true });
  return dest;
}
