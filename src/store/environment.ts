// Failures of the environment rather than of a stage or of the user's input: a damaged or emptied results
// database, a full disk, a read-only file system. They end a command with exit code 3 and a message that
// names the file and what to do (exit 1 keeps meaning "a stage failed", 2 "bad input or usage").
import { existsSync, readdirSync, statfsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** The exit code of an EnvironmentError (1: a stage failed, 2: bad input or usage). */
export const EXIT_ENVIRONMENT = 3;

export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Database files this process opened: a SQLite error does not say which file it is about. */
const openedDatabases: string[] = [];

export function noteDatabase(file: string): void {
  if (!openedDatabases.includes(file)) openedDatabases.push(file);
}

/** The path as the user would type it from here. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** Whether `runs/store/` next to the database holds committed results (that `pipe store reindex` can index). */
function storeHasEntries(dbFile: string): boolean {
  const store = join(dirname(dbFile), 'store');
  return existsSync(store) && readdirSync(store).length > 0;
}

/** What to do about a database that cannot be read. */
export function recoveryHint(dbFile: string): string {
  const backups = join(dirname(dbFile), 'backups');
  const steps = [];
  if (existsSync(backups) && readdirSync(backups).some((f) => f.endsWith('.db')))
    steps.push(`restore the newest backup from ${shown(backups)}/ (docs/engine.md, "Backups")`);
  if (storeHasEntries(dbFile)) steps.push(`or run \`pipe store reindex\` to rebuild the index from ${shown(join(dirname(dbFile), 'store'))}/ (no result is recomputed)`);
  steps.push(`or move ${shown(dbFile)} aside to start a new history`);
  return steps.join(', ').replace(/^or /, '');
}

/** Whether the file system holding `path` has no room left (SQLite reports a full disk as SQLITE_IOERR_* too). */
function diskFull(path: string): boolean {
  try {
    return statfsSync(dirname(path)).bavail === 0;
  } catch {
    return false;
  }
}

const FULL_HINT = 'free space on that disk and run again: every result committed before is kept';

const SQLITE_DAMAGED = /^SQLITE_(CORRUPT|NOTADB)/;
const SQLITE_FULL = /^SQLITE_FULL/;
const SQLITE_ENVIRONMENT = /^SQLITE_(IOERR|CANTOPEN|READONLY|PERM)/;
const ERRNO_FULL = new Set(['ENOSPC', 'EDQUOT']);
const ERRNO_ENVIRONMENT = new Set(['EROFS', 'EIO', 'EMFILE', 'ENFILE']);

/** An EnvironmentError for `e` when it is one (a SQLite or file-system failure of the machine), else undefined. */
export function asEnvironmentError(e: unknown): EnvironmentError | undefined {
  if (e instanceof EnvironmentError) return e;
  if (!(e instanceof Error)) return undefined;
  const code = String((e as { code?: unknown }).code ?? '');
  const db = openedDatabases.at(-1);
  const dbName = db ? shown(db) : 'the results database';
  if (e.name === 'SqliteError') {
    if (SQLITE_DAMAGED.test(code)) return new EnvironmentError(`${dbName} is damaged (${code}: ${e.message})`, db ? recoveryHint(db) : 'restore it from a backup');
    if (SQLITE_FULL.test(code) || (db && SQLITE_ENVIRONMENT.test(code) && diskFull(db))) return new EnvironmentError(`the disk holding ${dbName} is full (${code})`, FULL_HINT);
    if (SQLITE_ENVIRONMENT.test(code)) return new EnvironmentError(`${dbName} cannot be read or written (${code}: ${e.message})`, 'check the permissions and the file system of the workspace');
    return undefined;
  }
  const path = (e as { path?: unknown }).path;
  const where = typeof path === 'string' ? ` (${shown(path)})` : '';
  if (ERRNO_FULL.has(code)) return new EnvironmentError(`no space left on the device${where}: ${code}`, FULL_HINT);
  if (ERRNO_ENVIRONMENT.has(code)) return new EnvironmentError(`the file system failed${where}: ${e.message}`, 'check the disk and the permissions of the workspace');
  return undefined;
}
