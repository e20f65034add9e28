// The results store's typed query API against a real SQLite file: what each query returns, in which
// order, and what it leaves alone. The engine tests reach these through whole runs; here every query is
// pinned down on rows chosen to tell the right answer from a plausible wrong one (mutation testing,
// docs/testing.md).
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { backupDatabase, BACKUPS_KEPT } from '../../src/store/backup.js';
import { asEnvironmentError, EnvironmentError, EXIT_ENVIRONMENT, recoveryHint } from '../../src/store/environment.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { groupAlive, holderRunning, openStore, pidAlive, procStat, selfHolder, type CommittedInstance, type RunInstanceRow, type Store } from '../../src/store/index.js';
import { publishedRows, recordRunPublished, runPublished, updatePublished } from '../../src/store/published.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
let store: Store | undefined;
afterEach(() => {
  store?.close();
  store = undefined;
  ws?.cleanup();
});

function fresh(): Store {
  ws = tempWorkspace();
  store = openStore(ws.path('runs/pipe.db'));
  return store;
}

const row = (runId: number, instanceId: string, status: RunInstanceRow['status'], key: string | null = null): RunInstanceRow => ({
  runId,
  instanceId,
  stage: instanceId.split('@')[0],
  key,
  status,
  startedAt: 10,
  durationMs: 5,
  logPath: null,
  error: null,
});

const committed = (key: string, instanceId: string, runId: number, artifacts: CommittedInstance['artifacts'] = []): CommittedInstance => ({
  key,
  stage: instanceId.split('@')[0],
  instanceId,
  components: { kind: 'k', n: key },
  runId,
  startedAt: 1,
  finishedAt: 3,
  durationMs: 2,
  logPath: `logs/${key}.log`,
  artifacts,
});

describe('runs', () => {
  it('records argv, params, pid and status; a finished run keeps its status, newest first', () => {
    const s = fresh();
    const a = s.createRun('p.yaml', ['run', 'p.yaml'], { seeds: [0, 1] });
    const b = s.createRun('q.yaml', ['run', 'q.yaml', '--force'], {});
    const c = s.createRun('p.yaml', [], null);
    expect([a, b, c]).toEqual([1, 2, 3]);
    s.finishRun(a, 'succeeded');
    const ra = s.getRun(a)!;
    expect(ra).toMatchObject({ id: 1, pipeline: 'p.yaml', argv: ['run', 'p.yaml'], params: { seeds: [0, 1] }, pid: process.pid, status: 'succeeded' });
    expect(ra.finishedAt).toBeGreaterThanOrEqual(ra.startedAt);
    expect(s.getRun(b)).toMatchObject({ status: 'running', finishedAt: null });
    expect(s.getRun(99)).toBeUndefined();
    expect(s.listRuns().map((r) => r.id)).toEqual([3, 2, 1]);
    expect(s.listRuns(2).map((r) => r.id)).toEqual([3, 2]);
    expect(s.latestRun('p.yaml')?.id).toBe(3);
    expect(s.latestRun('q.yaml')?.id).toBe(2);
    expect(s.latestRun('none.yaml')).toBeUndefined();
  });

  it('a run left "running" by a process that is gone reads as interrupted', () => {
    const s = fresh();
    const id = s.createRun('p.yaml', [], {});
    const dead = deadPid();
    s.db.prepare('UPDATE runs SET pid = ? WHERE id = ?').run(dead, id);
    expect(s.getRun(id)?.status).toBe('interrupted');
    s.finishRun(id, 'failed');
    expect(s.getRun(id)?.status).toBe('failed');
  });
});

