// Runs one attempt of a stage instance into its private output directory: built-in kinds in-process (on
// this thread, or in a worker thread of their own: kind-worker.ts), external commands as child processes
// (an argv without a shell unless the pipeline asks for one).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { dirname, join } from 'node:path';
import { quote } from 'shell-quote';
import { StageError, type MetricRow, type TagValue, type Progress, type RunInfo } from '../stage-api.js';
import type { HashCache } from '../hash/cache.js';
import type { Instance } from '../pipeline/types.js';
import { GROUP_MARK, OUTS_MARK, type Prepared } from './keys.js';
import { endGroup, GRACE_MS, signalGroup, trackGroup } from './group.js';
import { stageContext, type Channels, type MemberData } from './kind-context.js';
import { runInWorker } from './kind-worker.js';
import { readMetricsOutput, readPlotOutput } from './metric-files.js';
import { exited, startCommand, type Exit, type Started } from './spawner.js';
import { measureInProcess, measureTree, type Usage } from './usage.js';

export interface Attempt {
  readonly inst: Instance;
  readonly prepared: Prepared;
  readonly workspace: string;
  /** Provenance of the executing run (not in the key: see StageContext.run). */
  readonly run: RunInfo;
  /** Private output directory, renamed into the store after success. */
  readonly outDir: string;
  readonly logPath: string;
  readonly resumeDir: string;
  /** Makes the resume dir (the local run reuses spare ones: resume.ts); default mkdir. */
  readonly makeResumeDir?: (dir: string) => Promise<void>;
  readonly kindCacheDir: string;
  readonly signal: AbortSignal;
  readonly hashes: HashCache;
  readonly onProgress: (p: Progress) => void;
  /** Called with each log line (the console echo of --verbose). */
  readonly onLog?: (line: string) => void;
  /** Where the values of the instance's secrets come from (the runner's environment). */
  readonly env: NodeJS.ProcessEnv;
  /** Called with the process group of a command as soon as it is spawned. */
  readonly onSpawn?: (pgid: number) => void;
  /**
   * Run a built-in kind on this thread even when it declares `isolation` (a Slurm job's exec-instance:
   * its process runs this one attempt and nothing else, so a worker thread would only add its start-up).
   */
  readonly sameThread?: boolean;
}

/** The secret values of an attempt, and a mask that replaces each of them in a text. */
export interface Secrets {
  readonly values: Readonly<Record<string, string>>;
  mask(text: string): string;
}

export function secretsOf(a: Pick<Attempt, 'prepared' | 'env'>): Secrets {
  const values: Record<string, string> = {};
  for (const name of a.prepared.secrets) {
    const v = a.env[name];
    // Pre-flight reports this for the whole run; here for callers that skip it.
    if (!v) throw new StageError(`secret ${name} is not set in the environment`, `export ${name}=... before pipe run (secrets are handed to the stage, never stored)`);
    values[name] = v;
  }
  // Longest first, so a secret that contains another is masked whole.
  const all = Object.values(values).sort((x, y) => y.length - x.length);
  return { values, mask: (text) => (all.length ? all.reduce((t, v) => t.split(v).join('***'), text) : text) };
}

/** What an attempt produced besides its outputs: its metric rows, and the resources it used (usage.ts; null: not measured). */
export interface Executed {
  readonly metrics: MetricRow[];
  readonly usage: Usage | null;
}

export async function execute(a: Attempt): Promise<Executed> {
  // In libuv's thread pool, in parallel: creating directories can take milliseconds on a busy file system,
  // and the run loop starts other instances' commands meanwhile.
  const dirs = new Set([dirname(a.logPath), a.outDir, ...(a.inst.kind ? [] : commandOutDirs(a.inst, a.outDir))]);
  const resume = a.inst.kind ? undefined : a.makeResumeDir ? a.makeResumeDir(a.resumeDir) : mkdir(a.resumeDir, { recursive: true });
  await Promise.all([...[...dirs].map((d) => mkdir(d, { recursive: true })), resume]);
  const fd = openSync(a.logPath, 'a');
  const secrets = secretsOf(a);
  try {
    return a.inst.kind ? await runBuiltin(a, fd, secrets) : await runCommand(a, fd, secrets);
  } catch (e) {
    throw masked(e, secrets);
  } finally {
    closeSync(fd);
  }
}

