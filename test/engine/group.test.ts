// group_by: through the real CLI. A command stage grouped on an axis runs its command once per group
// (the members file lists the members to build), each member is committed under its own key with its
// own metrics, a cached member is never passed again, and a killed grouped run resumes every member.
import { execa } from 'execa';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { byStatus, PIPE_BIN, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';
import { pidAlive } from '../../src/store/process.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(50);
  }
}

// The grouped "trainer": records each call's members in calls.log, leaves a checkpoint in each member's
// resume dir (and says whether it found one), optionally waits for the file `go`, then writes every
// member's outputs. A member named in fail.txt gets no outputs.
const TRAINER = `
import fs from 'node:fs';
const file = process.argv[2];
const { members } = JSON.parse(fs.readFileSync(file, 'utf8'));
fs.appendFileSync('calls.log', JSON.stringify(members.map((m) => m.id)) + '\\n');
fs.copyFileSync(file, 'members-last.json');
const resumed = {};
for (const m of members) {
  const ckpt = m.resume_dir + '/ckpt';
  resumed[m.id] = fs.existsSync(ckpt);
  fs.writeFileSync(ckpt, 'half');
  console.log('training ' + m.id);
}
if (process.env.PAUSE) {
  fs.writeFileSync('trainer.pid', String(process.pid));
  while (!fs.existsSync('go')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
}
const failing = fs.existsSync('fail.txt') ? fs.readFileSync('fail.txt', 'utf8').trim() : '';
for (const m of members) {
  if (m.id === failing) continue;
  const { seed, cfg } = m.matrix;
  fs.writeFileSync(m.outs.model, JSON.stringify({ seed, cfg, resumed: resumed[m.id] }));
  fs.writeFileSync(m.outs.scores, JSON.stringify({ acc: seed / 10 + (cfg?.n ?? 0) }));
}
`;

function pipeline(opts: { seeds?: string; extra?: string; cfg?: string } = {}): string {
  return `
params: { seeds: ${opts.seeds ?? '[0, 1, 2, 3]'} }
stages:
  train:
    matrix: { seed: "\${params.seeds}"${opts.cfg ? `, cfg: ${opts.cfg}` : ''} }
    group_by: [seed]
${opts.extra ?? ''}    run: [node, "\${deps.trainer}", "\${group.members}"]
    deps: { trainer: trainer.mjs }
    outs: { model: model.json, scores: scores.json }
    metrics: [scores]
  summary:
    run: [node, -e, "const fs=require('fs'); fs.writeFileSync(process.argv[1], process.argv.slice(2).map((p) => fs.readFileSync(p, 'utf8')).join('\\\\n'))", "\${outs.all}", "\${stages.train.outputs.model}"]
    outs: { all: all.txt }
`;
}

