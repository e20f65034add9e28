// Orchestrator benchmark, pipe vs Snakemake measured in the same run:
//   noop       the no-op re-run (everything cached) of a 1,001-instance pipeline over 100,000 small files
//   tutorial   the cold (first) run of examples/snakemake-tutorial at 200 samples, against its Snakefile
//   overhead   pipe's per-instance engine overhead (spawn, hash, commit): 1,000 instances of `true`
//   startup    CPU of one CLI call (--help, run --help, status, a cached and a forced run of a 1-stage pipeline)
//              against a bare `node -e 0`, over --calls N calls each (default 20)
// Usage: npm run bench:orchestrator [-- --repeat N] [--parts noop,tutorial,overhead,startup] [--before DIR]
//   --before DIR   overhead, startup: also time another build of pipe (DIR/bin/pipe.js, e.g. an older
//                  checkout), interleaved with this one, for before/after figures from the same run
// (needs `npm run build` and Debian's snakemake)
import { execFileSync, spawnSync } from 'node:child_process';
import { arg, machine, median, timed as timedIn } from './lib.mjs';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work', 'orchestrator');
const PIPE = join(ROOT, 'bin', 'pipe.js');
const SHARDS = 1000;
const FILES_PER_SHARD = 100;
const REPEAT = Number(arg('repeat', 5));
const PARTS = new Set(arg('parts', 'noop,tutorial,overhead,startup').split(','));
const CALLS = Number(arg('calls', 20));
const BEFORE = arg('before') === undefined ? undefined : join(resolve(arg('before')), 'bin', 'pipe.js');
const TUTORIAL_SAMPLES = 200;
const OVERHEAD_INSTANCES = 1000;


/** Timed in the benchmark's workspace unless told otherwise. */
const timed = (cmd, args, cwd = WORK) => timedIn(cmd, args, cwd);

const shardName = (i) => String(i).padStart(4, '0');

