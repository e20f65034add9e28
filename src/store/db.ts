// The SQLite results store (`runs/pipe.db`): WAL so readers never block the writer, a busy timeout so
// two concurrent `pipe run`s queue on the write lock instead of failing, and versioned migrations.
import Database from 'better-sqlite3';
import { existsSync, linkSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { EnvironmentError, noteDatabase, recoveryHint, shown } from './environment.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export function openDb(file: string): Db {
  mkdirSync(dirname(file), { recursive: true });
  noteDatabase(file);
  if (!existsSync(file)) createDb(file);
  else refuseEmpty(file);
  const db = new Database(file, { timeout: 30_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrate(db);
  return db;
}

/**
 * A new database is built under a private name and linked into place complete, so `pipe.db` is never
 * empty when pipe made it: an empty one means the history was lost (a truncation, a failed copy).
 */
function createDb(file: string): void {
  const tmp = `${file}.${process.pid}.new`;
  const db = new Database(tmp);
  try {
    db.pragma('journal_mode = WAL');
    migrate(db);
  } finally {
    db.close();
  }
  try {
    linkSync(tmp, file);
  } catch (e) {
    // Another process created it first: use theirs.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** A 0-byte database (with no write-ahead log holding its content) is lost history, not a new workspace. */
function refuseEmpty(file: string): void {
  if (statSync(file).size > 0) return;
  const wal = `${file}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) return;
  throw new EnvironmentError(`${shown(file)} is empty (0 bytes): the run history and the index of results are lost`, recoveryHint(file));
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current >= MIGRATIONS.length) return;
  // IMMEDIATE: two processes opening a fresh workspace at once must not both apply migration 1.
  db.transaction(() => {
    const v = db.pragma('user_version', { simple: true }) as number;
    for (const m of MIGRATIONS.slice(v)) {
      if (typeof m === 'string') db.exec(m);
      else m(db);
    }
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