describe('run instances', () => {
  it('keeps the optional columns, replaces a row of the same run and id, lists by id', () => {
    const s = fresh();
    const run = s.createRun('p.yaml', [], {});
    s.recordRunInstance({ ...row(run, 'b', 'failed', 'kb'), error: 'boom', attempts: 2, executor: 'slurm', jobId: '12_3', logPath: 'l.log', cpuMs: 1200, peakRssKb: 51200 });
    s.recordRunInstances([row(run, 'a@x=1', 'cached', 'ka'), row(run, 'c', 'skipped')]);
    s.recordRunInstances([]);
    const rows = s.runInstances(run);
    expect(rows.map((r) => r.instanceId)).toEqual(['a@x=1', 'b', 'c']);
    expect(rows[1]).toEqual({ ...row(run, 'b', 'failed', 'kb'), error: 'boom', attempts: 2, executor: 'slurm', jobId: '12_3', logPath: 'l.log', cpuMs: 1200, peakRssKb: 51200 });
    // Absent optional fields read back as absent attempts and null executor/job/resource use.
    expect(rows[0]).toEqual({ ...row(run, 'a@x=1', 'cached', 'ka'), executor: null, jobId: null, cpuMs: null, peakRssKb: null });
    expect('attempts' in rows[0]).toBe(false);
    s.recordRunInstance(row(run, 'b', 'ran', 'kb2'));
    expect(s.runInstances(run).find((r) => r.instanceId === 'b')).toMatchObject({ status: 'ran', key: 'kb2', error: null });
    expect(s.runInstances(run + 1)).toEqual([]);
  });

  it('history of an instance id or of a stage, newest first; LIKE wildcards in names are literal', () => {
    const s = fresh();
    const r1 = s.createRun('p.yaml', [], {});
    const r2 = s.createRun('p.yaml', [], {});
    for (const r of [r1, r2]) s.recordRunInstances([row(r, 'train@seed=0', 'ran'), row(r, 'train@seed=1', 'ran'), row(r, 'trainer', 'ran'), row(r, 'a_b', 'ran'), row(r, 'axb@i=1', 'ran')]);
    const ids = (h: RunInstanceRow[]) => h.map((x) => `${x.runId}:${x.instanceId}`);
    expect(ids(s.instanceHistory('train'))).toEqual(['2:train@seed=0', '2:train@seed=1', '1:train@seed=0', '1:train@seed=1']);
    expect(ids(s.instanceHistory('train@seed=1'))).toEqual(['2:train@seed=1', '1:train@seed=1']);
    expect(ids(s.instanceHistory('train', 3))).toHaveLength(3);
    // `_` would match any one character in LIKE: "a_b" must not find "axb@...".
    expect(ids(s.instanceHistory('a_b'))).toEqual(['2:a_b', '1:a_b']);
  });

  it('counts instances by status for the latest runs only', () => {
    const s = fresh();
    const r1 = s.createRun('p.yaml', [], {});
    const r2 = s.createRun('p.yaml', [], {});
    s.recordRunInstances([row(r1, 'a', 'ran'), row(r1, 'b', 'failed')]);
    s.recordRunInstances([row(r2, 'a', 'cached'), row(r2, 'b', 'cached'), row(r2, 'c', 'skipped')]);
    expect([...s.runCounts()]).toEqual([
      [1, { ran: 1, failed: 1 }],
      [2, { cached: 2, skipped: 1 }],
    ]);
    expect([...s.runCounts(1).keys()]).toEqual([2]);
  });
});

