// The stat-keyed hash cache: unchanged files are not re-read; any stat change or --verify re-hashes.
import { createHash } from 'node:crypto';
import { utimesSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HashCache } from '../../src/hash/cache.js';
import { openStore, type Store } from '../../src/store/index.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';

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
});