function calls(): string[][] {
  if (!existsSync(ws.path('calls.log'))) return [];
  return readFileSync(ws.path('calls.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
}

function setup(opts: Parameters<typeof pipeline>[0] = {}): void {
  ws = tempWorkspace();
  ws.write('trainer.mjs', TRAINER);
  ws.write('p.yaml', pipeline(opts));
}

const SEEDS = ['train@seed=0', 'train@seed=1', 'train@seed=2', 'train@seed=3'];

describe('group_by: command stages', () => {
  it('a group of 4 runs the command once and commits 4 keys, each with its own outputs, metrics and log', async () => {
    setup();
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(byStatus(r.doc)).toEqual({ ran: ['summary', ...SEEDS] });
    expect(calls()).toEqual([SEEDS]);
    const members = r.doc.instances.filter((i) => i.id.startsWith('train@'));
    expect(new Set(members.map((m) => m.key)).size).toBe(4);
    for (const [seed, m] of members.entries()) {
      expect(JSON.parse(readFileSync(m.outputs!.model, 'utf8'))).toEqual({ seed, resumed: false });
      // Each member's log holds the group's output.
      expect(readFileSync(ws.path(m.log!), 'utf8')).toMatch(/\[pipe\] group of 4: train@seed=0, train@seed=1, train@seed=2, train@seed=3\n[\s\S]*\ntraining train@seed=3\n/);
    }
    // The members file as the command saw it: ids, matrix values, output paths inside each private dir.
    const file = JSON.parse(readFileSync(ws.path('members-last.json'), 'utf8')) as { members: { id: string; matrix: object; outs: { model: string }; resume_dir: string }[] };
    expect(file.members[2]).toMatchObject({ id: 'train@seed=2', matrix: { seed: 2 }, resume_dir: ws.path(`runs/partial/${members[2].key}`) });
    expect(file.members[2].outs.model).toMatch(new RegExp(`/runs/tmp/${members[2].key}\\.\\d+\\.[0-9a-f]+/model\\.json$`));

    const exp = await runPipe(['exp', 'show', 'p.yaml', '--instances', '--json'], { cwd: ws.dir });
    const rows = JSON.parse(exp.stdout) as { rows: { instance: string; metrics: Record<string, number> }[] };
    const acc = Object.fromEntries(rows.rows.filter((x) => x.instance.startsWith('train@')).map((x) => [x.instance, x.metrics]));
    expect(acc['train@seed=3']).toEqual({ 'acc{seed=3}': 0.3 });

    const again = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(again.doc)).toEqual({ cached: ['summary', ...SEEDS] });
    expect(calls()).toHaveLength(1);
  });

  it('with 2 members cached, the command sees only the other 2; the cached outputs are untouched', async () => {
    setup({ seeds: '[0, 1]' });
    const first = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(first.exitCode).toBe(0);
    const before = first.doc.instances.filter((i) => i.id.startsWith('train@')).map((i) => ({ path: i.outputs!.model, ...statSync(i.outputs!.model) }));

    const r = await runPipeJson(['run', 'p.yaml', '--set', 'seeds=[0,1,2,3]'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(byStatus(r.doc)).toEqual({ cached: SEEDS.slice(0, 2), ran: ['summary', ...SEEDS.slice(2)] });
    expect(calls()).toEqual([SEEDS.slice(0, 2), SEEDS.slice(2)]);
    for (const b of before) {
      const now = statSync(b.path);
      expect([now.ino, now.mtimeMs]).toEqual([b.ino, b.mtimeMs]);
    }
    const status = await runPipe(['status', 'p.yaml', '--set', 'seeds=[0,1,2,3]', '--verify'], { cwd: ws.dir });
    expect(status.stdout).toMatch(/5 up to date, 0 stale, 0 new, 0 pending/);
  });

  it('a changed matrix value of one member re-runs only that member', async () => {
    setup({ seeds: '[1]', cfg: '[{ name: a, n: 1 }, { name: b, n: 2 }]' });
    ws.write('p.yaml', pipeline({ seeds: '[1]', cfg: '[{ name: a, n: 1 }, { name: b, n: 2 }]' }).replace('group_by: [seed]', 'group_by: [cfg]'));
    expect((await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    expect(calls()).toEqual([['train@seed=1,cfg=a', 'train@seed=1,cfg=b']]);
    ws.write('p.yaml', readFileSync(ws.path('p.yaml'), 'utf8').replace('{ name: b, n: 2 }', '{ name: b, n: 5 }'));
    const status = await runPipe(['status', 'p.yaml'], { cwd: ws.dir });
    expect(status.stdout).toMatch(/stale +train@seed=1,cfg=b\n +param +matrix\.cfg\.n: 2 -> 5\n/);
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(byStatus(r.doc)).toEqual({ cached: ['train@seed=1,cfg=a'], ran: ['summary', 'train@seed=1,cfg=b'] });
    expect(calls()[1]).toEqual(['train@seed=1,cfg=b']);
    expect(JSON.parse(readFileSync(r.doc.instances.find((i) => i.id === 'train@seed=1,cfg=b')!.outputs!.scores, 'utf8'))).toEqual({ acc: 5.1 });
  });

  it('group_size splits a group into calls of at most that many members', async () => {
    setup({ extra: '    group_size: 3\n' });
    expect((await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    // The two calls run side by side: in either order.
    expect(calls().sort((a, b) => b.length - a.length)).toEqual([SEEDS.slice(0, 3), SEEDS.slice(3)]);
  });

  it('a member whose outputs are missing fails alone; a failing command fails every member', async () => {
    setup();
    ws.write('fail.txt', 'train@seed=2');
    const r = await runPipeJson(['run', 'p.yaml', '--keep-going'], { cwd: ws.dir });
    expect(r.exitCode).toBe(1);
    expect(byStatus(r.doc)).toEqual({ failed: ['train@seed=2'], ran: ['train@seed=0', 'train@seed=1', 'train@seed=3'], skipped: ['summary'] });
    expect(r.doc.instances.find((i) => i.id === 'train@seed=2')!.error).toMatch(/did not write its output "model"/);

    ws.write('trainer.mjs', 'process.exit(4)\n');
    const all = await runPipeJson(['run', 'p.yaml', '--set', 'seeds=[5,6]'], { cwd: ws.dir });
    expect(byStatus(all.doc)).toEqual({ failed: ['train@seed=5', 'train@seed=6'], skipped: ['summary'] });
    expect(all.doc.instances[0].error).toBe('command exited with code 4');
  });

  it('SIGKILL of a grouped run, then a re-run: every member resumes from its checkpoint, nothing corrupt', async () => {
    setup();
    const child = execa(process.execPath, [PIPE_BIN, 'run', 'p.yaml'], { cwd: ws.dir, reject: false, env: { CI: '1', PAUSE: '1' } });
    await waitFor(() => existsSync(ws.path('trainer.pid')));
    child.kill('SIGKILL');
    await child;
    // The trainer is still waiting (an orphan): the next run ends its process group when it takes the locks.
    const orphan = Number(readFileSync(ws.path('trainer.pid'), 'utf8'));
    ws.write('go', '');
    const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(byStatus(r.doc)).toEqual({ ran: ['summary', ...SEEDS] });
    expect(calls()).toEqual([SEEDS, SEEDS]);
    for (const m of r.doc.instances.filter((i) => i.id.startsWith('train@'))) expect(JSON.parse(readFileSync(m.outputs!.model, 'utf8'))).toMatchObject({ resumed: true });
    // Ended: gone, or a zombie that PID 1 has not reaped yet (this container's init reaps late; the quiet
    // run of 13:52 saw one).
    expect(pidAlive(orphan)).toBe(false);
    const status = await runPipe(['status', 'p.yaml', '--verify'], { cwd: ws.dir });
    expect(status.stdout).toMatch(/5 up to date, 0 stale, 0 new, 0 pending/);
    expect(status.stdout).not.toMatch(/corrupt/);
  });
});

describe('group_by: validation', () => {
  it('names the file, line and field of each mistake', async () => {
    ws = tempWorkspace();
    ws.write('trainer.mjs', TRAINER);
    ws.write(
      'p.yaml',
      `stages:
  a:
    matrix: { seed: [0, 1] }
    group_by: [seed, sed]
    run: [node, trainer.mjs, "\${group.members}", "\${matrix.seed}", "\${outs.o}"]
    outs: { o: o.txt }
  b:
    run: [echo, "\${group.members}"]
    group_size: 2
  c:
    uses: demo/synthetic-data
    matrix: { n: [1, 2] }
    group_by: [n]
`,
    );
    const r = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/p\.yaml:4:\d+: error: stages\.a\.group_by: "sed" is not a matrix axis of a\n  hint: axes of a: seed/);
    expect(r.stderr).toMatch(/p\.yaml:5:\d+: error: stages\.a\.run\[3\]: \$\{matrix\.seed\} differs between the members of a group/);
    expect(r.stderr).toMatch(/p\.yaml:5:\d+: error: stages\.a\.run\[4\]: \$\{outs\.o\}: each member of a group has its own outputs/);
    expect(r.stderr).toMatch(/p\.yaml:8:\d+: error: stages\.b\.run\[1\]: \$\{group\.members\} is only available in run: and env: of a command stage with group_by:/);
    expect(r.stderr).toMatch(/p\.yaml:9:\d+: error: stages\.b\.group_size: needs group_by:/);
    expect(r.stderr).toMatch(/p\.yaml:13:\d+: error: stages\.c\.group_by: stage kind demo\/synthetic-data cannot run instances together \(it has no runGroup\)/);
  });
});