describe('committed instances', () => {
  it('commits instance, artifacts, files, metrics and the run link in one step; a re-commit replaces them', () => {
    const s = fresh();
    const run = s.createRun('p.yaml', [], {});
    const arts = [
      { name: 'z', path: 'runs/store/k1/z', hash: 'hz' },
      { name: 'a', path: 'runs/store/k1/a', hash: 'ha' },
    ];
    s.commitInstance(
      committed('k1', 'a', run, arts),
      [
        { name: 'acc', value: 0.5, tags: { split: 'test' }, detail: { n: 3 } },
        { name: 'loss', value: null, step: 2 },
      ],
      row(run, 'a', 'ran', 'k1'),
      [{ path: 'z', size: 1, mtimeNs: '5', sha256: 'hz' }],
    );
    const got = s.getCommitted('k1')!;
    // Resource use not given: read back as null.
    expect(got).toEqual({ ...committed('k1', 'a', run), cpuMs: null, peakRssKb: null, artifacts: [arts[1], arts[0]] });
    expect(s.storeFiles('k1')).toEqual([{ path: 'z', size: 1, mtimeNs: '5', sha256: 'hz' }]);
    expect(s.metricsForKey('k1')).toEqual([
      { runId: run, instanceId: 'a', stageKey: 'k1', name: 'acc', value: 0.5, step: null, tags: { split: 'test' }, detail: { n: 3 } },
      { runId: run, instanceId: 'a', stageKey: 'k1', name: 'loss', value: null, step: 2, tags: {} },
    ]);
    expect(s.runInstances(run)).toHaveLength(1);

    // Re-committing the key (a rebuild) replaces artifacts, files and metrics; no link leaves runs alone.
    s.commitInstance(committed('k1', 'a', run, [arts[0]]), [{ name: 'acc', value: 0.7 }], null, []);
    expect(s.getCommitted('k1')!.artifacts).toEqual([arts[0]]);
    expect(s.storeFiles('k1')).toEqual([]);
    expect(s.metricsForKey('k1').map((m) => m.value)).toEqual([0.7]);
    expect(s.getCommitted('nope')).toBeUndefined();
  });

  it('re-stats file records, and forgets a damaged key but keeps its metrics', () => {
    const s = fresh();
    const run = s.createRun('p.yaml', [], {});
    const files = [
      { path: 'a', size: 1, mtimeNs: '1', sha256: 'ha' },
      { path: 'b', size: 2, mtimeNs: '2', sha256: 'hb' },
    ];
    s.commitInstance(committed('k1', 'a', run, [{ name: 'o', path: 'x', hash: 'h' }]), [{ name: 'm', value: 1 }], null, files);
    s.commitInstance(committed('k2', 'b', run), [], null, [{ path: 'a', size: 1, mtimeNs: '1', sha256: 'ha' }]);
    s.restatStoreFiles('k1', [{ ...files[1], mtimeNs: '99' }]);
    const byPath = (k: string) => Object.fromEntries(s.storeFiles(k).map((f) => [f.path, f.mtimeNs]));
    expect(byPath('k1')).toEqual({ a: '1', b: '99' });
    expect(byPath('k2')).toEqual({ a: '1' });
    s.dropCommitted('k1');
    expect(s.getCommitted('k1')).toBeUndefined();
    expect(s.storeFiles('k1')).toEqual([]);
    expect(s.db.prepare('SELECT COUNT(*) AS n FROM artifacts WHERE key = ?').get('k1')).toEqual({ n: 0 });
    expect(s.metricsForKey('k1')).toHaveLength(1);
    expect(s.getCommitted('k2')).toBeDefined();
  });

  it('metrics of a run: those of instances it ran or restored, not of failed or skipped ones', () => {
    const s = fresh();
    const r1 = s.createRun('p.yaml', [], {});
    s.commitInstance(committed('k1', 'a', r1), [{ name: 'm', value: 1 }], row(r1, 'a', 'ran', 'k1'));
    s.commitInstance(committed('k2', 'b', r1), [{ name: 'm', value: 2 }], row(r1, 'b', 'ran', 'k2'));
    const r2 = s.createRun('p.yaml', [], {});
    s.recordRunInstances([row(r2, 'a', 'cached', 'k1'), row(r2, 'b', 'failed', 'k2'), row(r2, 'c', 'skipped', 'k3')]);
    expect(s.metricsForRun(r1).map((m) => m.value)).toEqual([1, 2]);
    expect(s.metricsForRun(r2).map((m) => [m.instanceId, m.value])).toEqual([['a', 1]]);
    expect(s.resultKeys([r2, r1])).toEqual([
      { runId: 1, instanceId: 'a', key: 'k1' },
      { runId: 1, instanceId: 'b', key: 'k2' },
      { runId: 2, instanceId: 'a', key: 'k1' },
    ]);
    expect(s.metricsForKeys(['k2', 'k1']).map((m) => m.stageKey)).toEqual(['k1', 'k2']);
    expect(s.metricsForKeys([])).toEqual([]);
  });

  it('reads keys and runs in chunks past SQLite\'s bound-parameter limit', () => {
    const s = fresh();
    const run = s.createRun('p.yaml', [], {});
    const keys = Array.from({ length: 1201 }, (_, i) => `k${String(i).padStart(4, '0')}`);
    s.db.transaction(() => {
      for (const k of keys) s.commitInstance(committed(k, k, run), [{ name: 'm', value: 1 }], row(run, k, 'ran', k));
    })();
    expect(s.metricsForKeys(keys)).toHaveLength(1201);
    expect(s.resultKeys([run, ...Array.from({ length: 1000 }, (_, i) => i + 100)])).toHaveLength(1201);
  });

  it('the last good result of each instance of a pipeline, from its newest ran or cached row', () => {
    const s = fresh();
    const r1 = s.createRun('p.yaml', [], {});
    s.commitInstance(committed('k1', 'a', r1), [], row(r1, 'a', 'ran', 'k1'));
    s.commitInstance(committed('kb', 'b', r1), [], row(r1, 'b', 'ran', 'kb'));
    const other = s.createRun('q.yaml', [], {});
    s.commitInstance(committed('kq', 'a', other), [], row(other, 'a', 'ran', 'kq'));
    const r2 = s.createRun('p.yaml', [], {});
    s.commitInstance(committed('k2', 'a', r2), [], row(r2, 'a', 'ran', 'k2'));
    s.recordRunInstance(row(r2, 'b', 'failed', 'kb-new'));
    const good = s.lastGoodByInstance('p.yaml');
    expect([...good.keys()].sort()).toEqual(['a', 'b']);
    expect(good.get('a')).toEqual({ key: 'k2', components: { kind: 'k', n: 'k2' } });
    expect(good.get('b')?.key).toBe('kb');
    expect(s.lastGoodByInstance('q.yaml').get('a')?.key).toBe('kq');
  });

  it('the change stamp moves when a run starts or finishes, an instance is recorded or a metric committed', () => {
    const s = fresh();
    const stamps = [s.changeStamp()];
    const run = s.createRun('p.yaml', [], {});
    stamps.push(s.changeStamp());
    s.recordRunInstance(row(run, 'a', 'skipped'));
    stamps.push(s.changeStamp());
    s.commitInstance(committed('k', 'b', run), [{ name: 'm', value: 1 }], null);
    stamps.push(s.changeStamp());
    s.finishRun(run, 'succeeded');
    stamps.push(s.changeStamp());
    expect(new Set(stamps).size).toBe(stamps.length);
    expect(stamps[0]).toBe('0:0:');
    expect(s.changeStamp()).toBe(stamps.at(-1));
  });
});

