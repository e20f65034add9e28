// Environment failures (a damaged or emptied database, a full disk) end with exit code 3 and a message
// that names the file and what to do, never a stack trace; 1 stays "a stage failed". Successful runs leave
// a backup of the database, and restoring one loses nothing.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const stage = (name: string, text: string) => `  ${name}:
    run: [node, -e, "require('fs').writeFileSync(process.argv[1], process.argv[2])", "\${outs.o}", "${text}"]
    outs: { o: o.txt }
`;
const pipeline = (b: string) => `stages:\n${stage('a', 'A')}${stage('b', b)}`;

/** `pipe ARGS` exits 3 with `expected` on stderr and no stack trace. */
async function environmentFailure(args: string[], expected: RegExp, cwd = ws.dir): Promise<string> {
  const r = await runPipe(args, { cwd });
  expect(r.exitCode, `pipe ${args.join(' ')}: ${r.all}`).toBe(3);
  expect(r.stderr).toMatch(expected);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return r.stderr;
}

describe('environment failures', () => {
  it('a truncated or corrupt database is exit 3 naming the file and what to do, in every command', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', pipeline('B'));
    expect((await runPipe(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    truncateSync(ws.path('runs/pipe.db'), 8192);
    for (const args of [['run', 'p.yaml'], ['status', 'p.yaml'], ['runs'], ['show', 'a']]) {
      const err = await environmentFailure(args, /^pipe: runs\/pipe\.db is damaged \(SQLITE_CORRUPT/m);
      expect(err).toContain('restore the newest backup from runs/backups/');
      expect(err).toContain('pipe store reindex');
    }
    writeFileSync(ws.path('runs/pipe.db'), 'this is not a database at all'.repeat(200));
    await environmentFailure(['run', 'p.yaml'], /^pipe: runs\/pipe\.db is damaged \(SQLITE_NOTADB/m);
  });

  it('a 0-byte database is not taken for a new workspace', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', pipeline('B'));
    expect((await runPipe(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    writeFileSync(ws.path('runs/pipe.db'), '');
    await environmentFailure(['run', 'p.yaml'], /^pipe: runs\/pipe\.db is empty \(0 bytes\)[^]*hint: .*pipe store reindex/m);
    // Nothing was re-run or recorded behind the user's back.
    expect(readdirSync(ws.path('runs/logs'))).toEqual(['1']);
  });

  it('keeps the newest 3 backups after successful runs; restoring one restores every result', async () => {
    ws = tempWorkspace();
    for (const b of ['B1', 'B2', 'B3', 'B4']) {
      ws.write('p.yaml', pipeline(b));
      expect((await runPipe(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    }
    expect((await runPipe(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0); // a no-op: no new backup
    expect(readdirSync(ws.path('runs/backups')).sort()).toEqual(['pipe-run000002.db', 'pipe-run000003.db', 'pipe-run000004.db']);
    const newest = new Database(ws.path('runs/backups/pipe-run000004.db'), { readonly: true });
    expect(newest.prepare('SELECT id, status FROM runs ORDER BY id').all()).toEqual([1, 2, 3, 4].map((id) => ({ id, status: 'succeeded' })));
    newest.close();

    truncateSync(ws.path('runs/pipe.db'), 4096);
    await environmentFailure(['run', 'p.yaml'], /runs\/pipe\.db is damaged/);
    // The documented restore: copy the newest backup over the database (its -wal/-shm files removed).
    for (const f of ['pipe.db-wal', 'pipe.db-shm']) rmSync(ws.path(`runs/${f}`), { force: true });
    copyFileSync(ws.path('runs/backups/pipe-run000004.db'), ws.path('runs/pipe.db'));
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(r.doc)).toEqual({ cached: ['a', 'b'] });
  });

  it('a full disk is exit 3 naming the database; after freeing space the run resumes with nothing lost', async () => {
    ws = tempWorkspace();
    // A 2 MiB tmpfs as the workspace: the real ENOSPC/SQLITE_FULL path (the tests run as root, as in CI).
    const mnt = ws.path('disk');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    try {
      writeFileSync(join(mnt, 'p.yaml'), pipeline('B'));
      expect((await runPipe(['run', 'p.yaml'], { cwd: mnt })).exitCode).toBe(0);
      writeFileSync(join(mnt, 'p.yaml'), pipeline('B2'));
      // Fill the disk to the last block.
      const fd = openSync(join(mnt, 'filler'), 'w');
      try {
        const block = Buffer.alloc(4096);
        for (;;) writeSync(fd, block);
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(fd);
      }
      await environmentFailure(['run', 'p.yaml'], /^pipe: (the disk holding runs\/pipe\.db is full|no space left on the device)/m, mnt);
      rmSync(join(mnt, 'filler'));
      const r = await runPipeJson(['run', 'p.yaml'], { cwd: mnt });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(byStatus(r.doc)).toEqual({ cached: ['a'], ran: ['b'] });
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
