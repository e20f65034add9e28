// Stat-keyed content hashing (like DVC's state db): a file's sha256 stays valid while its
// (inode, size, mtime_ns) match, so a no-op run stats every input file but reads none. Directories
// also keep a signature of their whole stat listing, so an unchanged directory of 100k files costs
// one walk plus one map lookup, not 100k lookups.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import type { Store } from '../store/index.js';

/** Where cached hashes persist: the store; a Slurm job (which never opens the database) keeps none. */
export type HashRows = Pick<Store, 'hashRows' | 'hashRow' | 'fileHashRowsUnder' | 'upsertHashes'>;

/** No persistence: every path is hashed from its content once per process. */
export const noHashRows: HashRows = { hashRows: () => [], hashRow: () => undefined, fileHashRowsUnder: () => [], upsertHashes: () => undefined };
import type { HashCacheRow } from '../store/types.js';

const CHUNK = 1 << 20;

/**
 * A file modified within this window before it was hashed could be modified again within the same
 * mtime tick (coarse timestamps on some filesystems) without its stat changing: such entries are used
 * for this process but not persisted (git's "racily clean" problem).
 */
const RACY_MS = 2000;

/**
 * The read buffer of hashFileContent, allocated once: a fresh 1 MiB buffer per file made hashing 300k
 * 10 KB thumbnails cost 2.4x the CPU (0.071 vs 0.029 ms per file). Safe to share: hashing is synchronous.
 */
let chunkBuffer: Buffer | undefined;

/** sha256 of a file's bytes, read in chunks so large model files do not sit in memory. */
export function hashFileContent(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = (chunkBuffer ??= Buffer.allocUnsafe(CHUNK));
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

/**
 * Content hash of a directory from its files' hashes, given depth-first in name order (the order of
 * `walk`): the store computes it from its file records at commit, without reading the files again.
 */
export function dirHash(files: Iterable<readonly [rel: string, sha256: string]>): string {
  const h = createHash('sha256').update('pipe-dir-v1\n');
  for (const [rel, hash] of files) h.update(`${rel}\0${hash}\n`);
  return h.digest('hex');
}

/** Names in JS string order (UTF-16 code units, as the commit's walk in entry.ts; readdir's is UTF-8 bytes). */
function sortedNames(dir: string): Dirent[] {
  return readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Visits every regular file under `root` (symlinks followed) depth-first in name order, without
 * collecting them: a no-op run walks 100k files, and holding an entry per file costs more in garbage
 * collection than the stat calls themselves.
 */
function walk(root: string, visit: (rel: string, abs: string, st: Stats) => void, prefix = ''): void {
  for (const d of sortedNames(root)) {
    // Plain concatenation: `root` is already normalised, and path.join costs ~10% of a no-op run.
    const abs = `${root}/${d.name}`;
    const rel = prefix ? `${prefix}/${d.name}` : d.name;
    if (d.isDirectory()) {
      walk(abs, visit, rel);
      continue;
    }
    const st = statSync(abs);
    if (st.isDirectory()) walk(abs, visit, rel);
    else if (st.isFile()) visit(rel, abs, st);
  }
}

/** mtime in ns as text. Plain (not bigint) stats are ~30% cheaper; sub-microsecond digits are lost. */
export function mtimeNs(st: Stats): string {
  return String(Math.round(st.mtimeMs * 1e6));
}

export class HashCache {
  /** File entries seen by this process: loaded per path, or per directory when one is re-hashed. */
  private readonly files = new Map<string, HashCacheRow>();
  private readonly dirs: Map<string, HashCacheRow>;
  private pending: HashCacheRow[] = [];

  constructor(
    private readonly store: HashRows,
    /** Re-read content even when the stat matches (`--verify`). */
    private readonly verify = false,
  ) {
    this.dirs = new Map(store.hashRows('dir').map((r) => [r.path, r]));
  }

  /** Content hash of a file or directory (absolute path). Throws ENOENT for a missing path. */
  hashPath(path: string): string {
    const st = statSync(path);
    return st.isDirectory() ? this.hashDir(path, st) : this.hashFile(path, st);
  }

  hashFile(path: string, st: Stats = statSync(path)): string {
    const ino = String(st.ino);
    const mtime = mtimeNs(st);
    const size = st.size;
    let row = this.files.get(path);
    if (!row && (row = this.store.hashRow(path))) this.files.set(path, row);
    if (!this.verify && row && row.ino === ino && row.size === size && row.mtimeNs === mtime) return row.hash;
    const hash = hashFileContent(path);
    const fresh: HashCacheRow = { path, kind: 'file', ino, size, mtimeNs: mtime, sig: null, hash };
    this.files.set(path, fresh);
    if (Date.now() - st.mtimeMs >= RACY_MS) this.pending.push(fresh);
    return hash;
  }

  private hashDir(path: string, st: Stats): string {
    const sig = createHash('sha256');
    let count = 0;
    let newest = st.mtimeMs;
    // Lines are fed to the hash in ~64 KB chunks: one native call per line costs ~5% of a no-op run.
    let chunk = '';
    walk(path, (rel, _abs, f) => {
      chunk += `${rel}\0${f.ino}\0${f.size}\0${f.mtimeMs}\n`;
      if (chunk.length > 65536) {
        sig.update(chunk);
        chunk = '';
      }
      if (f.mtimeMs > newest) newest = f.mtimeMs;
      count++;
    });
    const signature = sig.update(chunk).digest('hex');
    const row = this.dirs.get(path);
    if (!this.verify && row && row.sig === signature) return row.hash;
    // Something changed (or first sight): hash the files, each through the per-file cache, whose
    // entries for this directory load in one query.
    for (const r of this.store.fileHashRowsUnder(path)) this.files.set(r.path, r);
    const files: [string, string][] = [];
    walk(path, (rel, abs, f) => files.push([rel, this.hashFile(abs, f)]));
    const hash = dirHash(files);
    const fresh: HashCacheRow = { path, kind: 'dir', ino: String(st.ino), size: count, mtimeNs: mtimeNs(st), sig: signature, hash };
    this.dirs.set(path, fresh);
    if (Date.now() - newest >= RACY_MS) this.pending.push(fresh);
    return hash;
  }

  /** Writes new and changed entries in one transaction. */
  flush(): void {
    const rows = this.pending;
    this.pending = [];
    this.store.upsertHashes(rows);
  }
}
