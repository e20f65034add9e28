// What an attempt used: CPU time (user + system) and peak resident memory, recorded with its history
// row and its result (`pipe show`, `pipe run --json`, `pipe status --json`). How each is measured, and
// its limits (docs/engine.md, "Resource use"):
// - A built-in kind runs in this process, so its figures are this process's over the attempt: CPU from
//   process.resourceUsage(), peak RSS its high-water mark, reset at the start of the attempt through
//   /proc/self/clear_refs when no other built-in attempt is running here. They include the engine's own
//   work meanwhile, and overlapping built-in attempts (--jobs > 1) share one figure. A kind run in a worker
//   thread (kind-worker.ts) is measured the same way: resourceUsage() and RSS are process-wide, so they
//   include the worker; a thread's own CPU (/proc/thread-self) would miss onnxruntime's threads.
// - A command runs in its own process tree. Node exposes neither wait4()'s rusage nor
//   getrusage(RUSAGE_CHILDREN), and the child is reaped by libuv before anyone could read its
//   /proc/<pid>, so the tree is sampled from /proc while it runs: CPU is the sum over its live processes
//   of their own and their reaped children's times, peak RSS the largest of (the tree's summed VmRSS,
//   any process's VmHWM) seen. What ran after the last sample is missed: growth and CPU in the final
//   interval (at most SAMPLE_MAX_MS), processes that lived less than one interval, and a process that
//   left the tree (reparented after its parent died). A command that ends before the first sample has
//   no figures (null).
// Linux only (/proc); elsewhere built-ins still get resourceUsage() and commands get null. Slurm jobs
// record none (the cluster's accounting is the place for them).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface Usage {
  /** User + system CPU time, milliseconds. */
  readonly cpuMs: number;
  /** Peak resident set size, KiB. */
  readonly peakRssKb: number;
}

/** The unit of the times in /proc/<pid>/stat (USER_HZ: 100 on every architecture Linux runs Node on). */
const USER_HZ = 100;
/** Samples of a command start this soon after its spawn and double up to SAMPLE_MAX_MS apart. */
const SAMPLE_FIRST_MS = 20;
export const SAMPLE_MAX_MS = 1000;

let inProcess = 0;

/**
 * Starts measuring a built-in kind's attempt in this process; the returned function ends it. The peak is
 * reset only when no other built-in attempt runs here (its own peak must not be lost).
 */
export function measureInProcess(): () => Usage {
  const start = process.resourceUsage();
  if (inProcess++ === 0) resetPeak();
  return () => {
    inProcess--;
    const end = process.resourceUsage();
    return { cpuMs: Math.round((end.userCPUTime + end.systemCPUTime - start.userCPUTime - start.systemCPUTime) / 1000), peakRssKb: end.maxRSS };
  };
}

/** Lowers this process's high-water mark of resident memory to its current RSS (Linux >= 4.0; elsewhere a no-op). */
function resetPeak(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // No /proc or not writable: the peak stays the process's lifetime peak (an upper bound).
  }
}

/** One process as /proc shows it. */
interface Proc {
  readonly cpuTicks: number;
  readonly children: number[];
  readonly rssKb: number;
  readonly hwmKb: number;
}

function readProc(pid: number): Proc | undefined {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined; // exited meanwhile
  }
  // Fields after the command name (which may hold spaces and parentheses): state is field 3; utime,
  // stime, cutime, cstime are fields 14-17 (proc(5)).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { cpuTicks, children: childrenOf(pid), rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** A process's children: each of its threads lists the children it forked. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1').split(' ')) if (c) out.push(Number(c));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** The tree of `root` now: CPU so far and memory; undefined when the root is gone. */
function sampleTree(root: number): Usage | undefined {
  const top = readProc(root);
  if (!top) return undefined;
  let cpuTicks = 0;
  let rssKb = 0;
  let hwmKb = 0;
  const todo: Proc[] = [top];
  for (let p = todo.pop(); p; p = todo.pop()) {
    cpuTicks += p.cpuTicks;
    rssKb += p.rssKb;
    hwmKb = Math.max(hwmKb, p.hwmKb);
    for (const c of p.children) {
      const child = readProc(c);
      if (child) todo.push(child);
    }
  }
  return { cpuMs: (cpuTicks * 1000) / USER_HZ, peakRssKb: Math.max(rssKb, hwmKb) };
}

/**
 * Samples the process tree of a command (by its root pid) until the returned function is called (when
 * the command has exited); that function returns the figures, or null when no sample was taken.
 */
export function measureTree(pid: number): () => Usage | null {
  let seen: Usage | null = null;
  let delay = SAMPLE_FIRST_MS;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const s = sampleTree(pid);
    if (!s) return;
    // CPU only grows while the tree holds together; the largest sum seen is the best lower bound.
    seen = { cpuMs: Math.max(seen?.cpuMs ?? 0, s.cpuMs), peakRssKb: Math.max(seen?.peakRssKb ?? 0, s.peakRssKb) };
    delay = Math.min(delay * 2, SAMPLE_MAX_MS);
    timer = setTimeout(tick, delay).unref();
  };
  timer = setTimeout(tick, delay).unref();
  return () => {
    clearTimeout(timer);
    return seen && { cpuMs: Math.round(seen.cpuMs), peakRssKb: seen.peakRssKb };
  };
}
