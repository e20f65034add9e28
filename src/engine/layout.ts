// Where things live under the workspace's `runs/` directory.
import { mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { workspaceConfig } from './config.js';

export class Layout {
  readonly runs: string;
  constructor(
    readonly workspace: string,
    /** `--db PATH` / `db:` of pipe.config.yaml: SQLite on a local disk when the workspace is on NFS. */
    private readonly dbPath?: string,
  ) {
    this.runs = join(workspace, 'runs');
  }
  get db(): string {
    const configured = this.dbPath ?? workspaceConfig(this.workspace).db;
    return configured ? resolve(this.workspace, configured) : join(this.runs, 'pipe.db');
  }
  /** Content-addressed output directory of a stage key. */
  store(key: string): string {
    return join(this.runs, 'store', key.slice(0, 2), key);
  }
  /** Where a damaged store entry is moved (kept, never deleted). */
  corrupt(key: string, stamp: string): string {
    return join(this.runs, 'corrupt', `${key}.${stamp}`);
  }
  get tmp(): string {
    return join(this.runs, 'tmp');
  }
  /** Survives failed attempts of one key (checkpoints); deleted after success. */
  partial(key: string): string {
    return join(this.runs, 'partial', key);
  }
  /** Cluster jobs' directories (request, output dir, result file) and Slurm's own output files. */
  get jobs(): string {
    return join(this.runs, 'jobs');
  }
  kindCache(kind: string): string {
    return join(this.runs, 'kind-cache', kind);
  }
  log(runId: number, instanceId: string): string {
    return join(this.runs, 'logs', String(runId), `${safeName(instanceId)}.log`);
  }
  latest(instanceId: string): string {
    return join(this.runs, 'latest', safeName(instanceId));
  }
}

/** An instance id as a file name: keeps `@`, `=`, `,`, replaces anything else unusual. */
export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._@=,+-]/g, '_');
}

/** runs/latest/<id> -> the store dir of its key, touched only when it changed. */
export function linkLatest(layout: Layout, id: string, key: string): void {
  const path = layout.latest(id);
  const target = relative(dirname(path), layout.store(key));
  try {
    if (readlinkSync(path) === target) return;
    unlinkSync(path);
  } catch {
    mkdirSync(dirname(path), { recursive: true });
  }
  try {
    symlinkSync(target, path);
  } catch {
    // A concurrent run linked it first; either target is a valid result.
  }
}
