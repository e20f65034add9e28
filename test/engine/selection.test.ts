// --force, --only, --from, --until, --downstream, --dry-run, failures and --keep-going.
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runEngine, runPipe, runPipeJson, statuses, tempWorkspace, type EngineRunOptions, type TempWorkspace } from '../support/index.js';

// write(out, text...): a tiny command.
const W = `"require('fs').writeFileSync(process.argv[1], process.argv.slice(2).join(' '))"`;
const SH_W = `sh, -c, 'o=$1; shift; echo "$*" > "$o"', sh`;
const PIPELINE = `
params: { n: 1, seeds: [1, 2] }
stages:
  a:
    run: [${SH_W}, "\${outs.o}", "a", "\${params.n}"]
    outs: { o: a.txt }
  b:
    matrix: { seed: "\${params.seeds}" }
    run: [${SH_W}, "\${outs.o}", "\${stages.a.outputs.o}", "\${matrix.seed}"]
    outs: { o: b.txt }
  c:
    run: [${SH_W}, "\${outs.o}", "\${stages.b.outputs.o}"]
    outs: { o: c.txt }
  d:
    run: [${SH_W}, "\${outs.o}", "d"]
    outs: { o: d.txt }
`;
const ALL = ['a', 'b@seed=1', 'b@seed=2', 'c', 'd'];

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

/** A workspace where the pipeline ran once; `run` runs it again in-process with selection options. */
async function ranOnce() {
  ws = tempWorkspace();
  ws.write('p.yaml', PIPELINE);
  const run = (opts: EngineRunOptions = {}) => runEngine(ws.dir, 'p.yaml', { jobs: 1, ...opts });
  expect(statuses(await run())).toEqual({ ran: ALL });
  return run;
}

describe('selection', () => {
  it('--force re-runs everything selected', async () => {
    const run = await ranOnce();
    expect(statuses(await run({ force: true }))).toEqual({ ran: ALL });
  });

  it('--force=ID re-runs one instance; identical bytes do not cascade (content-addressed inputs)', async () => {
    const run = await ranOnce();
    expect(statuses(await run({ force: ['b@seed=1'] }))).toEqual({ cached: ['a', 'b@seed=2', 'c', 'd'], ran: ['b@seed=1'] });
  });

  it('--force=GLOB re-runs the matching instances', async () => {
    const run = await ranOnce();
    expect(statuses(await run({ force: ['b@*'] }))).toEqual({ cached: ['a', 'c', 'd'], ran: ['b@seed=1', 'b@seed=2'] });
  });

  it('--downstream invalidates an instance and what depends on it; upstream and unrelated stay', async () => {
    const run = await ranOnce();
    expect(statuses(await run({ downstream: ['b@seed=2'] }))).toEqual({ ran: ['b@seed=2', 'c'], cached: ['a', 'b@seed=1'] });
  });

  it('--from re-runs only what is out of date', async () => {
    const run = await ranOnce();
    expect(statuses(await run({ from: ['b@seed=2'] }))).toEqual({ cached: ['a', 'b@seed=1', 'b@seed=2', 'c'] });
  });

  it('--only runs only what it names; an out-of-date upstream blocks it', async () => {
    const run = await ranOnce();
    const only = await run({ only: ['b@*'], sets: ['n=2'] });
    expect(only.status).toBe('failed');
    expect(statuses(only)).toEqual({ skipped: ['a', 'b@seed=1', 'b@seed=2'] });
    expect(only.instances.find((i) => i.id === 'a')!.reason).toBe('not selected and not up to date');
    expect(only.instances.find((i) => i.id === 'b@seed=1')!.reason).toBe('upstream a was skipped');
  });

  it('--dry-run says what would run and why, and records no run', async () => {
    const run = await ranOnce();
    const dry = await run({ dryRun: true, sets: ['n=2'] });
    expect(dry.run).toBeNull();
    expect(dry.instances.filter((i) => i.would_run).map((i) => i.id)).toEqual(['a', 'b@seed=1', 'b@seed=2', 'c']);
    expect(statuses(dry)).toEqual({ cached: ['d'], skipped: ['a', 'b@seed=1', 'b@seed=2', 'c'] });
    expect(dry.instances[0].reason).toContain('param n: 1 -> 2'); // why, as pipe status says it
    // Nothing ran: a real run still has everything to do.
    expect(statuses(await run({ sets: ['n=2'] }))).toEqual({ cached: ['d'], ran: ['a', 'b@seed=1', 'b@seed=2', 'c'] });
  });

  it('--until runs an instance and its upstream; --from then runs the rest', async () => {
    const run = await ranOnce();
    expect(statuses(await run({ until: ['b@seed=1'], sets: ['n=2'] }))).toEqual({ ran: ['a', 'b@seed=1'] });
    expect(statuses(await run({ from: ['b'], sets: ['n=2'] }))).toEqual({ cached: ['a', 'b@seed=1'], ran: ['b@seed=2', 'c'] });
    expect(statuses(await run({ sets: ['n=2'] }))).toEqual({ cached: ALL });
  });

  it('the CLI flags: --force=GLOB, --force alone, a pattern that matches nothing', async () => {
    await ranOnce();
    const cli = async (...args: string[]) => byStatus((await runPipeJson(['run', 'p.yaml', '--jobs', '1', ...args], { cwd: ws.dir })).doc);
    expect(await cli('--force=b@seed=*')).toEqual({ cached: ['a', 'c', 'd'], ran: ['b@seed=1', 'b@seed=2'] });
    expect(await cli('--force', '--only', 'd')).toEqual({ ran: ['d'] });
    const bad = await runPipe(['run', 'p.yaml', '--only', 'zzz*'], { cwd: ws.dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--only zzz*: matches no stage instance');
  });
});

describe('failures', () => {
  it('a failing stage: exit 1, log path and last lines printed, downstream skipped; --keep-going', async () => {
    ws = tempWorkspace();
    ws.write(
      'p.yaml',
      `stages:
  bad:
    run: [node, -e, "console.log('step 1'); console.error('boom: no such table'); process.exit(3)"]
    outs: { o: o.txt }
  after:
    run: [node, -e, "1", "\${stages.bad.outputs.o}"]
  other:
    run: [node, -e, ${W}, "\${outs.o}", "x"]
    outs: { o: o.txt }
`,
    );
    const r = await runPipe(['run', 'p.yaml', '--jobs', '1'], { cwd: ws.dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/failed\s+bad/);
    expect(r.stdout).toContain('error: command exited with code 3');
    expect(r.stdout).toContain('log: runs/logs/1/bad.log');
    expect(r.stdout).toContain('| boom: no such table');
    expect(r.stdout).toMatch(/skipped\s+after\s+\(upstream bad failed\)/);
    expect(r.stdout).toMatch(/skipped\s+other\s+\(stopped after a failure/);

    const k = await runPipeJson(['run', 'p.yaml', '--jobs', '1', '--keep-going'], { cwd: ws.dir });
    expect(k.exitCode).toBe(1);
    expect(byStatus(k.doc)).toEqual({ failed: ['bad'], ran: ['other'], skipped: ['after'] });
  });
});
