// Garbage collection and CPU of a training stage run by the engine, this build against a baseline build
// in the same run (alternated): `pipe run PIPELINE --only ID` under `node --trace-gc`, stopped with SIGINT
// SECONDS after its first progress line. Reports, over the window from the first to the last progress line,
// the epochs trained per CPU second of the whole process, and the full mark-compacts and GC milliseconds
// of each V8 isolate (the engine's thread, and a worker thread's when the kind runs in one: kind-worker.ts).
// The workspace of each build is kept between rounds (inputs hashed once); a stopped stage restarts its
// epoch, so each round measures the same stretch of training.
// Beside the CPU rate: the wall rate over the same window, and the window's CPU per thread of the process
// by thread name (the worker's JS and onnxruntime calls, onnxruntime's pool threads, V8's GC helpers, the
// engine's thread; Node names them all `node`, so they are told apart by id and share). With `--pairs N` (training pairs per epoch) the rates are also given in pairs per second,
// the unit of `bench:train`.
//   npm run bench:train-thread -- --pipeline FILE --only ID [--baseline CHECKOUT] [--seconds 90] [--rounds 2] [--pairs N] [--set K=V]... [--node-arg ARG]... [--log FILE]
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: { pipeline: { type: 'string' }, only: { type: 'string' }, baseline: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' }, pairs: { type: 'string' }, set: { type: 'string', multiple: true }, 'node-arg': { type: 'string', multiple: true }, log: { type: 'string' } },
});
if (!args.pipeline || !args.only) throw new Error('usage: --pipeline FILE --only ID [--baseline CHECKOUT] [--seconds 90] [--rounds 2]');
const SECONDS = Number(args.seconds ?? 90);
const ROUNDS = Number(args.rounds ?? 2);
const PAIRS = args.pairs === undefined ? undefined : Number(args.pairs);

interface Isolate {
  markCompacts: number;
  gcMs: number;
  /** Live heap after its last collection, MB. */
  liveMb: number;
}
interface Window {
  readonly epochs: number;
  readonly cpuS: number;
  /** Of which system time, and the minor page faults in the window. */
  readonly sysS: number;
  readonly minflt: number;
  readonly wallS: number;
  /** CPU seconds of the window by thread (`name#tid`). */
  readonly threads: Map<string, number>;
  /** By V8 isolate address; the engine's thread is the first isolate the trace names. */
  readonly isolates: Map<string, Isolate>;
  readonly engine: string;
}

/** A /proc stat file: the name of its process or thread, its CPU seconds (user, system) and minor page faults. */
interface Stat {
  readonly name: string;
  readonly user: number;
  readonly sys: number;
  readonly minflt: number;
}

function statOf(file: string): Stat {
  const f = readFileSync(file, 'latin1');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return { name: f.slice(f.indexOf('(') + 1, f.lastIndexOf(')')), minflt: Number(rest[7]), user: Number(rest[11]) / 100, sys: Number(rest[12]) / 100 };
}

const cpu = (s: Stat): number => s.user + s.sys;

