// Versioned schema migrations, applied in order; `PRAGMA user_version` records the last one applied.
// Append new migrations; a shipped one may change only where the result of the whole chain stays the same
// for every database, old or new (the first one's metrics table, below).
import type { Db } from './db.js';

/** A migration: SQL, or a step that reads the database it upgrades (what columns a table has). */
export type Migration = string | ((db: Db) => void);

/** The columns of the first schema's `metrics` table that the generic table keeps as columns. */
const METRIC_COLUMNS = new Set(['id', 'run_id', 'instance_id', 'stage_key', 'metric', 'value', 'epoch', 'detail', 'tags']);

/**
 * Metric rows made generic (name, value, step, tags, detail). The first schema shipped (v0.1) gave
 * `metrics` a column per label of its only pipeline's rows; databases written by it exist. Each such
 * column's non-null value becomes a tag of its row (over a tag of the same name), and the epoch becomes
 * the step. Which columns those are is read from the table, so no label is named here: a database
 * created since has none (the first migration's table has only the kept columns), and this copies its
 * rows as they are. In JavaScript, not SQL: a tag is added only where its column is not null, per row.
 */
function genericMetrics(db: Db): void {
  const labels = (db.pragma('table_info(metrics)') as { name: string }[]).map((c) => c.name).filter((n) => !METRIC_COLUMNS.has(n));
  db.exec(`
  CREATE TABLE metrics_generic (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    stage_key TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    step REAL,                       -- position in a series (epoch, iteration); NULL for a summary value
    tags TEXT NOT NULL DEFAULT '{}', -- JSON object of string/number/boolean values
    detail TEXT
  );`);
  const insert = db.prepare('INSERT INTO metrics_generic (id, run_id, instance_id, stage_key, name, value, step, tags, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  for (const r of db.prepare('SELECT * FROM metrics').all() as Record<string, string | number | null>[]) {
    const tags = JSON.parse((r.tags as string | null) ?? '{}') as Record<string, unknown>;
    for (const l of labels) if (r[l] !== null) tags[l] = r[l];
    insert.run(r.id, r.run_id, r.instance_id, r.stage_key, r.metric, r.value, r.epoch, JSON.stringify(tags), r.detail);
  }
  db.exec(`
  DROP TABLE metrics;
  ALTER TABLE metrics_generic RENAME TO metrics;
  CREATE INDEX metrics_by_key ON metrics(stage_key);`);
}

