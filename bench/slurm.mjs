// Slurm benchmark, pipe against Snakemake 7.21's cluster mode in the same run: N trivial instances (each
// writes one line into its output), every one a Slurm job, from a cold workspace to the last output.
//   pipe       `pipe run --executor slurm --jobs J`: one job array per batch of ready instances, one
//              squeue call per poll for all jobs, result files as the fast completion signal
//   Snakemake  `snakemake --cluster "sbatch ..." --jobs J`: one sbatch per job; each job runs Snakemake
//              again on the node; completion seen through its marker files
// Both ask Slurm for the same thing per job (1 CPU, 512 MiB). Needs a running cluster (the script starts
// the one-node cluster of tools/slurm-single-node.sh when none answers) and Debian's snakemake.
// Usage: npm run bench:slurm [-- --instances N] [--jobs J] [--repeat R]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, machine, median, timed } from './lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work', 'slurm');
const PIPE = join(ROOT, 'bin', 'pipe.js');
const N = Number(arg('instances', 300));
const JOBS = Number(arg('jobs', 300));
const REPEAT = Number(arg('repeat', 1));
const SBATCH = 'sbatch --parsable --cpus-per-task=1 --mem=512M --no-requeue';

function sh(cmd, args) {
  return spawnSync(cmd, args, { encoding: 'utf8' });
}

/** A cluster that answers, with nothing queued that would delay either tool. */
function clusterReady() {
  if (sh('sinfo', ['-h', '-o', '%T']).status !== 0) {
    const up = spawnSync('bash', [join(ROOT, 'tools', 'slurm-single-node.sh')], { stdio: 'inherit' });
    if (up.status !== 0) throw new Error('no Slurm cluster answers and tools/slurm-single-node.sh could not start one');
  }
  for (let i = 0; i < 120; i++) {
    const q = sh('squeue', ['-h', '-o', '%i']);
    if (q.status === 0 && q.stdout.trim() === '') return;
    spawnSync('sleep', ['1']);
  }
  throw new Error('the Slurm queue did not empty within 2 minutes (other jobs are queued): squeue');
}

function freshWorkspace(name) {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function pipeWorkspace() {
  const dir = freshWorkspace('pipe');
  const ids = Array.from({ length: N }, (_, i) => i).join(', ');
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    `stages:
  t:
    matrix: { i: [${ids}] }
    run: [sh, -c, "echo \${matrix.i} > \${outs.x}"]
    outs: { x: x.txt }
    resources: { cpu: 1, memory_mb: 512 }
`,
  );
  return dir;
}

function snakemakeWorkspace() {
  const dir = freshWorkspace('snakemake');
  mkdirSync(join(dir, 'slurm-out'));
  writeFileSync(
    join(dir, 'Snakefile'),
    `rule all:
    input: expand("out/{i}.txt", i=range(${N}))

rule t:
    output: "out/{i}.txt"
    shell: "echo {wildcards.i} > {output}"
`,
  );
  return dir;
}

function runPipe() {
  clusterReady();
  const dir = pipeWorkspace();
  const r = timed('node', [PIPE, 'run', 'pipeline.yaml', '--executor', 'slurm', '--jobs', String(JOBS), '--json'], dir);
  const doc = JSON.parse(r.stdout);
  const ran = doc.instances.filter((x) => x.status === 'ran');
  if (doc.status !== 'succeeded' || ran.length !== N) throw new Error(`pipe run: ${doc.status}, ${ran.length} of ${N} ran`);
  for (const x of ran) if (readFileSync(x.outputs.x, 'utf8') !== `${x.id.split('=')[1]}\n`) throw new Error(`pipe: wrong output for ${x.id}`);
  return r;
}

function runSnakemake() {
  clusterReady();
  const dir = snakemakeWorkspace();
  const r = timed('snakemake', ['--cluster', `${SBATCH} --output=slurm-out/%j.out`, '--jobs', String(JOBS), '--quiet'], dir);
  for (let i = 0; i < N; i++) if (readFileSync(join(dir, 'out', `${i}.txt`), 'utf8') !== `${i}\n`) throw new Error(`snakemake: wrong output for ${i}`);
  return r;
}

function main() {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const snakemake = sh('snakemake', ['--version']);
  if (snakemake.status !== 0) throw new Error('snakemake not found: apt-get install snakemake');
  const pipeRuns = [];
  const smRuns = [];
  // Interleaved, so that load from other processes on the machine hits both tools alike.
  for (let i = 0; i < REPEAT; i++) {
    pipeRuns.push(runPipe());
    console.error(`pipe: ${pipeRuns.at(-1).wall} s`);
    smRuns.push(runSnakemake());
    console.error(`snakemake: ${smRuns.at(-1).wall} s`);
  }
  const pipeWall = median(pipeRuns.map((r) => r.wall));
  const smWall = median(smRuns.map((r) => r.wall));
  const nodes = sh('sinfo', ['-h', '-N', '-o', '%N %c %T']).stdout.trim();
  const result = {
    machine: machine(),
    cluster: nodes,
    snakemake: snakemake.stdout.trim(),
    instances: N,
    jobs_cap: JOBS,
    repeat: REPEAT,
    pipe_s: pipeWall,
    pipe_all_s: pipeRuns.map((r) => r.wall),
    pipe_ms_per_job: Math.round((pipeWall * 1000) / N),
    pipe_controller_cpu_s: median(pipeRuns.map((r) => r.cpu)),
    snakemake_s: smWall,
    snakemake_all_s: smRuns.map((r) => r.wall),
    snakemake_ms_per_job: Math.round((smWall * 1000) / N),
    snakemake_controller_cpu_s: median(smRuns.map((r) => r.cpu)),
    ratio_snakemake_over_pipe: Number((smWall / pipeWall).toFixed(2)),
  };
  writeFileSync(join(WORK, 'result.json'), JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result, null, 2));
  console.log(`
| ${N} trivial jobs through Slurm, cold, --jobs ${JOBS}, median of ${REPEAT} | wall | per job | Snakemake / pipe | controller CPU |
|---|---:|---:|---:|---:|
| pipe run --executor slurm | ${pipeWall.toFixed(1)} s | ${result.pipe_ms_per_job} ms | 1 | ${result.pipe_controller_cpu_s.toFixed(1)} s |
| Snakemake --cluster sbatch | ${smWall.toFixed(1)} s | ${result.snakemake_ms_per_job} ms | ${result.ratio_snakemake_over_pipe}x | ${result.snakemake_controller_cpu_s.toFixed(1)} s |`);
}

main();