/** An error message is recorded in the database and printed: it must not carry a secret. */
export function masked(e: unknown, secrets: Secrets): unknown {
  if (e instanceof Error) {
    e.message = secrets.mask(e.message);
    const hint = (e as { hint?: unknown }).hint;
    if (typeof hint === 'string') Object.assign(e, { hint: secrets.mask(hint) });
  }
  return e;
}

async function runBuiltin(a: Attempt, fd: number, secrets: Secrets): Promise<Executed> {
  const metrics: MetricRow[] = [];
  const measured = measureInProcess();
  let usage: Usage;
  try {
    await callKind('run', [a], [fd], [secrets], [metrics]);
  } finally {
    usage = measured();
  }
  return { ...finishBuiltin(a, fd, metrics), usage };
}

/**
 * Calls a built-in kind's `run` (one attempt) or `runGroup` (one per member): on this thread, or in a
 * worker thread when the kind declares `isolation` (kind-worker.ts) and the attempt allows it.
 * `metrics[i]` collects the rows member i records.
 */
export async function callKind(call: 'run' | 'runGroup', attempts: readonly Attempt[], fds: readonly number[], secrets: readonly Secrets[], metrics: MetricRow[][]): Promise<void> {
  const kind = attempts[0].inst.kind!;
  const members = attempts.map((a, i) => memberData(a, secrets[i]));
  const channels = attempts.map((a, i) => engineChannels(a, fds[i], secrets[i], metrics[i]));
  const signal = attempts[0].signal;
  if (kind.isolation && !attempts[0].sameThread) return runInWorker({ kind, call, members, channels, signal });
  const ctxs = members.map((m, i) => stageContext(kind, m, channels[i], signal));
  return call === 'run' ? kind.run(ctxs[0]) : kind.runGroup!(ctxs);
}

/** The plain data of an attempt's context (its resume and kind cache directories are made here). */
function memberData(a: Attempt, secrets: Secrets): MemberData {
  mkdirSync(a.resumeDir, { recursive: true });
  mkdirSync(a.kindCacheDir, { recursive: true });
  return {
    params: a.prepared.params,
    matrix: a.inst.matrix,
    instanceId: a.inst.id,
    workspace: a.workspace,
    run: a.run,
    outDir: a.outDir,
    resumeDir: a.resumeDir,
    kindCacheDir: a.kindCacheDir,
    secrets: secrets.values,
  };
}

/** Where an attempt's log lines, progress, metric rows and hash requests end, whichever thread the kind runs on. */
function engineChannels(a: Attempt, fd: number, secrets: Secrets, metrics: MetricRow[]): Channels {
  return {
    log(line: string): void {
      const masked = secrets.mask(line);
      writeSync(fd, `${masked}\n`);
      a.onLog?.(masked);
    },
    progress: (p) => a.onProgress(p.message === undefined ? p : { ...p, message: secrets.mask(p.message) }),
    metric(row: MetricRow): void {
      metrics.push(row);
    },
    hashFiles: async (paths: readonly string[]) => paths.map((p) => a.hashes.hashPath(p)),
  };
}

/** After a built-in stage returned: every declared output exists; its metric rows go to metrics.jsonl. */
export function finishBuiltin(a: Attempt, fd: number, metrics: MetricRow[]): { metrics: MetricRow[] } {
  const kind = a.inst.kind!;
  for (const [name, spec] of Object.entries(kind.outputs))
    if (!existsSync(join(a.outDir, spec.path)))
      throw new StageError(`stage finished without writing its output "${name}" (${spec.path})`, `a bug in ${kind.kind}: every declared output must be written`);
  writeSync(fd, `[pipe] ${metrics.length} metric rows\n`);
  const lines = metrics.map((m) => JSON.stringify(m)).join('\n');
  const mfd = openSync(join(a.outDir, 'metrics.jsonl'), 'w');
  writeSync(mfd, lines ? `${lines}\n` : '');
  closeSync(mfd);
  return { metrics };
}

/** A command stage's process as it will run: argv (or a shell line) and env with `${outs.X}` filled in. */
export interface CommandSpec {
  readonly argv?: readonly string[];
  readonly shellCommand?: string;
  /** The stage's `env:` plus PIPE_OUT_DIR, PIPE_RESUME_DIR and PIPE_INSTANCE (secrets are not in it). */
  readonly env: Readonly<Record<string, string>>;
  /** The `[pipe] $ ...` line that opens the log (unmasked). */
  readonly banner: string;
}

