// A store entry, runs/store/<key>/: the committed outputs of one stage key, plus `.pipe-entry.json`, a
// manifest written before the entry is renamed into place, so the store alone can rebuild the database's
// index (`pipe store reindex`). Every file is recorded (size, mtime, sha256) in the manifest and, in the
// commit transaction, in the database: a restore stats each file (a changed mtime is re-hashed), `--verify`
// re-hashes all. Files are made read-only (0444), as DVC protects its cache; directories stay writable so
// `rm -rf runs` still works.
import { chmodSync, cpSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, mkdirSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { StageError, type Json, type MetricRow } from '../stage-api.js';
import { dirHash, hashFileContent, mtimeNs } from '../hash/cache.js';
import { ENTRY_MANIFEST } from '../pipeline/outs.js';
import type { ArtifactRow, FileRecord } from '../store/index.js';
import type { Layout } from './layout.js';

export { ENTRY_MANIFEST };

export interface EntryManifest {
  readonly version: 1;
  readonly key: string;
  readonly stage: string;
  readonly instanceId: string;
  readonly components: Json;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly durationMs: number;
  /** CPU time (ms) and peak RSS (KiB) of the attempt (usage.ts); null where not measured, absent in older entries. */
  readonly cpuMs?: number | null;
  readonly peakRssKb?: number | null;
  readonly logPath: string | null;
  /** Paths relative to the workspace, as in the database. */
  readonly artifacts: readonly ArtifactRow[];
  /** Every file of the entry but the manifest, paths relative to the entry. */
  readonly files: readonly FileRecord[];
  /** The entry's metric rows as JSON lines (built-in kinds), to restore the metrics table from. */
  readonly metricsFile?: string;
  /** The metric rows of a command stage (read from its declared metric outputs at commit), inline. */
  readonly metrics?: readonly MetricRow[];
}

/** Visits everything under `root` but the manifest, depth-first in name order, without following links. */
function walk(root: string, visit: (rel: string, abs: string, st: Stats) => void, prefix = ''): void {
  const names = readdirSync(root).sort();
  for (const name of names) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (rel === ENTRY_MANIFEST) continue;
    const abs = join(root, name);
    const st = lstatSync(abs);
    if (st.isDirectory()) walk(abs, visit, rel);
    else visit(rel, abs, st);
  }
}

/**
 * Confines an attempt's outputs to its output directory before they are committed: a symlink to a file
 * inside it is replaced by a copy of that file; any other link (outside, dangling, to a directory) or
 * special file fails the stage, naming it.
 */
export function confine(dir: string): void {
  const root = realpathSync(dir);
  walk(dir, (rel, abs, st) => {
    if (st.isFile()) return;
    if (!st.isSymbolicLink()) throw new StageError(`output ${rel} is not a regular file or directory`, 'write plain files into the output directory');
    const target = readlinkSync(abs);
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      throw new StageError(`output ${rel} is a dangling symlink (to ${target})`, 'write the file itself into the output directory: pipe does not commit links');
    }
    if (!real.startsWith(root + sep)) throw new StageError(`output ${rel} is a symlink to ${resolve(dirname(abs), target)}, outside the stage's output directory`, 'write (copy) the file itself into the output directory: pipe does not commit links');
    if (!statSync(real).isFile()) throw new StageError(`output ${rel} is a symlink to a directory (${target})`, 'write the directory itself, not a link to it');
    unlinkSync(abs);
    cpSync(real, abs);
  });
}

/** size, mtime and sha256 of every file (after confine: no links), depth-first in name order. */
export function recordFiles(dir: string): FileRecord[] {
  const out: FileRecord[] = [];
  walk(dir, (rel, abs, st) => out.push({ path: rel, size: st.size, mtimeNs: mtimeNs(st), sha256: hashFileContent(abs) }));
  return out;
}

/**
 * Content hash of the output at `rel` in entry `dir` (a file or a directory), from the entry's file
 * records: the same hash HashCache gives the path, without reading the files again.
 */
export function outputHash(dir: string, files: readonly FileRecord[], rel: string): string {
  const path = rel.replace(/\/$/, '');
  const file = files.find((f) => f.path === path);
  if (file) return file.sha256;
  if (!statSync(join(dir, path)).isDirectory()) throw new Error(`output ${rel} has no file record`);
  const prefix = `${path}/`;
  return dirHash(files.filter((f) => f.path.startsWith(prefix)).map((f) => [f.path.slice(prefix.length), f.sha256] as const));
}

export function writeManifest(dir: string, m: EntryManifest): void {
  writeFileSync(join(dir, ENTRY_MANIFEST), `${JSON.stringify(m, null, 1)}\n`);
}

export function readManifest(dir: string): EntryManifest {
  return JSON.parse(readFileSync(join(dir, ENTRY_MANIFEST), 'utf8')) as EntryManifest;
}

/** Makes every file of the entry (the manifest included) read-only. */
export function protect(dir: string): void {
  walk(dir, (_rel, abs) => chmodSync(abs, 0o444));
  chmodSync(join(dir, ENTRY_MANIFEST), 0o444);
}

export type EntryCheck = { readonly ok: true; readonly restat: FileRecord[] } | { readonly ok: false; readonly problem: string };

/**
 * Checks an entry against its file records. Cheap (a stat per file) unless `full`: a file whose size
 * changed is damaged, one whose mtime changed is re-hashed (`restat`: same bytes, new mtime to record).
 * `full` re-hashes every file and also finds files added to the entry.
 */
export function checkEntry(dir: string, records: readonly FileRecord[], full: boolean): EntryCheck {
  const restat: FileRecord[] = [];
  for (const r of records) {
    const abs = join(dir, r.path);
    let st: Stats;
    try {
      st = statSync(abs);
    } catch {
      return { ok: false, problem: `${r.path} is missing` };
    }
    if (!st.isFile()) return { ok: false, problem: `${r.path} is no longer a file` };
    if (st.size !== r.size) return { ok: false, problem: `${r.path} changed size (${r.size} -> ${st.size} bytes)` };
    const m = mtimeNs(st);
    if (!full && m === r.mtimeNs) continue;
    if (hashFileContent(abs) !== r.sha256) return { ok: false, problem: `${r.path} changed content (sha256 differs from the commit)` };
    if (m !== r.mtimeNs) restat.push({ ...r, mtimeNs: m });
  }
  if (full) {
    const known = new Set(records.map((r) => r.path));
    let added: string | undefined;
    walk(dir, (rel) => {
      if (!known.has(rel)) added ??= rel;
    });
    if (added) return { ok: false, problem: `${added} was added after the commit` };
  }
  return { ok: true, restat };
}

/** Moves a damaged entry to runs/corrupt/<key>.<time> (kept for inspection, never deleted); returns where. */
export function moveAside(layout: Layout, key: string): string {
  const dest = layout.corrupt(key, new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dirname(dest), { recursive: true });
  renameSync(layout.store(key), dest);
  return dest;
}
