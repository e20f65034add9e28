// Typed query API over the results store. Reports, tables and the CLI call these functions; no SQL
// lives outside src/store/.
import type { Json, MetricRow, TagValue } from '../stage-api.js';
import { openDb, type Db } from './db.js';
import { holderRunning, pidAlive, selfHolder, type Holder } from './process.js';
import type {
  ArtifactRow,
  CellChoice,
  CommittedInstance,
  FileRecord,
  HashCacheRow,
  InstanceStatus,
  JobRow,
  MetricCell,
  MetricColumn,
  MetricPoint,
  RunInstanceRow,
  RunRow,
  RunStatus,
  StoredMetric,
} from './types.js';

export type * from './types.js';

interface RawRun {
  id: number;
  pipeline: string;
  argv: string;
  params: string;
  pid: number;
  status: RunStatus;
  started_at: number;
  finished_at: number | null;
}
interface RawRunInstance {
  run_id: number;
  instance_id: string;
  stage: string;
  key: string | null;
  status: InstanceStatus;
  started_at: number | null;
  duration_ms: number | null;
  cpu_ms: number | null;
  peak_rss_kb: number | null;
  log_path: string | null;
  error: string | null;
  attempts: number | null;
  executor: string | null;
  job_id: string | null;
}
interface RawMetric {
  run_id: number;
  instance_id: string;
  stage_key: string;
  name: string;
  value: number | null;
  step: number | null;
  tags: string;
  detail: string | null;
}

export { groupAlive, holderRunning, pidAlive, procStat, selfHolder, type Holder } from './process.js';