describe('locks and jobs', () => {
  it('a key is locked once; the holder may re-take it; an unlock frees it; a dead holder\'s group is handed over', () => {
    const s = fresh();
    expect(s.tryLock('k', 'a')).toEqual({ ok: true, orphanGroup: null });
    expect(s.tryLock('k', 'a')).toEqual({ ok: true, orphanGroup: null });
    s.setLockGroup('k', 4242);
    // A live other process holds it: refused, naming the holder.
    const other = { pid: process.ppid, host: hostname(), started: procStat(process.ppid)!.startTime };
    s.db.prepare('UPDATE locks SET pid = ?, started = ? WHERE key = ?').run(other.pid, other.started, 'k');
    expect(s.tryLock('k', 'a')).toEqual({ ok: false, holder: { ...other, pgid: 4242 } });
    // A holder that died: taken over, its process group returned to be ended.
    s.db.prepare('UPDATE locks SET pid = ?, started = NULL WHERE key = ?').run(deadPid(), 'k');
    expect(s.tryLock('k', 'a')).toEqual({ ok: true, orphanGroup: 4242 });
    // The orphan group stays recorded until this holder replaces it.
    expect(s.db.prepare('SELECT pid, pgid, instance_id AS i FROM locks WHERE key = ?').get('k')).toEqual({ pid: process.pid, pgid: 4242, i: 'a' });
    s.unlock('k');
    expect(s.db.prepare('SELECT COUNT(*) AS n FROM locks').get()).toEqual({ n: 0 });
  });

  it('a job is recorded at submission, found by key, and forgotten only with its own id', () => {
    const s = fresh();
    const job = { key: 'k', jobId: '7', dir: '/tmp/j', instanceId: 'a', runId: 1, submittedAt: 5 };
    s.recordJob(job);
    s.recordJob({ ...job, key: 'k2', jobId: '8' });
    expect(s.jobFor('k')).toEqual(job);
    s.forgetJob('k', '8');
    expect(s.jobFor('k')).toEqual(job);
    s.forgetJob('k', '7');
    expect(s.jobFor('k')).toBeUndefined();
    expect(s.jobFor('k2')?.jobId).toBe('8');
  });
});