/** The command of an attempt, for every executor (local: spawned here; slurm: the job script). */
export function commandSpec(a: Pick<Attempt, 'inst' | 'prepared' | 'outDir' | 'resumeDir'>): CommandSpec {
  const outs = a.inst.stage.outs ?? {};
  const fill = (s: string, shell: boolean): string =>
    s.includes(OUTS_MARK) ? s.replace(new RegExp(`${OUTS_MARK}([^\\u0000]+)\\u0000`, 'g'), (_, name: string) => pathWord(join(a.outDir, outs[name]), shell)) : s;
  return filledSpec(a.prepared, fill, { PIPE_OUT_DIR: a.outDir, PIPE_RESUME_DIR: a.resumeDir, PIPE_INSTANCE: a.inst.id });
}

/** The one command of a group call (grouping.ts): `${group.members}` is the members file. */
export function groupCommandSpec(prepared: Prepared, membersFile: string): CommandSpec {
  const fill = (s: string, shell: boolean): string => s.split(GROUP_MARK).join(pathWord(membersFile, shell));
  return filledSpec(prepared, fill, { PIPE_GROUP_MEMBERS: membersFile });
}

/** In a shell command line a path the runner fills in is one quoted word (the workspace may hold spaces). */
function pathWord(path: string, shell: boolean): string {
  return shell ? quote([path]) : path;
}

function filledSpec(prepared: Prepared, fill: (s: string, shell: boolean) => string, pipeEnv: Record<string, string>): CommandSpec {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(prepared.env ?? {})) env[k] = fill(v, false);
  Object.assign(env, pipeEnv);
  const argv = prepared.argv?.map((x) => fill(x, false));
  const shellCommand = argv ? undefined : fill(prepared.shellCommand ?? '', true);
  const banner = `[pipe] $ ${argv ? argv.map((x) => JSON.stringify(x)).join(' ') : shellCommand}`;
  return { ...(argv ? { argv } : { shellCommand }), env, banner };
}

/** Directories a command's declared outputs are written into. */
function commandOutDirs(inst: Instance, outDir: string): string[] {
  return Object.values(inst.stage.outs ?? {}).map((rel) => dirname(join(outDir, rel)));
}

/** Directories a command's declared outputs are written into, and its resume dir (made before it starts). */
export function prepareCommandDirs(inst: Instance, outDir: string, resumeDir: string): void {
  for (const d of commandOutDirs(inst, outDir)) mkdirSync(d, { recursive: true });
  mkdirSync(resumeDir, { recursive: true });
}

/** After a command exited 0: every declared output must exist. */
export function checkCommandOutputs(inst: Instance, outDir: string): void {
  for (const [name, rel] of Object.entries(inst.stage.outs ?? {}))
    if (!existsSync(join(outDir, rel)))
      throw new StageError(`command succeeded but did not write its output "${name}" (${rel})`, `write it to the path passed as \${outs.${name}}`);
}

/** The error of a command that exited non-zero or was killed: one wording for every executor. */
export function commandFailed(r: { exitCode?: number | undefined; signal?: string | undefined; other: string; program?: string | undefined; notFound?: boolean }): StageError {
  const why = r.exitCode !== undefined ? `exited with code ${r.exitCode}` : r.signal ? `was killed by ${r.signal}` : r.other;
  return new StageError(`command ${why}`, r.notFound ? `program not found: ${r.program}` : undefined);
}

async function runCommand(a: Attempt, fd: number, secrets: Secrets): Promise<Executed> {
  writeSync(fd, `${secrets.mask(commandSpec(a).banner)}\n`);
  const usage = await spawnCommand(commandSpec(a), a, secrets, a.onLog);
  checkCommandOutputs(a.inst, a.outDir);
  const metrics = declaredMetrics(a.inst, a.outDir);
  if (metrics.length) writeSync(fd, `[pipe] ${metrics.length} metric rows\n`);
  return { metrics, usage };
}

/**
 * Runs a command into `a.logPath` and waits for it (and its process group); throws StageError when it
 * fails or the attempt is aborted. `onLine` sees every (masked) line of its output. Returns the
 * resources its process tree used (null: it ended before the first sample).
 */
