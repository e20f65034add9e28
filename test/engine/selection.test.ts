// --force, --only, --from, --until, --downstream, --dry-run, failures and --keep-going.
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

// write(out, text): a tiny shell-free command.
const W = `"require('fs').writeFileSync(process.argv[1], process.argv.slice(2).join(' '))"`;
const PIPELINE = `
params: { n: 1, seeds: [1, 2] }
stages:
  a:
    run: [node, -e, ${W}, "\${outs.o}", "a", "\${params.n}"]
    outs: { o: a.txt }
  b:
    matrix: { seed: "\${params.seeds}" }
    run: [node, -e, ${W}, "\${outs.o}", "\${stages.a.outputs.o}", "\${matrix.seed}"]
    outs: { o: b.txt }
  c:
    run: [node, -e, ${W}, "\${outs.o}", "\${stages.b.outputs.o}"]
    outs: { o: c.txt }
  d:
    run: [node, -e, ${W}, "\${outs.o}", "d"]
    outs: { o: d.txt }
`;
const ALL = ['a', 'b@seed=1', 'b@seed=2', 'c', 'd'];

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

describe('selection flags', () => {
  it('--force, --force=GLOB, --downstream, --only, --until, --from, --dry-run', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    const run = async (...args: string[]) => (await runPipeJson(['run', 'p.yaml', '--jobs', '1', ...args], { cwd: ws.dir })).doc;
    expect(byStatus(await run())).toEqual({ ran: ALL });

    expect(byStatus(await run('--force'))).toEqual({ ran: ALL });
    // A forced re-run that reproduces the same bytes does not cascade (content-addressed inputs).
    expect(byStatus(await run('--force=b@seed=1'))).toEqual({ cached: ['a', 'b@seed=2', 'c', 'd'], ran: ['b@seed=1'] });
    expect(byStatus(await run('--force=b@*'))).toEqual({ cached: ['a', 'c', 'd'], ran: ['b@seed=1', 'b@seed=2'] });
    // Invalidate a stage and everything downstream of it; upstream and unrelated stages untouched.
    expect(byStatus(await run('--downstream', 'b@seed=2'))).toEqual({ ran: ['b@seed=2', 'c'], cached: ['a', 'b@seed=1'] });
    // --from re-runs only what is out of date.
    expect(byStatus(await run('--from', 'b@seed=2'))).toEqual({ cached: ['a', 'b@seed=1', 'b@seed=2', 'c'] });

    // With a param change, --only runs only what it names; an out-of-date upstream blocks it.
    const only = await runPipeJson(['run', 'p.yaml', '--only', 'b@*', '--set', 'n=2'], { cwd: ws.dir });
    expect(only.exitCode).toBe(1);
    expect(byStatus(only.doc)).toEqual({ skipped: ['a', 'b@seed=1', 'b@seed=2'] });
    expect(only.doc.instances.find((i) => i.id === 'a')!.reason).toBe('not selected and not up to date');

    const dry = await run('--dry-run', '--set', 'n=2');
    expect(dry.run).toBeNull();
    expect(dry.instances.filter((i) => i.would_run).map((i) => i.id)).toEqual(['a', 'b@seed=1', 'b@seed=2', 'c']);
    expect(byStatus(dry)).toEqual({ cached: ['d'], skipped: ['a', 'b@seed=1', 'b@seed=2', 'c'] });
    expect(dry.instances[0].reason).toContain('param n: 1 -> 2'); // why, as pipe status says it

    expect(byStatus(await run('--until', 'b@seed=1', '--set', 'n=2'))).toEqual({ ran: ['a', 'b@seed=1'] });
    expect(byStatus(await run('--from', 'b', '--set', 'n=2'))).toEqual({ cached: ['a', 'b@seed=1'], ran: ['b@seed=2', 'c'] });
    expect(byStatus(await run('--set', 'n=2'))).toEqual({ cached: ALL });

    const bad = await runPipe(['run', 'p.yaml', '--only', 'zzz*'], { cwd: ws.dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--only zzz*: matches no stage instance');
  });

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