describe('hash cache rows', () => {
  it('by kind, by path, and the files strictly below a directory', () => {
    const s = fresh();
    const h = (path: string, kind: 'file' | 'dir' = 'file') => ({ path, kind, ino: '1', size: 2, mtimeNs: '3', sig: kind === 'dir' ? 's' : null, hash: `h${path}` });
    s.upsertHashes([h('/d'), h('/d/a'), h('/d/s/b'), h('/d-x/c'), h('/d0'), h('/dz/e'), h('/d', 'dir')]);
    s.upsertHashes([]);
    expect(s.hashRows('dir')).toEqual([h('/d', 'dir')]);
    expect(s.hashRows('file').map((r) => r.path).sort()).toEqual(['/d-x/c', '/d/a', '/d/s/b', '/d0', '/dz/e']);
    expect(s.hashRow('/d/a')).toEqual(h('/d/a'));
    expect(s.hashRow('/nope')).toBeUndefined();
    expect(s.fileHashRowsUnder('/d').map((r) => r.path).sort()).toEqual(['/d/a', '/d/s/b']);
    s.upsertHashes([{ ...h('/d/a'), hash: 'new' }]);
    expect(s.hashRow('/d/a')?.hash).toBe('new');
  });
});

describe('published outputs', () => {
  it('what is at each path, updated and forgotten in one step; what a run published, by path', () => {
    const s = fresh();
    const p = (path: string, key: string) => ({ path, pipeline: 'p.yaml', instanceId: 'a', output: 'o', key, hash: `h${key}` });
    updatePublished(s, [p('out/b', 'k1'), p('out/a', 'k1')], []);
    expect([...publishedRows(s).values()].sort((x, y) => x.path.localeCompare(y.path))).toEqual([p('out/a', 'k1'), p('out/b', 'k1')]);
    updatePublished(s, [], []);
    updatePublished(s, [p('out/b', 'k2')], ['out/a']);
    expect([...publishedRows(s).values()]).toEqual([p('out/b', 'k2')]);
    recordRunPublished(s, 1, [
      { path: 'z', instanceId: 'a', output: 'o', key: 'k' },
      { path: 'm', instanceId: 'b', output: 'o', key: 'k' },
    ]);
    recordRunPublished(s, 2, []);
    expect(runPublished(s, 1).map((r) => r.path)).toEqual(['m', 'z']);
    expect(runPublished(s, 1)[0]).toEqual({ path: 'm', instanceId: 'b', output: 'o', key: 'k' });
    expect(runPublished(s, 2)).toEqual([]);
  });
});