/** Every live thread of a process, by thread id. */
function threadsOf(pid: number): Map<string, Stat> {
  const out = new Map<string, Stat>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, statOf(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** CPU of each thread between two samples (threads started in between count from zero). */
function threadDelta(a: Map<string, Stat>, b: Map<string, Stat>): Map<string, number> {
  return new Map([...b].map(([tid, t]) => [`${t.name}#${tid}`, cpu(t) - (a.has(tid) ? cpu(a.get(tid)!) : 0)]));
}

const GC_LINE = /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: (Scavenge|Mark-Compact|Mark-Compact \(reduce\)|Minor Mark-Sweep) [\d.]+ \([\d.]+\) -> ([\d.]+) [^,]*, ([\d.]+) \/ /;
const PROGRESS_LINE = /^progress \S+ ([\d.]+)\/\d+ epochs/;

/** One stopped run of `checkout`'s CLI in `workspace`: the window between its first and last progress line. */
function measure(checkout: string, workspace: string): Promise<Window> {
  const sets = (args.set ?? []).flatMap((kv) => ['--set', kv]);
  const child = spawn(process.execPath, ['--trace-gc', ...(args['node-arg'] ?? []), join(checkout, 'bin', 'pipe.js'), 'run', resolve(args.pipeline!), '--only', args.only!, '--workspace', workspace, '--jobs', '1', ...sets], {
    env: { ...process.env, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  interface Point {
    epochs: number;
    process: Stat;
    wall: number;
    threads: Map<string, Stat>;
  }
  let first: Point | undefined;
  let last: Point | undefined;
  const isolates = new Map<string, Isolate>();
  let engine = '';
  // --trace-gc writes to stdout, the CLI's progress lines to stderr: both are read alike.
  const onLine = (line: string): void => {
    if (args.log) appendFileSync(args.log, `${line}\n`);
    const p = PROGRESS_LINE.exec(line);
    if (p && child.pid !== undefined) {
      const point = { epochs: Number(p[1]), process: statOf(`/proc/${child.pid}/stat`), wall: performance.now() / 1000, threads: threadsOf(child.pid) };
      if (!first) {
        first = point;
        setTimeout(() => child.kill('SIGINT'), SECONDS * 1000);
      } else last = point;
    }
    const m = GC_LINE.exec(line);
    if (!m) return;
    engine ||= m[1];
    if (!first) return;
    const iso = isolates.get(m[1]) ?? { markCompacts: 0, gcMs: 0, liveMb: 0 };
    if (m[2].startsWith('Mark-Compact')) iso.markCompacts++;
    iso.gcMs += Number(m[4]);
    iso.liveMb = Number(m[3]);
    isolates.set(m[1], iso);
  };
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', onLine);
  return new Promise((res, rej) =>
    child.on('exit', () =>
      first && last
        ? res({ epochs: last.epochs - first.epochs, cpuS: cpu(last.process) - cpu(first.process), sysS: last.process.sys - first.process.sys, minflt: last.process.minflt - first.process.minflt, wallS: last.wall - first.wall, threads: threadDelta(first.threads, last.threads), isolates, engine })
        : rej(new Error(`${checkout}: no two progress lines`)),
    ),
  );
}

function report(name: string, w: Window): void {
  const gc = [...w.isolates]
    .map(([id, i]) => `${id === w.engine ? 'engine' : 'worker'}: ${i.markCompacts} mark-compacts, ${(i.gcMs / 1000).toFixed(1)} s GC, ${i.liveMb.toFixed(0)} MB live`)
    .join(' | ');
  const pairs = PAIRS === undefined ? '' : `  ${((PAIRS * w.epochs) / w.cpuS).toFixed(0)} pairs/CPU-s, ${((PAIRS * w.epochs) / w.wallS).toFixed(0)} pairs/wall-s`;
  const threads = [...w.threads].filter(([, s]) => s >= 0.05).sort((a, b) => b[1] - a[1]).map(([n, s]) => `${n} ${s.toFixed(1)}`).join(', ');
  console.log(`${name.padEnd(9)} ${(w.cpuS / w.epochs).toFixed(0).padStart(6)} CPU s/epoch, ${(w.wallS / w.epochs).toFixed(0)} wall s/epoch  (${w.epochs.toFixed(3)} epochs in ${w.cpuS.toFixed(1)} CPU s, ${w.wallS.toFixed(1)} s)${pairs}  ${gc}`);
  console.log(`          of which system ${w.sysS.toFixed(1)} s, ${((w.minflt / w.epochs) * 1e-6).toFixed(2)}M minor page faults per epoch; CPU s by thread: ${threads}; load ${loadavg()[0].toFixed(1)}`);
}

const builds = [...(args.baseline ? [['baseline', resolve(args.baseline)]] : []), ['this', root]] as const;
const workspaces = builds.map(() => mkdtempSync(join(tmpdir(), 'pipe-bench-thread-')));
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), load ${loadavg()[0].toFixed(1)}, node ${process.version}; ${args.only}, ${SECONDS} s windows`);
try {
  for (let r = 1; r <= ROUNDS; r++)
    for (const [i, [name, checkout]] of builds.entries()) report(`${name} ${r}`, await measure(checkout, workspaces[i]));
} finally {
  for (const ws of workspaces) rmSync(ws, { recursive: true, force: true });
}
