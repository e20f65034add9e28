// Commands whose output goes straight to their log file are started by a small helper process, not by
// the engine's own. Node's spawn() forks the calling process and blocks its
// event loop until the child has called exec; fork() copies the caller's page tables, and until the exec
// every page the caller writes faults and is copied. From the engine's large process that costs several
// times what it costs from a bare Node process (BENCHMARKS.md, per-instance overhead), and the run loop
// stalls meanwhile. The helper only spawns and reports: each pid at once, each exit when it happens.
// A process's first few commands, while it is small, start from it directly (startCommand, below).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/** How a command ended: its exit code or signal, or why it could not be started. */
export type Exit = { exitCode: number | undefined; signal: string | undefined } | { error: NodeJS.ErrnoException };

/** A started command: its pid (undefined when it could not be started) and its end. */
export interface Started {
  readonly pid: number | undefined;
  readonly exit: Promise<Exit>;
}

export interface SpawnRequest {
  readonly file: string;
  readonly args: readonly string[];
  /** `file` is a shell command line (run by /bin/sh -c). */
  readonly shell: boolean;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Appended to (O_APPEND) by the command's stdout and stderr. */
  readonly log: string;
}

/** Messages of the helper, by request id. */
type HelperMessage =
  | { readonly id: number; readonly pid: number }
  | { readonly id: number; readonly exitCode: number | null; readonly signal: string | null }
  | { readonly id: number; readonly error: { readonly code?: string; readonly message: string } };

interface Pending {
  started?: (pid: number | undefined) => void;
  ended: (e: Exit) => void;
}

/**
 * The helper, run by `node -e` (a string rather than a module file, so it starts the same from dist/ and
 * from the TypeScript sources under test). It starts each requested command as the leader of its own
 * process group (see group.ts), the log file as stdout and stderr, reports its pid at once and its exit
 * (or spawn error) when it happens, and exits when the engine does (the IPC channel closes): the commands
 * keep running, as when the engine is killed, and the engine's exit handler or the next run's lock
 * takeover ends their groups (group.ts, lock.ts).
 */
const HELPER = `
const { spawn } = require('node:child_process');
const { openSync, closeSync } = require('node:fs');
const failure = (e) => ({ message: e.message, ...(e.code ? { code: e.code } : {}) });
process.on('message', (r) => {
  let fd;
  try { fd = openSync(r.log, 'a'); } catch (e) { process.send({ id: r.id, error: failure(e) }); return; }
  let ended = false;
  const child = spawn(r.file, r.args, { cwd: r.cwd, env: r.env, stdio: ['ignore', fd, fd], detached: true, shell: r.shell });
  closeSync(fd);
  child.once('error', (e) => { if (!ended) { ended = true; process.send({ id: r.id, error: failure(e) }); } });
  if (child.pid !== undefined) process.send({ id: r.id, pid: child.pid });
  child.once('exit', (exitCode, signal) => { if (!ended) { ended = true; process.send({ id: r.id, exitCode, signal }); } });
});
process.on('disconnect', () => process.exit(0));
`;

/** One helper process and the commands it is starting or running for this process, by request id. */
class Helper {
  readonly pending = new Map<number, Pending>();
  private next = 0;
  readonly proc: ChildProcess;

  constructor(onExit: (h: Helper) => void) {
    // A bare Node: none of the engine's flags (--cpu-prof, loaders), nothing loaded but child_process.
    this.proc = spawn(process.execPath, ['-e', HELPER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
    this.proc.on('message', (m: HelperMessage) => this.receive(m));
    this.proc.once('exit', (code, signal) => {
      const error = Object.assign(new Error(`the process that starts commands (pid ${this.proc.pid}) ended (${signal ?? `code ${code}`})`), { code: 'ESPAWNER' });
      for (const p of this.pending.values()) {
        p.started?.(undefined);
        p.ended({ error });
      }
      this.pending.clear();
      onExit(this);
    });
  }

  spawn(req: SpawnRequest): Promise<Started> {
    const id = this.next++;
    return new Promise((resolve) => {
      let ended!: (e: Exit) => void;
      const exit = new Promise<Exit>((r) => (ended = r));
      this.pending.set(id, { started: (pid) => resolve({ pid, exit }), ended });
      this.reference(true);
      this.proc.send({ id, ...req });
    });
  }

  /** Disconnects (the helper exits) and waits until it has exited, so it is reaped with what it ran. */
  async stop(): Promise<void> {
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.ref(); // an idle helper is unreferenced: the wait must keep the event loop alive
    this.proc.disconnect();
    await gone;
  }

  private receive(m: HelperMessage): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if ('pid' in m) {
      p.started?.(m.pid);
      p.started = undefined;
      return;
    }
    p.started?.(undefined);
    this.pending.delete(m.id);
    p.ended('error' in m ? { error: Object.assign(new Error(m.error.message), { code: m.error.code }) } : { exitCode: m.exitCode ?? undefined, signal: m.signal ?? undefined });
    if (this.pending.size === 0) this.reference(false);
  }

  /** The helper keeps the engine's event loop alive only while it runs commands for it. */
  private reference(busy: boolean): void {
    if (busy) {
      this.proc.ref();
      this.proc.channel?.ref();
    } else {
      this.proc.unref();
      this.proc.channel?.unref();
    }
  }
}

let current: Helper | undefined;

/**
 * Commands this process starts itself before it leaves the rest to the helper, and the resident size up
 * to which it does. The helper is a Node process: its start costs ~0.1 s of CPU, more than a `pipe run` of
 * a few commands (most runs; hundreds in the test suite) spends on forking a ~60 MB engine (~2 ms of CPU
 * a command here, ~10 ms at 200 MB). A run that starts more, or an engine already large (a big DAG, a
 * large hash cache), goes through the helper, where its cost is amortised.
 */
const DIRECT_STARTS = 8;
const DIRECT_MAX_RSS = 160 * 1024 * 1024;
let directStarts = 0;

/** How a child process of this one ended. */
export function exited(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ error }));
    child.once('exit', (code, signal) => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined }));
  });
}

/** What the helper does for a request, done in this process. */
function spawnHere(r: SpawnRequest): Started {
  let fd: number;
  try {
    fd = openSync(r.log, 'a');
  } catch (e) {
    return { pid: undefined, exit: Promise.resolve({ error: e as NodeJS.ErrnoException }) };
  }
  try {
    const child = spawn(r.file, r.args, { cwd: r.cwd, env: r.env, stdio: ['ignore', fd, fd], detached: true, shell: r.shell });
    return { pid: child.pid, exit: exited(child) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Starts a command, its log file as stdout and stderr, as the leader of its own process group: by this
 * process while it has started fewer than DIRECT_STARTS and is small, else by the helper process (started
 * on first use, and again after it ended).
 */
export function startCommand(req: SpawnRequest): Promise<Started> {
  if (!current && directStarts < DIRECT_STARTS && process.memoryUsage.rss() < DIRECT_MAX_RSS) {
    directStarts++;
    return Promise.resolve(spawnHere(req));
  }
  current ??= new Helper((h) => {
    if (current === h) current = undefined;
  });
  return current.spawn(req);
}

/** At the end of a run: ends the helper unless it still runs commands (of another run in this process). */
export async function stopSpawner(): Promise<void> {
  const h = current;
  if (!h || h.pending.size > 0) return;
  current = undefined;
  await h.stop();
}