describe('the database file', () => {
  it('a new database is created at the latest schema version; opening it again migrates nothing', () => {
    const s = fresh();
    expect(s.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    s.createRun('p.yaml', [], {});
    s.close();
    store = openStore(ws.path('runs/pipe.db'));
    expect(store.listRuns()).toHaveLength(1);
    expect(readdirSync(ws.path('runs')).filter((f) => f.endsWith('.new'))).toEqual([]);
  });

  it('an empty database file is lost history: refused with what to do', () => {
    ws = tempWorkspace();
    ws.write('runs/pipe.db', '');
    ws.write('runs/store/k/x', 'x');
    ws.write('runs/backups/pipe-run000001.db', 'x');
    let err: unknown;
    try {
      openStore(ws.path('runs/pipe.db'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvironmentError);
    const e = err as EnvironmentError;
    expect(e.message).toMatch(/pipe\.db is empty \(0 bytes\)/);
    expect(e.hint).toMatch(/^restore the newest backup from .*backups\/.*, or run `pipe store reindex`.*, or move .*pipe\.db aside/);
    // A 0-byte file beside a non-empty write-ahead log is not refused (the log may hold the content).
    ws.write('runs/pipe2.db', '');
    ws.write('runs/pipe2.db-wal', 'not a valid log: SQLite ignores it');
    const s = openStore(ws.path('runs/pipe2.db'));
    expect(s.listRuns()).toEqual([]);
    s.close();
  });

  it('the recovery hint names only what exists', () => {
    ws = tempWorkspace();
    expect(recoveryHint(ws.path('runs/pipe.db'))).toMatch(/^move .*pipe\.db aside to start a new history$/);
    // An empty store and a backups folder without a backup: still nothing to restore from.
    mkdirSync(ws.path('runs/store'), { recursive: true });
    ws.write('runs/backups/notes.txt', '');
    expect(recoveryHint(ws.path('runs/pipe.db'))).toBe(`move ${ws.path('runs/pipe.db')} aside to start a new history`);
    ws.write('runs/store/.keep', '');
    expect(recoveryHint(ws.path('runs/pipe.db'))).toBe(
      `run \`pipe store reindex\` to rebuild the index from ${ws.path('runs/store')}/ (no result is recomputed), or move ${ws.path('runs/pipe.db')} aside to start a new history`,
    );
    ws.write('runs/backups/pipe-run000001.db', 'x');
    expect(recoveryHint(ws.path('runs/pipe.db'))).toMatch(new RegExp(`^restore the newest backup from ${ws.path('runs/backups')}/ `));
  });

  it('backs up after a run, keeping the newest copies', async () => {
    const s = fresh();
    s.createRun('p.yaml', [], {});
    const made: string[] = [];
    // A file of the user's in the folder is not a backup: never deleted.
    ws.write('runs/backups/a-note.txt', 'mine');
    for (const id of [1, 2, 3, 4, 10]) made.push(await backupDatabase(ws.path('runs/pipe.db'), id));
    expect(made.at(-1)).toBe(ws.path('runs/backups/pipe-run000010.db'));
    expect(readdirSync(ws.path('runs/backups')).sort()).toEqual(['a-note.txt', 'pipe-run000003.db', 'pipe-run000004.db', 'pipe-run000010.db']);
    expect(BACKUPS_KEPT).toBe(3);
    const copy = new Database(made.at(-1)!, { readonly: true });
    expect(copy.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 1 });
    copy.close();
  });
});

describe('environment errors', () => {
  it('classifies SQLite and file-system failures, naming the database and what to do', () => {
    const s = fresh();
    const sqlite = (code: string) => Object.assign(new Error('disk I/O error'), { name: 'SqliteError', code });
    expect(EXIT_ENVIRONMENT).toBe(3);
    expect(asEnvironmentError(sqlite('SQLITE_CORRUPT'))?.message).toMatch(/pipe\.db is damaged \(SQLITE_CORRUPT: disk I\/O error\)/);
    expect(asEnvironmentError(sqlite('SQLITE_NOTADB'))?.hint).toMatch(/move .*pipe\.db aside/);
    expect(asEnvironmentError(sqlite('SQLITE_FULL'))?.message).toMatch(/the disk holding .*pipe\.db is full \(SQLITE_FULL\)/);
    const io = asEnvironmentError(sqlite('SQLITE_IOERR_WRITE'))!;
    expect(io.message).toMatch(/pipe\.db cannot be read or written \(SQLITE_IOERR_WRITE: disk I\/O error\)/);
    expect(io.hint).toMatch(/permissions/);
    expect(asEnvironmentError(sqlite('SQLITE_CONSTRAINT'))).toBeUndefined();
    const errno = (code: string, path?: string) => Object.assign(new Error(`${code}: failed`), { code, ...(path ? { path } : {}) });
    expect(asEnvironmentError(errno('ENOSPC', '/x/y'))?.message).toBe('no space left on the device (/x/y): ENOSPC');
    expect(asEnvironmentError(errno('EDQUOT'))?.message).toBe('no space left on the device: EDQUOT');
    expect(asEnvironmentError(errno('EROFS', '/x'))?.message).toBe('the file system failed (/x): EROFS: failed');
    expect(asEnvironmentError(errno('ENOENT', '/x'))).toBeUndefined();
    expect(asEnvironmentError('text')).toBeUndefined();
    const own = new EnvironmentError('m', 'h');
    expect(asEnvironmentError(own)).toBe(own);
    expect(own.name).toBe('EnvironmentError');
    s.close();
    store = undefined;
  });
});

describe('process identity', () => {
  it('this process, a dead pid, a reused pid and another host', () => {
    const me = selfHolder();
    expect(me).toEqual({ host: hostname(), pid: process.pid, started: procStat(process.pid)!.startTime });
    expect(selfHolder()).toBe(me);
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(process.ppid)).toBe(true);
    const dead = deadPid();
    expect(pidAlive(dead)).toBe(false);
    expect(procStat(dead)).toBeNull();
    expect(holderRunning(me)).toBe(true);
    expect(holderRunning({ ...me, started: null })).toBe(true);
    // The pid is alive but started at another time: reused by another process after the holder died.
    expect(holderRunning({ ...me, started: '1' })).toBe(false);
    expect(holderRunning({ host: 'elsewhere', pid: dead, started: null })).toBe(true);
    expect(holderRunning({ host: null, pid: dead, started: null })).toBe(false);
    expect(procStat(process.pid)!.pgrp).toBe(Number(readPgrp()));
  });

  it('a process group is alive while a member runs, not once all exited', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const pgid = child.pid!;
    expect(groupAlive(pgid)).toBe(true);
    expect(procStat(pgid)).toMatchObject({ state: expect.stringMatching(/^[RS]$/), pgrp: pgid });
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-pgid, 'SIGKILL');
    await exited;
    expect(groupAlive(pgid)).toBe(false);
  });

  it('an exited process its parent has not reaped (a zombie) is not alive, nor is a group of zombies only', async () => {
    const { line } = await startPrinting(UNREAPED(false));
    await zombie(Number(line));
    expect(pidAlive(Number(line))).toBe(false);
    const { line: own } = await startPrinting(UNREAPED(true));
    const z = Number(own);
    await zombie(z);
    expect(procStat(z)?.pgrp).toBe(z);
    expect(groupAlive(z)).toBe(false);
  });

  it('a group outlives its leader while a member runs (a command that left a background job)', async () => {
    const { child: leader, line: member } = await startPrinting(['sh', '-c', 'sleep 60 & echo $!'], true);
    if (leader.exitCode === null) await once(leader, 'exit'); // it may have ended while its line was read
    expect(pidAlive(Number(member))).toBe(true);
    expect(groupAlive(leader.pid!)).toBe(true);
    process.kill(Number(member), 'SIGKILL');
  });
});

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `argv` (in its own process group when `group`) and resolves with it and the first line it prints. */
async function startPrinting(argv: string[], group = false): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], detached: group });
  children.push(child);
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, line: chunk.toString().trim() };
}

/**
 * A parent that never reaps: its child exits at once and stays a zombie while the parent sleeps; it prints
 * the child's pid. With `ownGroup` the child first moves to a process group of its own, which then holds
 * only the zombie. (perl: part of every Debian system, perl-base is essential.)
 */
const UNREAPED = (ownGroup: boolean) => ['perl', '-e', `$| = 1; my $p = fork(); if ($p == 0) { ${ownGroup ? 'setpgrp(0, 0); ' : ''}exit 0 } print "$p\n"; sleep 60`];

/** Waits until `pid` is a zombie (it exited and its parent has not reaped it). */
async function zombie(pid: number): Promise<void> {
  for (let i = 0; i < 200 && procStat(pid)?.state !== 'Z'; i++) await new Promise((r) => setTimeout(r, 25));
  expect(procStat(pid)?.state).toBe('Z');
}

/** A pid no process has: one past the highest in use that does not exist. */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
}

/** Field 5 (process group) of /proc/self/stat, read here independently of procStat. */
function readPgrp(): string {
  const s = readFileSync('/proc/self/stat', 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[2];
}
