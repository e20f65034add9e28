// Stat-keyed content hashing (like DVC's state db): a file's sha256 stays valid while its
// (inode, size, mtime_ns) match, so a no-op run stats every input file but reads none. Directories
// also keep a signature of their whole stat listing, so an unchanged directory of 100k files costs
// one walk plus one map lookup, not 100k lookups.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, readdirSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/index.js';
import type { HashCacheRow } from '../store/types.js';

const CHUNK = 1 << 20;

/** sha256 of a file's bytes, read in chunks so large model files do not sit in memory. */
export function hashFileContent(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

interface FileEntry {
  readonly rel: string;
  readonly abs: string;
  readonly st: BigIntStats;
}

/** All regular files under `root` (symlinks followed), sorted by relative path with `/` separators. */
function walk(root: string): FileEntry[] {
  const out: FileEntry[] = [];
  const stack: [string, string][] = [[root, '']];
  while (stack.length) {
    const [dir, prefix] = stack.pop()!;
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, d.name);
      const rel = prefix ? `${prefix}/${d.name}` : d.name;
      if (d.isDirectory()) {
        stack.push([abs, rel]);
        continue;
      }
      const st = statSync(abs, { bigint: true });
      if (st.isDirectory()) stack.push([abs, rel]);
      else if (st.isFile()) out.push({ rel, abs, st });
    }
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export class HashCache {
  private files: Map<string, HashCacheRow> | undefined;
  private readonly dirs: Map<string, HashCacheRow>;
  private pending: HashCacheRow[] = [];

  constructor(
    private readonly store: Store,
    /** Re-read content even when the stat matches (`--verify`). */
    private readonly verify = false,
  ) {
    this.dirs = new Map(store.hashRows('dir').map((r) => [r.path, r]));
  }

  /** Content hash of a file or directory (absolute path). Throws ENOENT for a missing path. */
  hashPath(path: string): string {
    const st = statSync(path, { bigint: true });
    return st.isDirectory() ? this.hashDir(path, st) : this.hashFile(path, st);
  }

  hashFile(path: string, st: BigIntStats = statSync(path, { bigint: true })): string {
    // File rows load in one query, and only when some directory signature missed.
    this.files ??= new Map(this.store.hashRows('file').map((r) => [r.path, r]));
    const ino = String(st.ino);
    const mtimeNs = String(st.mtimeNs);
    const size = Number(st.size);
    const row = this.files.get(path);
    if (!this.verify && row && row.ino === ino && row.size === size && row.mtimeNs === mtimeNs) return row.hash;
    const hash = hashFileContent(path);
    const fresh: HashCacheRow = { path, kind: 'file', ino, size, mtimeNs, sig: null, hash };
    this.files.set(path, fresh);
    this.pending.push(fresh);
    return hash;
  }

  private hashDir(path: string, st: BigIntStats): string {
    const entries = walk(path);
    const sig = createHash('sha256');
    for (const e of entries) sig.update(`${e.rel}\0${e.st.ino}\0${e.st.size}\0${e.st.mtimeNs}\n`);
    const signature = sig.digest('hex');
    const row = this.dirs.get(path);
    if (!this.verify && row && row.sig === signature) return row.hash;
    const h = createHash('sha256').update('pipe-dir-v1\n');
    for (const e of entries) h.update(`${e.rel}\0${this.hashFile(e.abs, e.st)}\n`);
    const hash = h.digest('hex');
    const fresh: HashCacheRow = {
      path,
      kind: 'dir',
      ino: String(st.ino),
      size: entries.length,
      mtimeNs: String(st.mtimeNs),
      sig: signature,
      hash,
    };
    this.dirs.set(path, fresh);
    this.pending.push(fresh);
    return hash;
  }

  /** Writes new and changed entries in one transaction. */
  flush(): void {
    const rows = this.pending;
    this.pending = [];
    this.store.upsertHashes(rows);
  }
}
