// `pipe exp show` over a store holding 100 runs of the demo, through the real CLI, against a baseline
// checkout in the same run (alternating, so machine load hits both alike).
//   npm run bench:exp [-- --seed DIR] [--baseline PATH/bin/pipe.js] [--reps N]
//
// The store: two real demo runs (`--set epochs=2` and `epochs=3`, seeds [0,1], 200 WEBEmo images; made
// once in a cached temp workspace, or taken from --seed DIR), then 98 more runs written through the real
// Store API (createRun, commitInstance, recordRunInstances, finishRun), each a copy of run 1 or 2 with its
// own `note` param. Every instance that recorded metrics gets a NEW stage key in each copy, with the
// template's rows (values perturbed): 100 runs x ~2,600 rows, none shared, the worst case for a reader
// (cached re-runs would share keys and rows). Instances without metrics are linked to the template's key,
// as a cache hit records them. Running the demo 100 times would take hours on this machine.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openStore, type Store } from '../src/store/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: { seed: { type: 'string' }, baseline: { type: 'string' }, reps: { type: 'string' }, runs: { type: 'string' }, keep: { type: 'boolean' } },
});
const REPS = Number(args.reps ?? 5);
const RUNS = Number(args.runs ?? 100);
const PIPE = join(root, 'bin', 'pipe.js');

function succeededRuns(db: string): number {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(`SELECT COUNT(*) FROM runs WHERE status = 'succeeded'`).pluck().get() as number;
  } finally {
    d.close();
  }
}

/** Two demo runs with different --set values; reused across bench runs (the cold demo takes minutes). */
function seedWorkspace(): string {
  if (args.seed) return resolve(args.seed);
  const dir = join(tmpdir(), 'pipe-bench-exp-seed');
  const db = join(dir, 'runs', 'pipe.db');
  if (existsSync(db) && succeededRuns(db) === 2) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const epochs of [2, 3]) {
    console.log(`seed: running the demo with --set epochs=${epochs} in ${dir} ...`);
    execFileSync(process.execPath, [PIPE, 'run', join(root, 'pipelines', 'demo.yaml'), '--workspace', dir, '--set', 'seeds=[0,1]', '--set', 'webemo_images=200', '--set', `epochs=${epochs}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return dir;
}

/** One copy of a template run: metric-bearing instances under new keys with perturbed values. */
function replicate(store: Store, template: number, copy: number): void {
  const run = store.getRun(template)!;
  const params = { ...(run.params as Record<string, unknown>), note: `copy ${copy}` };
  const id = store.createRun(run.pipeline, [...run.argv, '--set', `note=copy ${copy}`], params as never);
  const cached = [];
  for (const ri of store.runInstances(template)) {
    const metrics = ri.key ? store.metricsForKey(ri.key) : [];
    if (!ri.key || !metrics.length) {
      cached.push({ ...ri, runId: id, status: ri.status === 'ran' ? ('cached' as const) : ri.status });
      continue;
    }
    const key = createHash('sha256').update(`${ri.key}:${copy}`).digest('hex');
    const ci = { ...store.getCommitted(ri.key)!, key, runId: id };
    const rows = metrics.map((m, j) => ({ ...m, value: m.value === null ? null : m.value * (1 + 0.02 * Math.sin(copy * 7 + j)) }));
    store.commitInstance(ci, rows, { ...ri, runId: id, key, status: 'ran' });
  }
  store.recordRunInstances(cached);
  store.finishRun(id, 'succeeded');
}

function buildStore(seed: string): string {
  const ws = mkdtempSync(join(tmpdir(), 'pipe-bench-exp-'));
  mkdirSync(join(ws, 'runs'));
  const src = new Database(join(seed, 'runs', 'pipe.db'));
  src.pragma('wal_checkpoint(TRUNCATE)');
  src.close();
  copyFileSync(join(seed, 'runs', 'pipe.db'), join(ws, 'runs', 'pipe.db'));
  const store = openStore(join(ws, 'runs', 'pipe.db'));
  try {
    const templates = store.listRuns(2).map((r) => r.id).reverse();
    for (let copy = templates.length + 1; copy <= RUNS; copy++) replicate(store, templates[copy % templates.length], copy);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    store.close();
  }
  return ws;
}

/**
 * CPU seconds (user + system) of this process's waited-for children, from /proc/self/stat (Linux; NaN
 * elsewhere): on a shared, loaded machine the CPU a command used is steadier than its wall time.
 */
function childCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return NaN;
  }
}

/** Wall and CPU seconds of one CLI call, its stdout discarded but counted. */
function timed(bin: string, argv: readonly string[], ws: string): { s: number; cpu: number; bytes: number } {
  const t0 = process.hrtime.bigint();
  const c0 = childCpu();
  const out = execFileSync(process.execPath, [bin, ...argv, '--workspace', ws], { maxBuffer: 1 << 30, env: { ...process.env, COLUMNS: '160' } });
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, cpu: childCpu() - c0, bytes: out.length };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]): string => `median ${median(xs).toFixed(2)} s (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;

const seed = seedWorkspace();
const ws = buildStore(seed);
try {
  const cases: [string, string[]][] = [
    ['exp show (terminal)', ['exp', 'show', '--last', String(RUNS)]],
    ['exp show --json', ['exp', 'show', '--last', String(RUNS), '--json']],
    ['runs (node start + store open)', ['runs']],
  ];
  const bins: [string, string][] = [['this checkout', PIPE], ...(args.baseline ? [['baseline', resolve(args.baseline)] as [string, string]] : [])];
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`store: ${RUNS} runs (${seed} replicated), ${REPS} alternating repetitions per command`);
  const times = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const sizes = new Map<string, number>();
  for (let rep = 0; rep < REPS; rep++) {
    for (const [label, argv] of cases) {
      for (const [who, bin] of bins) {
        const r = timed(bin, argv, ws);
        const k = `${who}\u0000${label}`;
        times.set(k, [...(times.get(k) ?? []), r.s]);
        cpu.set(k, [...(cpu.get(k) ?? []), r.cpu]);
        sizes.set(k, r.bytes);
      }
    }
  }
  const ratio = (m: Map<string, number[]>, label: string): string => (median(m.get(`baseline\u0000${label}`)!) / median(m.get(`this checkout\u0000${label}`)!)).toFixed(1);
  for (const [label] of cases) {
    for (const [who] of bins) {
      const k = `${who}\u0000${label}`;
      console.log(`${label.padEnd(32)} ${who.padEnd(14)} wall ${fmt(times.get(k)!)}; cpu ${fmt(cpu.get(k)!)}; stdout ${(sizes.get(k)! / 1e6).toFixed(2)} MB`);
    }
    if (args.baseline) console.log(`${label.padEnd(32)} baseline/this  wall ${ratio(times, label)}x, cpu ${ratio(cpu, label)}x`);
  }
  console.log(`load average after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  if (args.keep) console.log(`store kept: ${ws}`);
  else rmSync(ws, { recursive: true, force: true });
}