function toRun(r: RawRun): RunRow {
  // A run whose process died (kill -9, power loss) never wrote its final status.
  const status = r.status === 'running' && !pidAlive(r.pid) ? 'interrupted' : r.status;
  return {
    id: r.id,
    pipeline: r.pipeline,
    argv: JSON.parse(r.argv) as string[],
    params: JSON.parse(r.params) as Json,
    pid: r.pid,
    status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

function toRunInstance(r: RawRunInstance): RunInstanceRow {
  return {
    runId: r.run_id,
    instanceId: r.instance_id,
    stage: r.stage,
    key: r.key,
    status: r.status,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    cpuMs: r.cpu_ms,
    peakRssKb: r.peak_rss_kb,
    logPath: r.log_path,
    error: r.error,
    ...(r.attempts !== null ? { attempts: r.attempts } : {}),
    executor: r.executor,
    jobId: r.job_id,
  };
}

function toMetric(r: RawMetric): StoredMetric {
  return {
    runId: r.run_id,
    instanceId: r.instance_id,
    stageKey: r.stage_key,
    name: r.name,
    value: r.value,
    step: r.step,
    tags: JSON.parse(r.tags) as Record<string, TagValue>,
    ...(r.detail !== null ? { detail: JSON.parse(r.detail) as Json } : {}),
  };
}

/** The rows of one commit point (see Store.commitInstance). */
export interface CommitRows {
  readonly ci: CommittedInstance;
  readonly metrics: readonly MetricRow[];
  readonly link: RunInstanceRow | null;
  readonly files: readonly FileRecord[];
}

export class Store {
  readonly db: Db;
  private readonly q;

  constructor(file: string) {
    this.db = openDb(file);
    const p = (sql: string) => this.db.prepare(sql);
    this.q = {
      insertRun: p(
        `INSERT INTO runs (pipeline, argv, params, pid, status, started_at) VALUES (?, ?, ?, ?, 'running', ?)`,
      ),
      finishRun: p(`UPDATE runs SET status = ?, finished_at = ? WHERE id = ?`),
      getRun: p(`SELECT * FROM runs WHERE id = ?`),
      listRuns: p(`SELECT * FROM runs ORDER BY id DESC LIMIT ?`),
      latestRun: p(`SELECT * FROM runs WHERE pipeline = ? ORDER BY id DESC LIMIT 1`),
      upsertRunInstance: p(
        `INSERT OR REPLACE INTO run_instances
         (run_id, instance_id, stage, key, status, started_at, duration_ms, cpu_ms, peak_rss_kb, log_path, error, attempts, executor, job_id)
         VALUES (@runId, @instanceId, @stage, @key, @status, @startedAt, @durationMs, @cpuMs, @peakRssKb, @logPath, @error, @attempts, @executor, @jobId)`,
      ),
      runInstances: p(`SELECT * FROM run_instances WHERE run_id = ? ORDER BY instance_id`),
      instanceHistory: p(
        `SELECT * FROM run_instances WHERE instance_id = ? OR instance_id LIKE ? ESCAPE '\\'
         ORDER BY run_id DESC, instance_id LIMIT ?`,
      ),
      runCounts: p(
        `SELECT run_id, status, COUNT(*) AS n FROM run_instances
         WHERE run_id IN (SELECT id FROM runs ORDER BY id DESC LIMIT ?) GROUP BY run_id, status`,
      ),
      getInstance: p(`SELECT * FROM stage_instances WHERE key = ?`),
      getArtifacts: p(`SELECT name, path, hash FROM artifacts WHERE key = ? ORDER BY name`),
      insertInstance: p(
        `INSERT OR REPLACE INTO stage_instances
         (key, stage, instance_id, components, run_id, started_at, finished_at, duration_ms, cpu_ms, peak_rss_kb, log_path)
         VALUES (@key, @stage, @instanceId, @components, @runId, @startedAt, @finishedAt, @durationMs, @cpuMs, @peakRssKb, @logPath)`,
      ),
      deleteArtifacts: p(`DELETE FROM artifacts WHERE key = ?`),
      deleteInstance: p(`DELETE FROM stage_instances WHERE key = ?`),
      deleteFiles: p(`DELETE FROM store_files WHERE key = ?`),
      insertFile: p(`INSERT INTO store_files (key, path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?, ?)`),
      files: p(`SELECT path, size, mtime_ns AS mtimeNs, sha256 FROM store_files WHERE key = ?`),
      restatFile: p(`UPDATE store_files SET mtime_ns = ? WHERE key = ? AND path = ?`),
      insertArtifact: p(`INSERT INTO artifacts (key, name, path, hash) VALUES (?, ?, ?, ?)`),
      deleteMetrics: p(`DELETE FROM metrics WHERE stage_key = ?`),
      insertMetric: p(
        `INSERT INTO metrics (run_id, instance_id, stage_key, name, value, step, tags, detail)
         VALUES (@runId, @instanceId, @stageKey, @name, @value, @step, @tags, @detail)`,
      ),
      metricsForRun: p(
        `SELECT m.* FROM run_instances ri JOIN metrics m ON m.stage_key = ri.key
         WHERE ri.run_id = ? AND ri.status IN ('ran', 'cached') ORDER BY m.id`,
      ),
      metricsForKey: p(`SELECT * FROM metrics WHERE stage_key = ? ORDER BY id`),
      // Per instance id, its newest ran/cached row only (the history grows by one row per run).
      lastGood: p(
        `SELECT ri.instance_id AS instance_id, si.key AS key, si.components AS components
         FROM run_instances ri JOIN stage_instances si ON si.key = ri.key
         WHERE ri.rowid IN (
           SELECT MAX(x.rowid) FROM run_instances x JOIN runs r ON r.id = x.run_id
           WHERE r.pipeline = ? AND x.status IN ('ran', 'cached') GROUP BY x.instance_id)`,
      ),
      hashRows: p(`SELECT * FROM hash_cache WHERE kind = ?`),
      hashRow: p(`SELECT * FROM hash_cache WHERE path = ?`),
      // '0' follows '/' in byte order: the range is every path below the directory.
      fileHashRowsUnder: p(`SELECT * FROM hash_cache WHERE path >= ? || '/' AND path < ? || '0' AND kind = 'file'`),
      getLock: p(`SELECT pid, host, started, pgid FROM locks WHERE key = ?`),
      putLock: p(
        `INSERT OR REPLACE INTO locks (key, pid, instance_id, acquired_at, host, started, pgid)
         VALUES (@key, @pid, @instanceId, @at, @host, @started, @pgid)`,
      ),
      setLockGroup: p(`UPDATE locks SET pgid = ? WHERE key = ? AND pid = ? AND host = ?`),
      dropLock: p(`DELETE FROM locks WHERE key = ? AND pid = ?`),
      putJob: p(
        `INSERT OR REPLACE INTO jobs (key, job_id, dir, instance_id, run_id, submitted_at)
         VALUES (@key, @jobId, @dir, @instanceId, @runId, @submittedAt)`,
      ),
      getJob: p(`SELECT * FROM jobs WHERE key = ?`),
      dropJob: p(`DELETE FROM jobs WHERE key = ? AND job_id = ?`),
      upsertHash: p(
        `INSERT OR REPLACE INTO hash_cache (path, kind, ino, size, mtime_ns, sig, hash)
         VALUES (@path, @kind, @ino, @size, @mtimeNs, @sig, @hash)`,
      ),
    };
  }

  close(): void {
    this.db.close();
  }

  createRun(pipeline: string, argv: readonly string[], params: Json): number {
    const info = this.q.insertRun.run(pipeline, JSON.stringify(argv), JSON.stringify(params), process.pid, Date.now());
    return Number(info.lastInsertRowid);
  }

  finishRun(id: number, status: RunStatus): void {
    this.q.finishRun.run(status, Date.now(), id);
  }

  getRun(id: number): RunRow | undefined {
    const r = this.q.getRun.get(id) as RawRun | undefined;
    return r && toRun(r);
  }

  listRuns(limit = 50): RunRow[] {
    return (this.q.listRuns.all(limit) as RawRun[]).map(toRun);
  }

  latestRun(pipeline: string): RunRow | undefined {
    const r = this.q.latestRun.get(pipeline) as RawRun | undefined;
    return r && toRun(r);
  }

  recordRunInstance(row: RunInstanceRow): void {
    this.upsertRunInstance(row);
  }

  private upsertRunInstance(row: RunInstanceRow): void {
    this.q.upsertRunInstance.run({ ...row, cpuMs: row.cpuMs ?? null, peakRssKb: row.peakRssKb ?? null, attempts: row.attempts ?? null, executor: row.executor ?? null, jobId: row.jobId ?? null });
  }

  /** Cache hits are recorded in bulk: one transaction instead of one fsync per instance. */
  recordRunInstances(rows: readonly RunInstanceRow[]): void {
    if (rows.length === 0) return;
    this.db.transaction(() => {
      for (const r of rows) this.upsertRunInstance(r);
    })();
  }

  runInstances(runId: number): RunInstanceRow[] {
    return (this.q.runInstances.all(runId) as RawRunInstance[]).map(toRunInstance);
  }

  /** Attempts of an instance id (or of every instance of a stage, given its name), newest first. */
  instanceHistory(idOrStage: string, limit = 50): RunInstanceRow[] {
    const like = `${idOrStage.replace(/[\\%_]/g, (c) => `\\${c}`)}@%`;
    return (this.q.instanceHistory.all(idOrStage, like, limit) as RawRunInstance[]).map(toRunInstance);
  }

  /** Instance counts by status for the latest `limit` runs: run id -> status -> count. */
  runCounts(limit = 50): Map<number, Partial<Record<InstanceStatus, number>>> {
    const out = new Map<number, Partial<Record<InstanceStatus, number>>>();
    for (const r of this.q.runCounts.all(limit) as { run_id: number; status: InstanceStatus; n: number }[]) {
      const m = out.get(r.run_id) ?? {};
      m[r.status] = r.n;
      out.set(r.run_id, m);
    }
    return out;
  }

  /** The committed instance of a stage key, or undefined when the key never completed. */
  getCommitted(key: string): CommittedInstance | undefined {
    const r = this.q.getInstance.get(key) as
      | {
          key: string;
          stage: string;
          instance_id: string;
          components: string;
          run_id: number;
          started_at: number;
          finished_at: number;
          duration_ms: number;
          cpu_ms: number | null;
          peak_rss_kb: number | null;
          log_path: string | null;
        }
      | undefined;
    if (!r) return undefined;
    return {
      key: r.key,
      stage: r.stage,
      instanceId: r.instance_id,
      components: JSON.parse(r.components) as Json,
      runId: r.run_id,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      durationMs: r.duration_ms,
      cpuMs: r.cpu_ms,
      peakRssKb: r.peak_rss_kb,
      logPath: r.log_path,
      artifacts: this.q.getArtifacts.all(key) as ArtifactRow[],
    };
  }

  /**
   * The commit point of a stage: instance row, artifacts, file records, metrics and the run link in one
   * transaction, written after the outputs were renamed into the store. `link` is absent when the row is
   * rebuilt from the store (reindex).
   */
  commitInstance(ci: CommittedInstance, metrics: readonly MetricRow[], link: RunInstanceRow | null, files: readonly FileRecord[] = []): void {
    this.commitInstances([{ ci, metrics, link, files }]);
  }

  /** Several commit points in one transaction (group commit: one write transaction for a batch of finished attempts). */
  commitInstances(entries: readonly CommitRows[]): void {
    this.db.transaction(() => {
      for (const e of entries) this.writeCommit(e);
    }).immediate();
  }

  private writeCommit({ ci, metrics, link, files }: CommitRows): void {
    this.q.insertInstance.run({ ...ci, cpuMs: ci.cpuMs ?? null, peakRssKb: ci.peakRssKb ?? null, components: JSON.stringify(ci.components) });
    this.q.deleteArtifacts.run(ci.key);
    for (const a of ci.artifacts) this.q.insertArtifact.run(ci.key, a.name, a.path, a.hash);
    this.q.deleteFiles.run(ci.key);
    for (const f of files) this.q.insertFile.run(ci.key, f.path, f.size, f.mtimeNs, f.sha256);
    this.q.deleteMetrics.run(ci.key);
    for (const m of metrics) {
      this.q.insertMetric.run({
        runId: ci.runId,
        instanceId: ci.instanceId,
        stageKey: ci.key,
        name: m.name,
        value: m.value,
        step: m.step ?? null,
        tags: JSON.stringify(m.tags ?? {}),
        detail: m.detail === undefined ? null : JSON.stringify(m.detail),
      });
    }
    if (link) this.upsertRunInstance(link);
  }

  /** The file records of a committed key (none for a key committed before they were kept). */
  storeFiles(key: string): FileRecord[] {
    return this.q.files.all(key) as FileRecord[];
  }

  /** Records new mtimes of files whose bytes were re-hashed and found unchanged. */
  restatStoreFiles(key: string, files: readonly FileRecord[]): void {
    this.db.transaction(() => {
      for (const f of files) this.q.restatFile.run(f.mtimeNs, key, f.path);
    })();
  }

  /** Forgets a committed key (its store entry was found damaged and moved aside); metrics stay until it is rebuilt. */
  dropCommitted(key: string): void {
    this.db.transaction(() => {
      this.q.deleteInstance.run(key);
      this.q.deleteArtifacts.run(key);
      this.q.deleteFiles.run(key);
    }).immediate();
  }

  /** Records a cluster job the moment it is submitted (before anything waits on it). */
  recordJob(row: JobRow): void {
    this.q.putJob.run(row);
  }

  /** The job in flight for a key, recorded by this or an earlier (killed) controller. */
  jobFor(key: string): JobRow | undefined {
    const r = this.q.getJob.get(key) as { key: string; job_id: string; dir: string; instance_id: string; run_id: number; submitted_at: number } | undefined;
    return r && { key: r.key, jobId: r.job_id, dir: r.dir, instanceId: r.instance_id, runId: r.run_id, submittedAt: r.submitted_at };
  }

  /** The attempt of this job ended (committed, failed or cancelled). */
  forgetJob(key: string, jobId: string): void {
    this.q.dropJob.run(key, jobId);
  }

  /** Metrics of every instance the run ran or restored from cache (cached ones by their stage key). */
  metricsForRun(runId: number): StoredMetric[] {
    return (this.q.metricsForRun.all(runId) as RawMetric[]).map(toMetric);
  }

  metricsForKey(key: string): StoredMetric[] {
    return (this.q.metricsForKey.all(key) as RawMetric[]).map(toMetric);
  }

  /**
   * The stage keys whose results runs `runIds` hold (instances they ran or restored from cache), as
   * (run, instance, key): the comparison views read each key's metrics once, however many runs share it.
   */
  resultKeys(runIds: readonly number[]): { runId: number; instanceId: string; key: string }[] {
    const out: { runId: number; instanceId: string; key: string }[] = [];
    for (const ids of chunks(runIds)) {
      const rows = this.db
        .prepare(`SELECT run_id, instance_id, key FROM run_instances WHERE run_id IN (${ids.map(() => '?').join(',')})
                  AND status IN ('ran', 'cached') AND key IS NOT NULL ORDER BY run_id, instance_id`)
        .all(...ids) as { run_id: number; instance_id: string; key: string }[];
      for (const r of rows) out.push({ runId: r.run_id, instanceId: r.instance_id, key: r.key });
    }
    return out;
  }

  /** Metric rows of the given stage keys, in commit order. */
  metricsForKeys(keys: readonly string[]): StoredMetric[] {
    const out: StoredMetric[] = [];
    for (const ks of chunks(keys)) {
      const rows = this.db.prepare(`SELECT * FROM metrics WHERE stage_key IN (${ks.map(() => '?').join(',')}) ORDER BY id`).all(...ks) as RawMetric[];
      for (const r of rows) out.push(toMetric(r));
    }
    return out;
  }

  /**
   * The distinct metric columns, (name, tags as stored JSON text), of the given stage keys: what a
   * comparison can show, without reading the rows (an index-only scan of the metrics_columns index).
   */
  metricColumns(keys: readonly string[]): MetricColumn[] {
    return this.db.prepare(`SELECT DISTINCT name, tags FROM metrics WHERE stage_key IN (SELECT value FROM json_each(?))`).all(JSON.stringify(keys)) as MetricColumn[];
  }

  /**
   * One value per stage key and column, chosen in SQL: a summary row (no step) wins, the last one
   * recorded; otherwise `final` takes the highest step, `best` the best value (lowest for the names in
   * `lower`, highest for the rest; the first such row), `at` the first row of that step. `columns`
   * narrows it to those columns (a terminal shows a few of thousands).
   */
  metricCells(keys: readonly string[], step: CellChoice, columns?: readonly MetricColumn[]): MetricCell[] {
    const order = {
      final: 'step IS NOT NULL, step DESC, id DESC',
      best: `step IS NOT NULL, CASE WHEN step IS NULL THEN -id END, value IS NULL,
             CASE WHEN name IN (SELECT value FROM json_each(@lower)) THEN value ELSE -value END, CASE WHEN value IS NULL THEN -id ELSE id END`,
      at: 'id',
    }[step.kind];
    const sql = `SELECT stage_key AS key, name, tags, value FROM (
        SELECT stage_key, name, tags, value, ROW_NUMBER() OVER (PARTITION BY stage_key, name, tags ORDER BY ${order}) AS n
        FROM metrics WHERE stage_key IN (SELECT value FROM json_each(@keys))
        ${step.kind === 'at' ? 'AND step = @step' : ''}
        ${columns ? `AND (name, tags) IN (SELECT value ->> 0, value ->> 1 FROM json_each(@columns))` : ''})
      WHERE n = 1`;
    return this.db.prepare(sql).all({
      keys: JSON.stringify(keys),
      ...(step.kind === 'best' ? { lower: JSON.stringify(step.lower) } : {}),
      ...(step.kind === 'at' ? { step: step.step } : {}),
      ...(columns ? { columns: JSON.stringify(columns.map((c) => [c.name, c.tags])) } : {}),
    }) as MetricCell[];
  }

  /** Which of the given stage keys recorded any metric row. */
  keysWithMetrics(keys: readonly string[]): Set<string> {
    return new Set(this.db.prepare(`SELECT DISTINCT stage_key FROM metrics WHERE stage_key IN (SELECT value FROM json_each(?))`).pluck().all(JSON.stringify(keys)) as string[]);
  }

  /** The points of series (rows with a step) of the given stage keys, without details, in step order. */
  metricPoints(keys: readonly string[]): MetricPoint[] {
    return this.db
      .prepare(`SELECT stage_key AS key, name, tags, step, value FROM metrics
                WHERE stage_key IN (SELECT value FROM json_each(?)) AND step IS NOT NULL AND value IS NOT NULL ORDER BY step, id`)
      .all(JSON.stringify(keys)) as MetricPoint[];
  }

  /** Changes whenever a run starts, finishes or commits metrics: what a live view polls. */
  changeStamp(): string {
    const r = this.db.prepare(`SELECT (SELECT MAX(id) FROM metrics) AS m, (SELECT COUNT(*) FROM run_instances) AS i,
      (SELECT group_concat(id || status, ',') FROM (SELECT id, status FROM runs ORDER BY id DESC LIMIT 20)) AS r`).get() as { m: number | null; i: number; r: string | null };
    return `${r.m ?? 0}:${r.i}:${r.r ?? ''}`;
  }

  /** For `pipe status`: per instance id, the key and components of its last successful result. */
  lastGoodByInstance(pipeline: string): Map<string, { key: string; components: Json }> {
    const out = new Map<string, { key: string; components: Json }>();
    for (const r of this.q.lastGood.iterate(pipeline) as Iterable<{
      instance_id: string;
      key: string;
      components: string;
    }>) {
      out.set(r.instance_id, { key: r.key, components: JSON.parse(r.components) as Json });
    }
    return out;
  }

  /**
   * Takes the build lock of a stage key, atomically under SQLite's write lock. A lock whose holder no
   * longer runs (kill -9; or its pid now belongs to another process) is taken over; the process group
   * that holder's attempt left behind is returned, to be ended before the key is built again. Returns
   * the live holder when the lock is held.
   */
  tryLock(key: string, instanceId: string): { ok: true; orphanGroup: number | null } | { ok: false; holder: Holder } {
    type R = { ok: true; orphanGroup: number | null } | { ok: false; holder: Holder };
    const me = selfHolder();
    return this.db.transaction((): R => {
      const row = this.q.getLock.get(key) as (Holder & { pgid: number | null }) | undefined;
      const mine = row !== undefined && row.pid === me.pid && (row.host === null || row.host === me.host);
      if (row && !mine && holderRunning(row)) return { ok: false, holder: row };
      // The dead holder's group stays recorded until it is ended: if this process dies too, the next one ends it.
      const orphanGroup = row && !mine ? row.pgid : null;
      this.q.putLock.run({ key, pid: me.pid, instanceId, at: Date.now(), host: me.host, started: me.started, pgid: orphanGroup });
      return { ok: true, orphanGroup };
    }).immediate();
  }

  /** Records the process group of the attempt that builds `key` under this process's lock. */
  setLockGroup(key: string, pgid: number): void {
    const me = selfHolder();
    this.q.setLockGroup.run(pgid, key, me.pid, me.host);
  }

  unlock(key: string): void {
    this.q.dropLock.run(key, process.pid);
  }

  hashRows(kind: 'file' | 'dir'): HashCacheRow[] {
    return (this.q.hashRows.all(kind) as RawHashRow[]).map(toHashRow);
  }

  /** One entry by path: a single input file need not load the rows of every file ever hashed. */
  hashRow(path: string): HashCacheRow | undefined {
    const r = this.q.hashRow.get(path) as RawHashRow | undefined;
    return r && toHashRow(r);
  }

  /** File entries below directory `dir` (absolute, without a trailing slash), in one range query. */
  fileHashRowsUnder(dir: string): HashCacheRow[] {
    return (this.q.fileHashRowsUnder.all(dir, dir) as RawHashRow[]).map(toHashRow);
  }

  upsertHashes(rows: readonly HashCacheRow[]): void {
    if (rows.length === 0) return;
    this.db.transaction(() => {
      for (const r of rows) this.q.upsertHash.run(r);
    })();
  }
}

interface RawHashRow {
  path: string;
  kind: 'file' | 'dir';
  ino: string;
  size: number;
  mtime_ns: string;
  sig: string | null;
  hash: string;
}

const toHashRow = (r: RawHashRow): HashCacheRow => ({ path: r.path, kind: r.kind, ino: r.ino, size: r.size, mtimeNs: r.mtime_ns, sig: r.sig, hash: r.hash });

/** SQLite allows at most 999 bound parameters in old builds: IN lists go in chunks. */
function chunks<T>(xs: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export function openStore(file: string): Store {
  return new Store(file);
}