function generate() {
  const marker = join(WORK, 'data', '.complete');
  if (existsSync(marker)) return;
  rmSync(WORK, { recursive: true, force: true });
  for (let s = 0; s < SHARDS; s++) {
    const dir = join(WORK, 'data', `shard-${shardName(s)}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES_PER_SHARD; f++) writeFileSync(join(dir, `f${String(f).padStart(3, '0')}.txt`), `shard ${s} file ${f}\n`);
  }
  writeFileSync(marker, '');
}

function writeWorkflows() {
  const shards = Array.from({ length: SHARDS }, (_, i) => `"${shardName(i)}"`).join(', ');
  writeFileSync(
    join(WORK, 'pipeline.yaml'),
    `description: orchestrator benchmark, ${SHARDS} shards x ${FILES_PER_SHARD} files
params:
  shards: [${shards}]
stages:
  count:
    matrix: { shard: "\${params.shards}" }
    run: [cp, "data/shard-\${matrix.shard}/f000.txt", "\${outs.first}"]
    deps: ["data/shard-\${matrix.shard}"]
    outs: { first: first.txt }
  aggregate:
    run: [sort, -o, "\${outs.all}", "\${stages.count.outputs.first}"]
    outs: { all: all.txt }
`,
  );
  // The equivalent workflow: every job lists its shard's 100 files as inputs, so Snakemake, like pipe,
  // notices an edit to any one of the 100,000 files.
  writeFileSync(
    join(WORK, 'Snakefile.files'),
    `SHARDS = [f"{i:04d}" for i in range(${SHARDS})]
FILES = [f"f{i:03d}.txt" for i in range(${FILES_PER_SHARD})]

rule all:
    input: "smf/all.txt"

rule count:
    input: expand("data/shard-{{shard}}/{f}", f=FILES)
    output: "smf/count/{shard}/first.txt"
    shell: "cp {input[0]} {output}"

rule aggregate:
    input: expand("smf/count/{shard}/first.txt", shard=SHARDS)
    output: "smf/all.txt"
    shell: "sort -o {output} {input}"
`,
  );
  // A weaker variant for reference: the shard directory as the input. Snakemake then checks one
  // mtime per job and misses an in-place edit of a file inside the shard.
  writeFileSync(
    join(WORK, 'Snakefile.dirs'),
    `SHARDS = [f"{i:04d}" for i in range(${SHARDS})]

rule all:
    input: "sm/all.txt"

rule count:
    input: "data/shard-{shard}"
    output: "sm/count/{shard}/first.txt"
    shell: "cp {input}/f000.txt {output}"

rule aggregate:
    input: expand("sm/count/{shard}/first.txt", shard=SHARDS)
    output: "sm/all.txt"
    shell: "sort -o {output} {input}"
`,
  );
}

/**
 * The Snakemake tutorial's workflow (examples/snakemake-tutorial) at 200 samples, cold: a fresh copy with
 * generated data per tool and repeat, nothing built yet; pipe's `run` against `snakemake --cores N`.
 */
function tutorialCold() {
  const example = join(ROOT, 'examples', 'snakemake-tutorial');
  const samples = Array.from({ length: TUTORIAL_SAMPLES }, (_, i) => `S${String(i).padStart(3, '0')}`);
  const fresh = (name) => {
    const dir = join(WORK, 'tutorial', name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const f of ['pipeline.yaml', 'Snakefile', 'tools', 'scripts']) cpSync(join(example, f), join(dir, f), { recursive: true });
    execFileSync('python3', ['tools/generate.py', 'data', ...samples], { cwd: dir });
    return dir;
  };
  const pipeRuns = [];
  const smRuns = [];
  for (let i = 0; i < REPEAT; i++) {
    const p = timed('node', [PIPE, 'run', 'pipeline.yaml', '--json', '--jobs', String(cpus().length)], fresh('pipe'));
    const doc = JSON.parse(p.stdout);
    if (doc.status !== 'succeeded' || doc.instances.some((x) => x.status !== 'ran')) throw new Error(`pipe tutorial cold run: ${doc.status}`);
    pipeRuns.push({ ...p, jobs: doc.instances.length });
    smRuns.push(timed('snakemake', ['--cores', String(cpus().length), '--quiet'], fresh('snakemake')));
  }
  const pipeWall = median(pipeRuns.map((r) => r.wall));
  const smWall = median(smRuns.map((r) => r.wall));
  const pipeCpu = median(pipeRuns.map((r) => r.cpu));
  const smCpu = median(smRuns.map((r) => r.cpu));
  return {
    samples: TUTORIAL_SAMPLES,
    jobs: pipeRuns[0].jobs,
    pipe_cold_s: pipeWall,
    pipe_cold_all_s: pipeRuns.map((r) => r.wall),
    snakemake_cold_s: smWall,
    snakemake_cold_all_s: smRuns.map((r) => r.wall),
    ratio_snakemake_over_pipe: Number((smWall / pipeWall).toFixed(2)),
    pipe_cold_cpu_s: pipeCpu,
    snakemake_cold_cpu_s: smCpu,
    cpu_ratio_snakemake_over_pipe: Number((smCpu / pipeCpu).toFixed(2)),
  };
}

/**
 * Engine overhead per instance: a cold run of 1,000 independent instances of `true` (lock, key, spawn,
 * log, output directory, fsync, commit), next to the bare cost of spawning `true` 1,000 times from a
 * small Node script with the same parallelism (--jobs = the spawner's concurrency = the core count),
 * interleaved in each repeat. Overhead = (pipe's wall - the bare spawns' wall) / 1,000: what the engine
 * adds to each instance beyond starting and reaping its process.
 */
function overhead() {
  const root = join(WORK, 'overhead');
  rmSync(root, { recursive: true, force: true });
  const ids = Array.from({ length: OVERHEAD_INSTANCES }, (_, i) => i);
  const jobs = cpus().length;
  writeFileSync(
    join(WORK, 'spawn-true.mjs'),
    `import { spawn } from 'node:child_process';
let next = 0;
const one = () => next++ < ${OVERHEAD_INSTANCES} ? new Promise((r) => spawn('true', [], { stdio: 'ignore' }).on('exit', r)).then(one) : undefined;
await Promise.all(Array.from({ length: ${jobs} }, one));
`,
  );
  // Each run in a new directory, all removed at the end: deleting the previous run's few thousand files
  // just before a cold run would slow the file creations of the run measured (ext4 without a journal,
  // as here, skips inodes freed within the last minute or two when it allocates new ones).
  let n = 0;
  const pipeRun = (bin) => {
    const dir = join(root, String(n++));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'pipeline.yaml'), `stages:
  t:
    matrix: { i: [${ids.join(', ')}] }
    run: [true, "\${matrix.i}"]
`);
    const p = timed('node', [bin, 'run', 'pipeline.yaml', '--json', '--jobs', String(jobs)], dir);
    const doc = JSON.parse(p.stdout);
    if (doc.status !== 'succeeded' || doc.instances.length !== OVERHEAD_INSTANCES) throw new Error(`pipe overhead run: ${doc.status}`);
    return p;
  };
  const runs = { pipe: [], bare: [], before: [] };
  const load = [loadavg()[0]];
  for (let i = 0; i < REPEAT; i++) {
    runs.pipe.push(pipeRun(PIPE));
    runs.bare.push(timed('node', [join(WORK, 'spawn-true.mjs')]));
    if (BEFORE) runs.before.push(pipeRun(BEFORE));
    load.push(loadavg()[0]);
  }
  rmSync(root, { recursive: true, force: true });
  const ms = (s) => Number(((s * 1000) / OVERHEAD_INSTANCES).toFixed(2));
  const summary = (rs) => rs.length && { wall_s: median(rs.map((r) => r.wall)), all_wall_s: rs.map((r) => r.wall), cpu_s: median(rs.map((r) => r.cpu)), ms_per_instance: ms(median(rs.map((r) => r.wall))), cpu_ms_per_instance: ms(median(rs.map((r) => r.cpu))) };
  const pipe = summary(runs.pipe);
  const bare = summary(runs.bare);
  const before = summary(runs.before);
  return {
    instances: OVERHEAD_INSTANCES,
    jobs,
    load_average_1min: load.map((x) => Number(x.toFixed(1))),
    pipe,
    bare_spawn: bare,
    ...(before ? { pipe_before: before, before_bin: BEFORE } : {}),
    engine_ms_per_instance: ms(pipe.wall_s - bare.wall_s),
    ratio_pipe_over_bare: Number((pipe.wall_s / bare.wall_s).toFixed(2)),
    cpu_ratio_pipe_over_bare: Number((pipe.cpu_s / bare.cpu_s).toFixed(2)),
    ...(before ? { engine_ms_per_instance_before: ms(before.wall_s - bare.wall_s), ratio_before_over_pipe: Number((before.wall_s / pipe.wall_s).toFixed(2)) } : {}),
  };
}

/**
 * CPU seconds of single CLI calls: what every user command and every CLI call of the test suite pays
 * before any work. Builds alternate call by call, so load from other processes hits both alike.
 */
function startup() {
  const dir = join(WORK, 'startup');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'p.yaml'), 'stages:\n  hello:\n    run: [sh, -c, \'echo done > "$0"\', "${outs.o}"]\n    outs: { o: o.txt }\n');
  timed('node', [PIPE, 'run', 'p.yaml'], dir);
  const cases = { '--help': ['--help'], 'run --help': ['run', '--help'], status: ['status', 'p.yaml'], 'run, cached 1-stage pipeline': ['run', 'p.yaml'], 'run --force, 1-stage pipeline (its command included)': ['run', 'p.yaml', '--force'] };
  const bins = { after: PIPE, ...(BEFORE ? { before: BEFORE } : {}) };
  const cpu = {};
  const load = [loadavg()[0]];
  for (let i = 0; i < CALLS; i++) {
    for (const [name, args] of Object.entries(cases)) {
      for (const [build, bin] of Object.entries(bins)) (cpu[`${name}|${build}`] ??= []).push(timed('node', [bin, ...args], dir).cpu);
    }
    (cpu.bare ??= []).push(timed('node', ['-e', '0'], dir).cpu);
    load.push(loadavg()[0]);
  }
  rmSync(dir, { recursive: true, force: true });
  const med = (k) => cpu[k] && Number(median(cpu[k]).toFixed(3));
  const calls = Object.fromEntries(Object.keys(cases).map((name) => [name, { cpu_s: med(`${name}|after`), ...(BEFORE ? { cpu_s_before: med(`${name}|before`), ratio_after_over_before: Number((med(`${name}|after`) / med(`${name}|before`)).toFixed(2)) } : {}) }]));
  return { calls_each: CALLS, load_average_1min: load.map((x) => Number(x.toFixed(1))), bare_node_cpu_s: med('bare'), ...(BEFORE ? { before_bin: BEFORE } : {}), calls };
}

function main() {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const snakemake = spawnSync('snakemake', ['--version'], { encoding: 'utf8' });
  if (snakemake.status !== 0) throw new Error('snakemake not found: apt-get install snakemake');
  mkdirSync(WORK, { recursive: true });
  if (PARTS.has('tutorial')) {
    const t = tutorialCold();
    console.log(JSON.stringify({ machine: machine(), snakemake: snakemake.stdout.trim(), repeat: REPEAT, tutorial_cold: t }, null, 2));
    console.log(`
| cold run, Snakemake tutorial, ${t.samples} samples (${t.jobs} jobs), median of ${REPEAT} | wall | Snakemake / pipe | CPU | Snakemake / pipe |
|---|---:|---:|---:|---:|
| pipe run | ${t.pipe_cold_s.toFixed(2)} s | 1 | ${t.pipe_cold_cpu_s.toFixed(2)} s | 1 |
| Snakemake | ${t.snakemake_cold_s.toFixed(2)} s | ${t.ratio_snakemake_over_pipe}x | ${t.snakemake_cold_cpu_s.toFixed(2)} s | ${t.cpu_ratio_snakemake_over_pipe}x |`);
  }
  if (PARTS.has('overhead')) {
    const o = overhead();
    console.log(JSON.stringify({ machine: machine(), repeat: REPEAT, overhead: o }, null, 2));
    const row = (name, r) => `| ${name} | ${r.wall_s.toFixed(2)} s | ${r.ms_per_instance} ms | ${r.cpu_ms_per_instance} ms |`;
    console.log(`
| ${o.instances} instances of \`true\`, cold, ${o.jobs} jobs, median of ${REPEAT} | wall | per instance | CPU per instance |
|---|---:|---:|---:|
${row('pipe run', o.pipe)}
${o.pipe_before ? `${row('pipe run, before (--before)', o.pipe_before)}\n` : ''}${row('bare spawn of `true` from Node', o.bare_spawn)}
| engine overhead beyond the spawn | | ${o.engine_ms_per_instance} ms${o.pipe_before ? ` (before: ${o.engine_ms_per_instance_before} ms)` : ''} | |
| pipe / bare spawn | ${o.ratio_pipe_over_bare}x | | ${o.cpu_ratio_pipe_over_bare}x |`);
  }
  if (PARTS.has('startup')) {
    const st = startup();
    console.log(JSON.stringify({ machine: machine(), startup: st }, null, 2));
    console.log(`
| one CLI call, CPU (user+sys), median of ${st.calls_each} | after | before | after / before |
|---|---:|---:|---:|
${Object.entries(st.calls).map(([name, c]) => `| pipe ${name} | ${c.cpu_s.toFixed(3)} s | ${c.cpu_s_before === undefined ? '' : `${c.cpu_s_before.toFixed(3)} s`} | ${c.ratio_after_over_before === undefined ? '' : `${c.ratio_after_over_before}x`} |`).join('\n')}
| bare \`node -e 0\` | ${st.bare_node_cpu_s.toFixed(3)} s | | |`);
  }
  if (!PARTS.has('noop')) return;
  const t0 = Date.now();
  generate();
  writeWorkflows();
  console.error(`data ready (${SHARDS * FILES_PER_SHARD} files) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

  // First runs (not timed for the comparison): build everything once with each tool. Snakemake's first
  // build of 1,001 jobs takes minutes; later invocations of this benchmark find it done.
  const pipeFirst = timed('node', [PIPE, 'run', 'pipeline.yaml', '--json']);
  const doc = JSON.parse(pipeFirst.stdout);
  if (doc.status !== 'succeeded') throw new Error(`pipe first run: ${doc.status}`);
  const snake = (file) => ['-s', file, '--cores', String(cpus().length)];
  const smFirst = timed('snakemake', [...snake('Snakefile.files'), '--quiet']);
  const sdFirst = timed('snakemake', [...snake('Snakefile.dirs'), '--quiet']);
  console.error(`first runs: pipe ${pipeFirst.wall}s (${doc.instances.length} instances), snakemake ${smFirst.wall}s + ${sdFirst.wall}s`);

  const noop = (file) => {
    const s = timed('snakemake', snake(file));
    if (!/Nothing to be done/.test(s.stdout + s.stderr)) throw new Error(`snakemake ${file} no-op did work:\n${s.stderr.slice(-1500)}`);
    return s;
  };
  const pipeRuns = [];
  const smRuns = [];
  const sdRuns = [];
  // Interleaved, so that load from other processes on the machine hits every tool alike.
  for (let i = 0; i < REPEAT; i++) {
    const p = timed('node', [PIPE, 'run', 'pipeline.yaml', '--json']);
    const d = JSON.parse(p.stdout);
    const notCached = d.instances.filter((x) => x.status !== 'cached').length;
    if (notCached) throw new Error(`pipe no-op re-ran ${notCached} instances`);
    pipeRuns.push(p);
    smRuns.push(noop('Snakefile.files'));
    sdRuns.push(noop('Snakefile.dirs'));
  }
  const status = timed('node', [PIPE, 'status', 'pipeline.yaml', '--json']);
  const pipeWall = median(pipeRuns.map((r) => r.wall));
  const smWall = median(smRuns.map((r) => r.wall));
  const sdWall = median(sdRuns.map((r) => r.wall));
  // CPU time moves less than wall time with the load other processes put on the machine.
  const pipeCpu = median(pipeRuns.map((r) => r.cpu));
  const smCpu = median(smRuns.map((r) => r.cpu));
  const sdCpu = median(sdRuns.map((r) => r.cpu));
  const result = {
    machine: machine(),
    snakemake: snakemake.stdout.trim(),
    instances: doc.instances.length,
    files: SHARDS * FILES_PER_SHARD,
    repeat: REPEAT,
    pipe_noop_s: pipeWall,
    pipe_noop_all_s: pipeRuns.map((r) => r.wall),
    pipe_peak_rss_mb: Math.round(Math.max(...pipeRuns.map((r) => r.rssMb))),
    pipe_status_s: status.wall,
    snakemake_files_noop_s: smWall,
    snakemake_files_noop_all_s: smRuns.map((r) => r.wall),
    snakemake_files_peak_rss_mb: Math.round(Math.max(...smRuns.map((r) => r.rssMb))),
    snakemake_dirs_noop_s: sdWall,
    snakemake_dirs_noop_all_s: sdRuns.map((r) => r.wall),
    snakemake_dirs_peak_rss_mb: Math.round(Math.max(...sdRuns.map((r) => r.rssMb))),
    ratio_snakemake_files_over_pipe: Number((smWall / pipeWall).toFixed(2)),
    ratio_snakemake_dirs_over_pipe: Number((sdWall / pipeWall).toFixed(2)),
    pipe_noop_cpu_s: pipeCpu,
    snakemake_files_noop_cpu_s: smCpu,
    snakemake_dirs_noop_cpu_s: sdCpu,
    cpu_ratio_snakemake_files_over_pipe: Number((smCpu / pipeCpu).toFixed(2)),
    cpu_ratio_snakemake_dirs_over_pipe: Number((sdCpu / pipeCpu).toFixed(2)),
  };
  writeFileSync(join(WORK, 'result.json'), JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result, null, 2));
  console.log(`
| no-op re-run (median of ${REPEAT}) | wall | ratio | CPU (user+sys) | ratio | peak RSS |
|---|---:|---:|---:|---:|---:|
| pipe run, ${result.instances} instances over ${result.files} files | ${pipeWall.toFixed(2)} s | 1 | ${pipeCpu.toFixed(2)} s | 1 | ${result.pipe_peak_rss_mb} MiB |
| Snakemake, per-file inputs (equivalent) | ${smWall.toFixed(2)} s | ${result.ratio_snakemake_files_over_pipe}x | ${smCpu.toFixed(2)} s | ${result.cpu_ratio_snakemake_files_over_pipe}x | ${result.snakemake_files_peak_rss_mb} MiB |
| Snakemake, directory inputs (checks less) | ${sdWall.toFixed(2)} s | ${result.ratio_snakemake_dirs_over_pipe}x | ${sdCpu.toFixed(2)} s | ${result.cpu_ratio_snakemake_dirs_over_pipe}x | ${result.snakemake_dirs_peak_rss_mb} MiB |
| pipe status (for reference) | ${status.wall.toFixed(2)} s | | ${status.cpu.toFixed(2)} s | | |`);
}

main();