export async function spawnCommand(spec: CommandSpec, a: Pick<Attempt, 'workspace' | 'logPath' | 'signal' | 'onSpawn'>, secrets: Secrets, onLine?: (line: string) => void): Promise<Usage | null> {
  const req = {
    file: spec.argv ? spec.argv[0] : (spec.shellCommand ?? ''),
    args: spec.argv ? spec.argv.slice(1) : [],
    shell: !spec.argv,
    cwd: a.workspace,
    env: { ...process.env, ...spec.env, ...secrets.values },
    log: a.logPath,
  };
  // The command writes straight into the log: its stdout and stderr are the log file (O_APPEND, so the
  // engine's lines and the command's stay in order), started by spawner.ts (a helper process, or this one). With
  // secrets, or when someone watches the output (--verbose, the terminal view, a group's other logs), its
  // output comes through pipes instead, line by line: masked, handed on, appended. node:child_process
  // rather than execa: execa's per-spawn option handling and stream plumbing cost more than the spawn of a
  // short command (BENCHMARKS.md, per-instance overhead).
  const filtered = Object.keys(secrets.values).length > 0 || onLine !== undefined;
  let started: Started;
  let readers: Promise<void>[] = [];
  let fd: number | undefined;
  if (filtered) {
    fd = openSync(a.logPath, 'a');
    // Its own process group (see group.ts); interruption is handled in inGroup, for the whole group.
    const child = spawn(req.file, req.args, { cwd: req.cwd, env: req.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: req.shell });
    readers = [child.stdout!, child.stderr!].map((stream) => copyLines(stream, fd!, secrets, onLine));
    started = { pid: child.pid, exit: exited(child) };
  } else started = await startCommand(req);
  try {
    const { exit: res, usage } = await inGroup(started, a);
    // The group has ended: nothing writes into the pipes any more.
    await Promise.all(readers);
    if (a.signal.aborted) throw new StageError('cancelled');
    if ('error' in res) throw commandFailed({ other: `could not be started (${res.error.message})`, program: spec.argv?.[0] ?? 'sh', notFound: res.error.code === 'ENOENT' });
    if (res.exitCode !== 0) throw commandFailed({ ...res, other: 'failed' });
    return usage;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Appends a command's output to its log line by line, secrets masked, each line handed to `onLine`. */
function copyLines(stream: Readable, fd: number, secrets: Secrets, onLine: ((line: string) => void) | undefined): Promise<void> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const masked = secrets.mask(line);
    writeSync(fd, `${masked}\n`);
    onLine?.(masked);
  });
  return new Promise((resolve) => lines.once('close', resolve));
}

/** The rows of the outputs a command stage declares under `metrics:` and `plots:`, tagged with its matrix. */
export function declaredMetrics(inst: Instance, outDir: string): MetricRow[] {
  const outs = inst.stage.outs ?? {};
  const label = (name: string): string => `${outs[name]} (outs.${name} of ${inst.id})`;
  // Matrix values are tags; a structured value (a map or list axis) as its JSON text.
  const tags: Record<string, TagValue> = {};
  for (const [k, v] of Object.entries(inst.matrix)) tags[k] = typeof v === 'object' || v === null ? JSON.stringify(v) : v;
  return [
    ...(inst.stage.metrics ?? []).flatMap((name) => readMetricsOutput(join(outDir, outs[name]), label(name), tags)),
    ...(inst.stage.plots ?? []).flatMap((p) => readPlotOutput(join(outDir, outs[p.out]), label(p.out), p, tags)),
  ];
}

/**
 * Waits for a command spawned as a group leader, sampling its resource use. Interruption sends SIGTERM
 * to the group, then SIGKILL; after the command exits, whatever it left running in its group is ended too.
 */
async function inGroup(started: Started, a: Pick<Attempt, 'signal' | 'onSpawn'>): Promise<{ exit: Exit; usage: Usage | null }> {
  const { pid: pgid, exit: ended } = started;
  if (pgid === undefined) return { exit: await ended, usage: null }; // spawn failed (program not found): nothing runs
  const measured = measureTree(pgid);
  trackGroup(pgid);
  a.onSpawn?.(pgid);
  let killer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    signalGroup(pgid, 'SIGTERM');
    killer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), GRACE_MS);
  };
  if (a.signal.aborted) onAbort();
  else a.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await ended;
    return { exit, usage: measured() };
  } finally {
    a.signal.removeEventListener('abort', onAbort);
    clearTimeout(killer);
    await endGroup(pgid);
  }
}