export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    pipeline TEXT NOT NULL,          -- pipeline file, relative to the workspace
    argv TEXT NOT NULL,              -- JSON array of the CLI arguments
    params TEXT NOT NULL,            -- JSON of the resolved params
    pid INTEGER NOT NULL,
    status TEXT NOT NULL,            -- running | succeeded | failed | interrupted
    started_at INTEGER NOT NULL,     -- ms since epoch
    finished_at INTEGER
  );
  -- One row per committed stage key: the commit marker of an output directory in runs/store/.
  CREATE TABLE stage_instances (
    key TEXT PRIMARY KEY,
    stage TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    components TEXT NOT NULL,        -- JSON fingerprint components the key was computed from
    run_id INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    log_path TEXT
  );
  -- Every instance a run touched (ran, restored from cache, failed, skipped), linked to its stage key.
  CREATE TABLE run_instances (
    run_id INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    key TEXT,
    status TEXT NOT NULL,            -- ran | cached | failed | skipped
    started_at INTEGER,
    duration_ms INTEGER,
    log_path TEXT,
    error TEXT,
    PRIMARY KEY (run_id, instance_id)
  );
  CREATE INDEX run_instances_by_instance ON run_instances(instance_id);
  CREATE INDEX run_instances_by_key ON run_instances(key);
  CREATE TABLE artifacts (
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,              -- relative to the workspace
    hash TEXT NOT NULL,
    PRIMARY KEY (key, name)
  );
  -- Stat-keyed content hashes: valid while (ino, size, mtime_ns) match; dirs also keep a stat signature.
  CREATE TABLE hash_cache (
    path TEXT PRIMARY KEY,
    kind TEXT NOT NULL,              -- file | dir
    ino TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns TEXT NOT NULL,
    sig TEXT,
    hash TEXT NOT NULL
  );
  CREATE TABLE metrics (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    stage_key TEXT NOT NULL,
    epoch INTEGER,
    metric TEXT NOT NULL,
    value REAL,
    detail TEXT,
    tags TEXT
  );
  CREATE INDEX metrics_by_key ON metrics(stage_key);
  -- Stage-level locks: a key is built by one process at a time; rows of dead pids are stale.
  CREATE TABLE locks (
    key TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    acquired_at INTEGER NOT NULL
  );
  `,
  `
  -- Published outputs: what pipe last copied to each workspace path (so an edit there is recognised and
  -- never overwritten, and the file of a removed output can be cleaned up).
  CREATE TABLE published (
    path TEXT PRIMARY KEY,           -- relative to the workspace
    pipeline TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    output TEXT NOT NULL,
    key TEXT NOT NULL,
    hash TEXT NOT NULL               -- content hash of what pipe wrote there
  );
  -- What each run had published (\`pipe checkout RUN\` publishes it again).
  CREATE TABLE run_published (
    run_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    output TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (run_id, path)
  );
  `,
  // Lock holders are (host, pid, process start time): a pid reused after a crash is not the holder. pgid:
  // the process group of the attempt building the key, ended by whoever takes over a dead holder's lock.
  `
  ALTER TABLE locks ADD COLUMN host TEXT;
  ALTER TABLE locks ADD COLUMN started TEXT;
  ALTER TABLE locks ADD COLUMN pgid INTEGER;
  `,
  // How many attempts an executed instance took (retry:); NULL in rows written before: one.
  `
  ALTER TABLE run_instances ADD COLUMN attempts INTEGER;
  `,
  genericMetrics,
  // Every committed file of a store entry, recorded in the commit transaction: a restore stats each one
  // (a changed mtime is re-hashed), --verify re-hashes all (see src/engine/entry.ts).
  `
  CREATE TABLE store_files (
    key TEXT NOT NULL,
    path TEXT NOT NULL,              -- relative to runs/store/<key>/
    size INTEGER NOT NULL,
    mtime_ns TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (key, path)
  ) WITHOUT ROWID;
  `,
  // Executors. Which executor ran an instance and its Slurm job id (`pipe show RUN --json`); and the
  // cluster jobs in flight per stage key, so a controller killed with SIGKILL re-attaches to them on the
  // next run instead of submitting duplicates (the row is deleted when the attempt ends).
  `
  ALTER TABLE run_instances ADD COLUMN executor TEXT;
  ALTER TABLE run_instances ADD COLUMN job_id TEXT;
  CREATE TABLE jobs (
    key TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,            -- 123 or 123_4 (array task)
    dir TEXT NOT NULL,               -- the job's directory (outputs, result file), absolute
    instance_id TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL
  );
  `,
  // Comparison views (pipe exp show) read one value per stage key and column, never the details: an index
  // that covers those queries, so they read neither the table nor its confusion-matrix details.
  `
  CREATE INDEX metrics_columns ON metrics(stage_key, name, tags, step, value);
  `,
  // Resources an executed attempt used (src/engine/usage.ts): CPU time, user + system, in ms, and peak
  // resident memory in KiB; NULL where not measured (rows written before, Slurm jobs).
  `
  ALTER TABLE run_instances ADD COLUMN cpu_ms INTEGER;
  ALTER TABLE run_instances ADD COLUMN peak_rss_kb INTEGER;
  ALTER TABLE stage_instances ADD COLUMN cpu_ms INTEGER;
  ALTER TABLE stage_instances ADD COLUMN peak_rss_kb INTEGER;
  `,
  // The hash cache keyed by path alone, without a rowid: the rowid table kept every path twice (the row and
  // its primary-key index; 44 MB of a 176 MB database at the paper's 300k input files).
  `
  CREATE TABLE hash_cache_by_path (
    path TEXT PRIMARY KEY,
    kind TEXT NOT NULL,              -- file | dir
    ino TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns TEXT NOT NULL,
    sig TEXT,
    hash TEXT NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO hash_cache_by_path SELECT path, kind, ino, size, mtime_ns, sig, hash FROM hash_cache;
  DROP TABLE hash_cache;
  ALTER TABLE hash_cache_by_path RENAME TO hash_cache;
  `,
];
