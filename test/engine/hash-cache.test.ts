// The stat-keyed hash cache: unchanged files are not re-read; any stat change or --verify re-hashes.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { outputHash, recordFiles } from '../../src/engine/entry.js';
import { HashCache, noHashRows } from '../../src/hash/cache.js';
import { openStore, type Store } from '../../src/store/index.js';
import { openFilesUnder, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
let store: Store | undefined;
afterEach(() => {
  store?.close();
  store = undefined;
  ws?.cleanup();
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('HashCache', () => {
  it('trusts (inode, size, mtime) across processes, re-reads on change or with verify', () => {
    ws = tempWorkspace();
    const f = ws.write('a.txt', 'aaaa');
    const T = 1_700_000_000; // whole seconds: restorable exactly with utimes
    utimesSync(f, T, T);
    store = openStore(ws.path('runs/pipe.db'));
    const c1 = new HashCache(store);
    expect(c1.hashPath(f)).toBe(sha('aaaa'));
    c1.flush();

    // Same size, same mtime, different bytes: a fresh cache (new process) trusts the stat.
    writeFileSync(f, 'bbbb');
    utimesSync(f, T, T);
    expect(new HashCache(store).hashPath(f)).toBe(sha('aaaa'));
    // --verify re-reads.
    expect(new HashCache(store, true).hashPath(f)).toBe(sha('bbbb'));
    // A real edit changes mtime: re-read.
    writeFileSync(f, 'cccc');
    utimesSync(f, T, T + 5);
    expect(new HashCache(store).hashPath(f)).toBe(sha('cccc'));
  });

  it('hashes a directory from its sorted (path, hash) list; adding, editing or renaming a file changes it', () => {
    ws = tempWorkspace();
    ws.write('d/b.txt', 'b');
    ws.write('d/sub/a.txt', 'a');
    store = openStore(ws.path('runs/pipe.db'));
    const h1 = new HashCache(store).hashPath(ws.path('d'));
    const expected = createHash('sha256').update('pipe-dir-v1\n').update(`b.txt\0${sha('b')}\n`).update(`sub/a.txt\0${sha('a')}\n`).digest('hex');
    expect(h1).toBe(expected);
    const c = new HashCache(store);
    expect(c.hashPath(ws.path('d'))).toBe(h1);
    ws.write('d/c.txt', 'c');
    const h2 = new HashCache(store).hashPath(ws.path('d'));
    expect(h2).not.toBe(h1);
    ws.write('d/c.txt', 'C');
    utimesSync(ws.path('d/c.txt'), new Date(), new Date(Date.now() + 10_000));
    expect(new HashCache(store).hashPath(ws.path('d'))).not.toBe(h2);
  });

  it('does not persist a hash of a file modified just before hashing (same-tick edits stay visible)', () => {
    ws = tempWorkspace();
    const f = ws.write('a.txt', 'aaaa');
    const now = Date.now() / 1000;
    utimesSync(f, now, now);
    store = openStore(ws.path('runs/pipe.db'));
    const c = new HashCache(store);
    expect(c.hashPath(f)).toBe(sha('aaaa'));
    c.flush();
    writeFileSync(f, 'bbbb'); // same size, and (on a coarse clock) the same mtime
    utimesSync(f, now, now);
    expect(new HashCache(store).hashPath(f)).toBe(sha('bbbb'));
  });
  it('loads the file entries of exactly the directory it re-hashes', () => {
    ws = tempWorkspace();
    const T = 1_700_000_000;
    for (const rel of ['d/x.txt', 'd/sub/y.txt', 'd-other/z.txt', 'dz/w.txt']) utimesSync(ws.write(rel, rel), T, T);
    store = openStore(ws.path('runs/pipe.db'));
    const c = new HashCache(store);
    for (const dir of ['d', 'd-other', 'dz']) c.hashPath(ws.path(dir));
    c.flush();
    const under = store.fileHashRowsUnder(ws.path('d')).map((r) => r.path).sort();
    expect(under).toEqual([ws.path('d/sub/y.txt'), ws.path('d/x.txt')]);
    expect(store.hashRow(ws.path('dz/w.txt'))?.hash).toBe(sha('dz/w.txt'));
  });

  it('a file replaced by another of the same size and mtime (new inode), or resized in place, is re-read', () => {
    ws = tempWorkspace();
    const T = 1_700_000_000;
    const f = ws.write('a.txt', 'aaaa');
    utimesSync(f, T, T);
    store = openStore(ws.path('runs/pipe.db'));
    const c = new HashCache(store);
    c.hashPath(f);
    c.flush();
    utimesSync(ws.write('b.txt', 'bbbb'), T, T);
    renameSync(ws.path('b.txt'), f);
    expect(new HashCache(store).hashPath(f)).toBe(sha('bbbb'));
    const c2 = new HashCache(store);
    c2.hashPath(f);
    c2.flush();
    writeFileSync(f, 'bbbbb');
    utimesSync(f, T, T);
    expect(new HashCache(store).hashPath(f)).toBe(sha('bbbbb'));
  });

  it('orders a directory by name (JS string order), follows symlinks, skips what is not a regular file', () => {
    ws = tempWorkspace();
    const names = ['b', 'a', 'C', '_x', 'Z9', 'a.b', 'a-b', 'ab', '0', 'é', 'B', 'zz', 'y', 'M', 'm', 'k1', 'K2'];
    for (const n of names) ws.write(`d/${n}`, n);
    ws.write('real/inner.txt', 'inner');
    ws.write('target.txt', 'target');
    symlinkSync(ws.path('real'), ws.path('d/linked-dir'));
    symlinkSync(ws.path('target.txt'), ws.path('d/linked-file'));
    execFileSync('mkfifo', [ws.path('d/fifo')]);
    const entries: [string, string][] = [...names.map((n) => [n, sha(n)] as [string, string]), ['linked-dir/inner.txt', sha('inner')], ['linked-file', sha('target')]];
    entries.sort((x, y) => (x[0] < y[0] ? -1 : 1));
    const expected = createHash('sha256').update('pipe-dir-v1\n');
    for (const [rel, h] of entries) expected.update(`${rel}\0${h}\n`);
    store = openStore(ws.path('runs/pipe.db'));
    expect(new HashCache(store).hashPath(ws.path('d'))).toBe(expected.digest('hex'));
  });

  it('trusts a directory whose stat listing is unchanged across processes; a changed listing or --verify re-hashes', () => {
    ws = tempWorkspace();
    const T = 1_700_000_000;
    for (const rel of ['d/x.txt', 'd/sub/y.txt', 'd/z.txt']) utimesSync(ws.write(rel, rel), T, T);
    utimesSync(ws.path('d'), T, T);
    store = openStore(ws.path('runs/pipe.db'));
    const c = new HashCache(store);
    const h1 = c.hashPath(ws.path('d'));
    c.flush();
    const [row] = store.hashRows('dir');
    expect(row).toMatchObject({ path: ws.path('d'), kind: 'dir', size: 3, hash: h1, sig: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Same bytes count and stat, other content, and the file rows forgotten: the directory row alone answers.
    writeFileSync(ws.path('d/x.txt'), 'D/X.TXT');
    utimesSync(ws.path('d/x.txt'), T, T);
    store.db.prepare(`DELETE FROM hash_cache WHERE kind = 'file'`).run();
    expect(new HashCache(store).hashPath(ws.path('d'))).toBe(h1);
    expect(new HashCache(store, true).hashPath(ws.path('d'))).not.toBe(h1);
    // A changed mtime of one file changes the listing: re-hashed.
    utimesSync(ws.path('d/x.txt'), T, T + 1);
    expect(new HashCache(store).hashPath(ws.path('d'))).not.toBe(h1);
  });

  it('does not persist a directory holding a file modified just before hashing', () => {
    ws = tempWorkspace();
    const T = 1_700_000_000;
    utimesSync(ws.write('d/old.txt', 'old'), T, T);
    const now = Date.now() / 1000;
    utimesSync(ws.write('d/new.txt', 'new'), now, now);
    utimesSync(ws.path('d'), T, T);
    store = openStore(ws.path('runs/pipe.db'));
    const c = new HashCache(store);
    c.hashPath(ws.path('d'));
    c.flush();
    expect(store.hashRows('dir')).toEqual([]);
    expect(store.hashRow(ws.path('d/old.txt'))).toBeDefined();
    expect(store.hashRow(ws.path('d/new.txt'))).toBeUndefined();
  });

  it('gives a directory the hash the commit computes from its file records, names beyond the BMP included', () => {
    // readdir returns names in UTF-8 byte order; the commit's walk (src/engine/entry.ts) sorts them as JS
    // strings (UTF-16 code units). The two differ where a name in U+E000-U+FFFF meets one above U+FFFF: the
    // cache must use the commit's order, or a committed directory output would hash differently when a
    // downstream stage reads it, and its key would never match again.
    ws = tempWorkspace();
    const names = ['a', '\uE000', '\uFF01', '\u{1F600}', 'z', '\u{10000}b', 'sub/\uFFFD', 'sub/\u{1F601}'];
    for (const n of names) ws.write(`entry/out/${n}`, n);
    const byteOrder = readdirSync(ws.path('entry/out'));
    const stringOrder = [...byteOrder].sort();
    expect(byteOrder).not.toEqual(stringOrder); // the case this test exists for
    const committed = outputHash(ws.path('entry'), recordFiles(ws.path('entry')), 'out/');
    store = openStore(ws.path('runs/pipe.db'));
    expect(new HashCache(store).hashPath(ws.path('entry/out'))).toBe(committed);
  });

  it('closes every file it reads', () => {
    // 300k input files in one run: a descriptor left open per file would exhaust the process's limit.
    ws = tempWorkspace();
    const f = ws.write('a.txt', 'aaaa');
    const c = new HashCache(noHashRows, true);
    for (let i = 0; i < 20; i++) expect(c.hashPath(f)).toBe(sha('aaaa'));
    expect(openFilesUnder(ws.dir)).toEqual([]);
  });

  it('writes each new entry once: a second flush writes nothing', () => {
    ws = tempWorkspace();
    const T = 1_700_000_000;
    utimesSync(ws.write('d/a.txt', 'a'), T, T);
    utimesSync(ws.path('d'), T, T);
    store = openStore(ws.path('runs/pipe.db'));
    const c = new HashCache(store);
    c.hashPath(ws.path('d'));
    c.flush();
    expect(store.hashRows('dir')).toHaveLength(1);
    expect(store.hashRow(ws.path('d/a.txt'))?.hash).toBe(sha('a'));
    store.db.prepare('DELETE FROM hash_cache').run();
    c.flush();
    expect(store.hashRows('dir')).toEqual([]);
    expect(store.hashRow(ws.path('d/a.txt'))).toBeUndefined();
  });

  it('without a store (a Slurm job) hashes files and directories and persists nothing', () => {
    ws = tempWorkspace();
    ws.write('d/a.txt', 'a');
    mkdirSync(ws.path('d/empty'));
    const c = new HashCache(noHashRows);
    expect(c.hashPath(ws.path('d/a.txt'))).toBe(sha('a'));
    expect(c.hashPath(ws.path('d'))).toBe(createHash('sha256').update('pipe-dir-v1\n').update(`a.txt\0${sha('a')}\n`).digest('hex'));
    c.flush();
    expect(new HashCache(noHashRows).hashPath(ws.path('d'))).toBe(c.hashPath(ws.path('d')));
  });
});
