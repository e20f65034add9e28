// Test helpers: a throw-away workspace directory, and the real `pipe` CLI run as a subprocess.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where bin/pipe.js lives). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PIPE_BIN = join(REPO_ROOT, 'bin', 'pipe.js');

export interface TempWorkspace {
  readonly dir: string;
  /** Writes a file (parents created) relative to the workspace; returns its absolute path. */
  write(rel: string, content: string | Uint8Array): string;
  /** Absolute path of a workspace-relative path. */
  path(rel: string): string;
  cleanup(): void;
  [Symbol.dispose](): void;
}

/** A fresh temporary directory (in `parent`, the system's by default); `cleanup()` (or `using`) removes it. */
export function tempWorkspace(prefix = 'pipe-test-', parent = tmpdir()): TempWorkspace {
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, prefix));
  const ws: TempWorkspace = {
    dir,
    write(rel, content) {
      const p = join(dir, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
      return p;
    },
    path: (rel) => join(dir, rel),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
  return ws;
}

export interface PipeResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr interleaved as they were written. */
  readonly all: string;
}

/** Runs `node bin/pipe.js ...args` (the real CLI, compiled in dist/) in `cwd`. */
export async function runPipe(
  args: readonly string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<PipeResult> {
  const r = await execa(process.execPath, [PIPE_BIN, ...args], {
    cwd: opts.cwd,
    env: { CI: '1', ...opts.env },
    reject: false,
    timeout: opts.timeoutMs ?? 60_000,
    all: true,
  });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, all: r.all };
}

/** `runPipe([... '--json'])` parsed: the run summary document. */
export async function runPipeJson(
  args: readonly string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<{ exitCode: number; stderr: string; doc: RunDoc }> {
  const r = await runPipe([...args, '--json'], opts);
  let doc: RunDoc;
  try {
    doc = JSON.parse(r.stdout) as RunDoc;
  } catch {
    throw new Error(`pipe ${args.join(' ')} --json printed no JSON (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  }
  return { exitCode: r.exitCode, stderr: r.stderr, doc };
}

export interface RunDoc {
  readonly run: number | null;
  readonly status: string;
  readonly instances: readonly {
    readonly id: string;
    readonly status: 'ran' | 'cached' | 'failed' | 'skipped';
    readonly duration_ms: number;
    readonly key: string | null;
    readonly outputs?: Record<string, string>;
    readonly error?: string;
    readonly log?: string;
    readonly log_tail?: string[];
    readonly reason?: string;
    readonly would_run?: boolean;
  }[];
  /** Published outputs (`publish:`) and what happened at each path. */
  readonly published?: readonly { readonly path: string; readonly status: string; readonly id: string; readonly output: string }[];
}

/** Instance ids by status, for compact assertions. */
export function byStatus(doc: RunDoc): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of doc.instances) (out[i.status] ??= []).push(i.id);
  for (const v of Object.values(out)) v.sort();
  return out;
}

/** Every file under `dir` whose bytes contain one of `needles` (a secret must be in none). */
export function filesContaining(dir: string, needles: readonly string[]): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => {
      const bytes = readFileSync(f);
      return needles.some((n) => bytes.includes(n));
    });
}

/**
 * The files under `dir` that this process holds open (Linux /proc). By path, not by count: test files share
 * a worker (vitest `isolate: false`), and an earlier file's streams and databases may close meanwhile.
 */
export function openFilesUnder(dir: string): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return ''; // closed between the listing and the readlink (e.g. the listing's own descriptor)
      }
    })
    .filter((target) => target.startsWith(`${dir}/`));
}
