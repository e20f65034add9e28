// Garbage collection and CPU of a training stage run by the engine, this build against a baseline build
// in the same run (alternated): `pipe run PIPELINE --only ID` under `node --trace-gc`, stopped with SIGINT
// SECONDS after its first progress line. Reports, over the window from the first to the last progress line,
// the epochs trained per CPU second of the whole process, and the full mark-compacts and GC milliseconds
// of each V8 isolate (the engine's thread, and a worker thread's when the kind runs in one: kind-worker.ts).
// The workspace of each build is kept between rounds (inputs hashed once); a stopped stage restarts its
// epoch, so each round measures the same stretch of training.
//   npm run bench:train-thread -- --pipeline FILE --only ID [--baseline CHECKOUT] [--seconds 90] [--rounds 2]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: { pipeline: { type: 'string' }, only: { type: 'string' }, baseline: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' } },
});
if (!args.pipeline || !args.only) throw new Error('usage: --pipeline FILE --only ID [--baseline CHECKOUT] [--seconds 90] [--rounds 2]');
const SECONDS = Number(args.seconds ?? 90);
const ROUNDS = Number(args.rounds ?? 2);

interface Isolate {
  markCompacts: number;
  gcMs: number;
  /** Live heap after its last collection, MB. */
  liveMb: number;
}
interface Window {
  readonly epochs: number;
  readonly cpuS: number;
  /** By V8 isolate address; the engine's thread is the first isolate the trace names. */
  readonly isolates: Map<string, Isolate>;
  readonly engine: string;
}

/** CPU seconds (user + system, every thread) of a live process. */
function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

const GC_LINE = /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: (Scavenge|Mark-Compact|Mark-Compact \(reduce\)|Minor Mark-Sweep) [\d.]+ \([\d.]+\) -> ([\d.]+) [^,]*, ([\d.]+) \/ /;
const PROGRESS_LINE = /^progress \S+ ([\d.]+)\/\d+ epochs/;

/** One stopped run of `checkout`'s CLI in `workspace`: the window between its first and last progress line. */
function measure(checkout: string, workspace: string): Promise<Window> {
  const child = spawn(process.execPath, ['--trace-gc', join(checkout, 'bin', 'pipe.js'), 'run', resolve(args.pipeline!), '--only', args.only!, '--workspace', workspace, '--jobs', '1'], {
    env: { ...process.env, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let first: { epochs: number; cpu: number } | undefined;
  let last: { epochs: number; cpu: number } | undefined;
  const isolates = new Map<string, Isolate>();
  let engine = '';
  // --trace-gc writes to stdout, the CLI's progress lines to stderr: both are read alike.
  const onLine = (line: string): void => {
    const p = PROGRESS_LINE.exec(line);
    if (p && child.pid !== undefined) {
      const point = { epochs: Number(p[1]), cpu: cpuOf(child.pid) };
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
    child.on('exit', () => (first && last ? res({ epochs: last.epochs - first.epochs, cpuS: last.cpu - first.cpu, isolates, engine }) : rej(new Error(`${checkout}: no two progress lines`)))),
  );
}

function report(name: string, w: Window): void {
  const gc = [...w.isolates]
    .map(([id, i]) => `${id === w.engine ? 'engine' : 'worker'}: ${i.markCompacts} mark-compacts, ${(i.gcMs / 1000).toFixed(1)} s GC, ${i.liveMb.toFixed(0)} MB live`)
    .join(' | ');
  console.log(`${name.padEnd(9)} ${(w.cpuS / w.epochs).toFixed(0).padStart(6)} CPU s/epoch  (${w.epochs.toFixed(3)} epochs in ${w.cpuS.toFixed(1)} CPU s)  ${gc}`);
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
