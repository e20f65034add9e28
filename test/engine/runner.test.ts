// The run loop (src/engine/runner.ts) in the test process, with tiny built-in kinds that run in
// milliseconds: what happens to each instance (ran, restored, failed, skipped, retried, interrupted,
// rebuilt after damage), what the run's history and runs/latest say afterwards. Fast on purpose: mutation
// testing runs these against every mutant of the runner (docs/testing.md).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENTRY_MANIFEST } from '../../src/engine/entry.js';
import { Layout } from '../../src/engine/layout.js';
import type { Reporter } from '../../src/engine/progress.js';
import { defineStage, StageError, type StageKind } from '../../src/stage-api.js';
import { openStore, type Store } from '../../src/store/index.js';
import { runEngine, statuses, tempWorkspace, type EngineRunOptions, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
let store: Store | undefined;
afterEach(() => {
  store?.close();
  store = undefined;
  ws?.cleanup();
});

/** Called by `mode: abort` stages: the test's AbortController (the CLI's Ctrl-C). */
let abortRun: () => void = () => undefined;

type Mode = 'ok' | 'stage-error' | 'bug' | 'flaky' | 'abort' | 'fail-then-abort' | 'probe' | 'hang';

/**
 * `t/step` writes `text` (after its `input`'s content) to `out`; `mode` makes it fail: with a StageError,
 * a plain Error, once (it succeeds when its resume directory holds the mark of a failed attempt), by
 * aborting the run. A `bad-fingerprint` param makes its fingerprint throw (a bug before the key exists).
 */
const STEP = defineStage<{ text: string; input?: string; mode: Mode; fingerprint: string }>({
  kind: 't/step',
  version: '1',
  description: 'writes a text, optionally after its input',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: {
      text: { type: 'string' },
      input: { type: 'string', format: 'path' },
      mode: { type: 'string', default: 'ok' },
      fingerprint: { type: 'string', default: 'ok' },
    },
  },
  outputs: { out: { path: 'out.txt', description: 'the text' } },
  fingerprint: (p) => {
    if (p.fingerprint === 'bug') return Promise.reject(new TypeError('fingerprint exploded'));
    if (p.fingerprint === 'stage-error') return Promise.reject(new StageError('no runtime found', 'install it'));
    if (p.fingerprint === 'disk-full') return Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
    return Promise.resolve({});
  },
  async run(ctx) {
    const { text, input, mode } = ctx.params;
    ctx.log(`run ${ctx.run.id} of ${ctx.run.pipelineFile} (${ctx.run.pipelineHash})`);
    const mark = join(ctx.resumeDir, 'failed-once');
    if (mode === 'stage-error') throw new StageError(`${text} cannot be written`, 'fix the text');
    if (mode === 'bug') throw new RangeError(`${text} is out of range`);
    if (mode === 'flaky' && !existsSync(mark)) {
      writeFileSync(mark, '');
      throw new StageError('first attempt fails');
    }
    if (mode === 'probe') {
      // What the engine hands a stage: its workspace, its kind's cache, hashing through the run's cache.
      const [h] = await ctx.hashFiles([input!]);
      ctx.log(`workspace ${ctx.workspace} cache ${ctx.kindCacheDir} hash ${h}`);
      ctx.progress({ done: 1, total: 2, unit: 'parts' });
    }
    if (mode === 'hang') {
      await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
      throw new StageError('stopped');
    }
    if (mode === 'abort' || mode === 'fail-then-abort') {
      // The abort lands after this attempt has ended (a signal arriving while it finishes).
      setTimeout(abortRun, 20);
      if (mode === 'fail-then-abort') throw new StageError('fails, then the run is interrupted');
      await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
    }
    writeFileSync(ctx.output('out'), `${input ? readFileSync(input, 'utf8') : ''}${text}`);
  },
});
const KINDS = [STEP as unknown as StageKind<never>];

const run = (file: string, o: EngineRunOptions = {}) => runEngine(ws.dir, file, { kinds: KINDS, jobs: 1, ...o });
const byId = (r: Awaited<ReturnType<typeof run>>, id: string) => r.instances.find((i) => i.id === id)!;
const openWsStore = () => (store = openStore(new Layout(ws.dir).db));

/** A Reporter that keeps what the run told it (the CLI's terminal and JSON views implement the same). */
function recording(): Reporter & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    begin: (i) => events.push(`begin ${i.total}${i.dryRun ? ' dry' : ''}`),
    started: (id) => events.push(`started ${id}`),
    progress: (id, p) => events.push(`progress ${id}: ${p.done}/${p.total ?? '?'}`),
    output: (id, line) => events.push(`output ${id}: ${line}`),
    reindexed: (r) => events.push(`reindexed ${r.indexed.length}`),
    waiting: (id, why) => events.push(`waiting ${id}: ${why}`),
    corrupt: (id, problem, movedTo) => events.push(`corrupt ${id}: ${problem} -> ${movedTo}`),
    log: (id, line) => events.push(`log ${id}: ${line}`),
    finished: (r) => events.push(`finished ${r.id} ${r.status}`),
    end: (r) => events.push(`end ${r.status}`),
  };
}

// a -> b (b reads a's output); c stands alone.
const CHAIN = `
stages:
  a:
    uses: t/step
    with: { text: A }
  b:
    uses: t/step
    with: { text: B, input: "\${stages.a.outputs.out}" }
  c:
    uses: t/step
    with: { text: C }
`;

describe('the run loop', () => {
  it('runs, restores from the store, re-runs what is forced; history, logs and runs/latest follow', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', CHAIN);
    const rep = recording();
    const first = await run('p.yaml', { reporter: rep, argv: ['run', 'p.yaml'] });
    expect(first.status).toBe('succeeded');
    expect(statuses(first)).toEqual({ ran: ['a', 'b', 'c'] });
    expect(readFileSync(byId(first, 'b').outputs!.out, 'utf8')).toBe('AB');
    const layout = new Layout(ws.dir);
    const a = byId(first, 'a');
    expect(a.outputs!.out).toBe(join(layout.store(a.key!), 'out.txt'));
    expect(readlinkSync(layout.latest('a'))).toBe(relative(dirname(layout.latest('a')), layout.store(a.key!)));
    // The stage saw its run: id, file and the sha256 of the file as the run started.
    const pipelineHash = createHash('sha256').update(readFileSync(ws.path('p.yaml'))).digest('hex');
    expect(a.log).toBe(relative(ws.dir, layout.log(first.run!, 'a')));
    expect(readFileSync(ws.path(a.log!), 'utf8')).toContain(`run ${first.run} of p.yaml (${pipelineHash})`);
    expect(rep.events[0]).toBe('begin 3');
    expect(rep.events).toContain('started a');
    expect(rep.events.at(-1)).toBe('end succeeded');
    expect(rep.events.filter((e) => e.startsWith('log '))).toEqual([]); // not --verbose
    expect(readdirSync(layout.tmp)).toEqual([]);

    const second = await run('p.yaml');
    expect(statuses(second)).toEqual({ cached: ['a', 'b', 'c'] });
    expect(byId(second, 'b').outputs).toEqual(byId(first, 'b').outputs);
    // Forced: a re-runs; its bytes are the same, so b's key is unchanged and b is restored.
    const verbose = recording();
    const third = await run('p.yaml', { force: ['a'], reporter: verbose, verbose: true });
    expect(statuses(third)).toEqual({ cached: ['b', 'c'], ran: ['a'] });
    expect(verbose.events).toContain(`log a: run ${third.run} of p.yaml (${pipelineHash})`);
    // --verbose with a reporter that takes no output lines (the API's silent default).
    expect(statuses(await run('p.yaml', { force: ['c'], verbose: true }))).toEqual({ cached: ['a', 'b'], ran: ['c'] });

    openWsStore();
    expect(store!.getRun(first.run!)).toMatchObject({ status: 'succeeded', pipeline: 'p.yaml', argv: ['run', 'p.yaml'] });
    expect(store!.getRun(second.run!)?.argv).toEqual([]);
    expect(store!.runInstances(second.run!).map((r) => `${r.instanceId} ${r.status}`).sort()).toEqual(['a cached', 'b cached', 'c cached']);
    expect(store!.runInstances(third.run!).map((r) => `${r.instanceId} ${r.status}`).sort()).toEqual(['a ran', 'b cached', 'c cached']);
  });

  it('a dry run records nothing and says why each instance would run', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', CHAIN);
    const rep = recording();
    const dry = await run('p.yaml', { dryRun: true, reporter: rep });
    expect(dry).toMatchObject({ run: null, status: 'succeeded' });
    expect(rep.events[0]).toBe('begin 3 dry');
    expect(byId(dry, 'a')).toMatchObject({ status: 'skipped', would_run: true, reason: 'never ran' });
    expect(byId(dry, 'b')).toMatchObject({ status: 'skipped', would_run: true, reason: 'upstream a would run' });
    expect(existsSync(new Layout(ws.dir).latest('a'))).toBe(false);
    openWsStore();
    expect(store!.listRuns()).toEqual([]);
    store!.close();
    store = undefined;

    await run('p.yaml');
    ws.write('p.yaml', CHAIN.replace('text: C', 'text: D'));
    const stale = await run('p.yaml', { dryRun: true, force: ['a'] });
    expect(byId(stale, 'a')).toMatchObject({ status: 'skipped', would_run: true, reason: 'forced' });
    expect(byId(stale, 'b')).toMatchObject({ status: 'skipped', would_run: true, reason: 'upstream a would run' });
    expect(byId(stale, 'c')).toMatchObject({ status: 'skipped', would_run: true, reason: 'param text: "C" -> "D"' });
    // Not selected and not up to date: reported, not run, and the run fails (nothing it asked for is there).
    const only = await run('p.yaml', { only: ['b'], force: true });
    expect(byId(only, 'b')).toMatchObject({ status: 'ran' });
    const notSelected = await run('p.yaml', { only: ['b'] });
    expect(statuses(notSelected)).toEqual({ cached: ['a', 'b'] });
    ws.write('p.yaml', CHAIN.replace('text: A', 'text: Z'));
    const blocked = await run('p.yaml', { only: ['b'] });
    expect(blocked.status).toBe('failed');
    expect(byId(blocked, 'a')).toMatchObject({ status: 'skipped', reason: 'not selected and not up to date', key: expect.stringMatching(/^[0-9a-f]{64}$/), hint: 'include it in --only/--from/--until, or run without them' });
    expect(byId(blocked, 'b')).toMatchObject({ status: 'skipped', reason: 'upstream a was skipped' });
    expect(byId(blocked, 'b').would_run).toBeUndefined();
  });

  it('a failed stage: its error, hint and log tail; downstream skipped; the rest stops unless --keep-going', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', CHAIN.replace('with: { text: A }', 'with: { text: A, mode: stage-error }'));
    const rep = recording();
    const r = await run('p.yaml', { reporter: rep });
    expect(r.status).toBe('failed');
    const a = byId(r, 'a');
    expect(a).toMatchObject({ status: 'failed', error: 'A cannot be written', hint: 'fix the text', key: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(a.log).toBe(relative(ws.dir, new Layout(ws.dir).log(r.run!, 'a')));
    expect(a.log_tail).toEqual([expect.stringMatching(/^run \d+ of p\.yaml/)]);
    expect(a.attempts).toBeUndefined();
    expect(byId(r, 'b')).toMatchObject({ status: 'skipped', reason: 'upstream a failed' });
    expect(byId(r, 'c')).toMatchObject({ status: 'skipped', reason: 'stopped after a failure (--keep-going runs independent stages)' });
    expect(rep.events).not.toContain('started c');
    openWsStore();
    expect(store!.getRun(r.run!)?.status).toBe('failed');
    expect(store!.runInstances(r.run!).find((x) => x.instanceId === 'a')).toMatchObject({ status: 'failed', error: 'A cannot be written', key: a.key });
    expect(store!.getCommitted(a.key!)).toBeUndefined();

    const going = await run('p.yaml', { keepGoing: true });
    expect(statuses(going)).toEqual({ failed: ['a'], ran: ['c'], skipped: ['b'] });
    expect(going.status).toBe('failed');
  });

  it('a bug in a kind (not a StageError) fails that instance with the error and where it was thrown', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', CHAIN.replace('with: { text: A }', 'with: { text: A, mode: bug }').replace('with: { text: C }', 'with: { text: C, fingerprint: bug }'));
    const r = await run('p.yaml', { keepGoing: true });
    expect(byId(r, 'a')).toMatchObject({ status: 'failed', error: 'RangeError: A is out of range', hint: expect.stringMatching(/^ {4}at /) });
    // Before its key exists: the failure has no key and no log.
    const c = byId(r, 'c');
    expect(c).toMatchObject({ status: 'failed', key: null, error: 'TypeError: fingerprint exploded', hint: expect.stringMatching(/^ {4}at /) });
    // Where it was thrown: the stack's first three frames, one a line.
    expect(c.hint!.split('\n')).toEqual([expect.stringMatching(/^ {4}at /), expect.stringMatching(/^ {4}at /), expect.stringMatching(/^ {4}at /)]);
    expect(c.log).toBeUndefined();
  });

  it('retry: a failed attempt is noted in the log and retried; it resumes from its directory, removed after success', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', `
stages:
  a:
    uses: t/step
    with: { text: A, mode: flaky }
    retry: { attempts: 2 }
  once:
    uses: t/step
    with: { text: O, mode: flaky }
`);
    const rep = recording();
    const r = await run('p.yaml', { reporter: rep, keepGoing: true });
    const a = byId(r, 'a');
    expect(a).toMatchObject({ status: 'ran', attempts: 2 });
    const note = 'attempt 1 of 2 failed (first attempt fails); retrying in 0 s';
    expect(readFileSync(ws.path(a.log!), 'utf8')).toContain(`[pipe] ${note}\n`);
    expect(rep.events).toContain(`waiting a: ${note}`);
    expect(rep.events.filter((e) => e === 'started a')).toHaveLength(1);
    const layout = new Layout(ws.dir);
    expect(existsSync(layout.partial(a.key!))).toBe(false);
    // One attempt: failed, its resume directory kept for the next run, which resumes and succeeds.
    const once = byId(r, 'once');
    expect(once).toMatchObject({ status: 'failed', error: 'first attempt fails' });
    expect(once.attempts).toBeUndefined();
    expect(readdirSync(layout.partial(once.key!))).toEqual(['failed-once']);
    expect(statuses(await run('p.yaml'))).toEqual({ cached: ['a'], ran: ['once'] });
  });

  it('interrupted: the stage that was running and those not started are skipped, the run is recorded as interrupted', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', CHAIN.replace('with: { text: A }', 'with: { text: A, mode: abort }'));
    const ctl = new AbortController();
    abortRun = () => ctl.abort();
    const r = await run('p.yaml', { signal: ctl.signal });
    expect(r.status).toBe('interrupted');
    expect(byId(r, 'a')).toMatchObject({ status: 'skipped', reason: 'interrupted' });
    expect(byId(r, 'c')).toMatchObject({ status: 'skipped', reason: 'interrupted' });
    openWsStore();
    expect(store!.getRun(r.run!)?.status).toBe('interrupted');
  });

  it('interrupted while waiting to retry: stops at once instead of waiting out the delay', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', `
stages:
  a:
    uses: t/step
    with: { text: A, mode: fail-then-abort }
    retry: { attempts: 3, delay_s: 3600 }
`);
    const ctl = new AbortController();
    abortRun = () => ctl.abort();
    const r = await run('p.yaml', { signal: ctl.signal });
    expect(r.status).toBe('interrupted');
    expect(byId(r, 'a')).toMatchObject({ status: 'skipped', reason: 'interrupted' });
    // No attempt started after the interrupt: the log holds the one attempt and the note of its failure.
    const log = readFileSync(new Layout(ws.dir).log(r.run!, 'a'), 'utf8');
    expect(log.split('\n').filter((l) => l.startsWith('run '))).toHaveLength(1);
  });

  it('a damaged store entry: skipped when not selected, moved aside and rebuilt when selected', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', CHAIN);
    const first = await run('p.yaml');
    const a = byId(first, 'a');
    const file = a.outputs!.out;
    chmodSync(file, 0o644);
    writeFileSync(file, 'X'); // same size, other bytes
    // Only b: a is needed but not selected, so it is not rebuilt.
    const skipped = await run('p.yaml', { only: ['b'], verify: true });
    expect(byId(skipped, 'a')).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^corrupt: .*out\.txt/) });
    expect(byId(skipped, 'b')).toMatchObject({ status: 'skipped', reason: 'upstream a was skipped' });
    const dry = await run('p.yaml', { dryRun: true, verify: true });
    expect(byId(dry, 'a')).toMatchObject({ status: 'skipped', would_run: true, reason: expect.stringMatching(/^corrupt: /) });
    const rep = recording();
    const rebuilt = await run('p.yaml', { verify: true, reporter: rep });
    const layout = new Layout(ws.dir);
    const moved = readdirSync(join(layout.runs, 'corrupt'));
    expect(moved).toEqual([expect.stringMatching(new RegExp(`^${a.key}\\.`))]);
    expect(byId(rebuilt, 'a')).toMatchObject({ status: 'ran', corrupt: expect.stringContaining(`(moved to runs/corrupt/${moved[0]})`) });
    expect(rep.events).toContain(`corrupt a: ${byId(skipped, 'a').reason!.replace('corrupt: ', '')} -> runs/corrupt/${moved[0]}`);
    expect(readFileSync(file, 'utf8')).toBe('A');
    // a's bytes are back, so b's key is the same: restored, not re-run.
    expect(byId(rebuilt, 'b')).toMatchObject({ status: 'cached' });
  });

  it('two instances with one key build it once: the second waits for the lock and is restored', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', `
stages:
  one:
    uses: t/step
    with: { text: same }
  two:
    uses: t/step
    with: { text: same }
`);
    const r = await run('p.yaml', { jobs: 2 });
    expect(byId(r, 'one').key).toBe(byId(r, 'two').key);
    expect(statuses(r)).toEqual({ cached: ['two'], ran: ['one'] });
    expect(readlinkSync(new Layout(ws.dir).latest('two'))).toBe(readlinkSync(new Layout(ws.dir).latest('one')));
  });
  it('what a stage is handed: workspace, its kind cache, hashing, progress and output lines reach the reporter', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('in.txt', 'IN');
    ws.write('p.yaml', 'stages:\n  a:\n    uses: t/step\n    with: { text: A, input: in.txt, mode: probe }\n');
    const rep = recording();
    const r = await run('p.yaml', { reporter: rep });
    expect(statuses(r)).toEqual({ ran: ['a'] });
    const line = `workspace ${ws.dir} cache ${new Layout(ws.dir).kindCache('t/step')} hash ${createHash('sha256').update('IN').digest('hex')}`;
    expect(rep.events).toContain(`output a: ${line}`);
    expect(rep.events).toContain('progress a: 1/2');
    expect(rep.events.filter((e) => e.startsWith('log '))).toEqual([]);
  });

  it('failures before the key exists: a StageError keeps its words, a full disk says to free space', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', CHAIN.replace('with: { text: A }', 'with: { text: A, fingerprint: stage-error }').replace('with: { text: C }', 'with: { text: C, fingerprint: disk-full }'));
    const r = await run('p.yaml', { keepGoing: true });
    expect(byId(r, 'a')).toEqual({ id: 'a', status: 'failed', duration_ms: 0, key: null, error: 'no runtime found', hint: 'install it' });
    expect(byId(r, 'c')).toEqual({ id: 'c', status: 'failed', duration_ms: 0, key: null, error: 'ENOSPC: no space left on device', hint: 'free disk space, then run again: finished stages are kept' });
  });

  it('timeout_s ends an attempt that does not finish, and the instance fails', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', 'stages:\n  a:\n    uses: t/step\n    with: { text: A, mode: hang }\n    timeout_s: 0.2\n');
    const r = await run('p.yaml');
    expect(byId(r, 'a')).toMatchObject({ status: 'failed', error: 'timed out after 0.2 s' });
  });

  it('a lost database is rebuilt from the store before the run: everything is restored', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', CHAIN);
    await run('p.yaml');
    const layout = new Layout(ws.dir);
    rmSync(layout.db);
    rmSync(layout.latest('a'));
    // A dry run indexes nothing and links nothing.
    const dryRep = recording();
    const dry = await run('p.yaml', { dryRun: true, reporter: dryRep });
    expect(statuses(dry)).toEqual({ skipped: ['a', 'b', 'c'] });
    expect(dryRep.events.filter((e) => e.startsWith('reindexed'))).toEqual([]);
    rmSync(layout.db);
    const rep = recording();
    const r = await run('p.yaml', { reporter: rep });
    expect(rep.events).toContain('reindexed 3');
    expect(statuses(r)).toEqual({ cached: ['a', 'b', 'c'] });
    expect(existsSync(layout.latest('a'))).toBe(true);
    rmSync(layout.latest('a'));
    await run('p.yaml', { dryRun: true });
    expect(existsSync(layout.latest('a'))).toBe(false);
    // Only a new database is indexed; and a reporter need not listen for it (the CLI's --json does not).
    const again = recording();
    await run('p.yaml', { reporter: again });
    expect(again.events.filter((e) => e.startsWith('reindexed'))).toEqual([]);
    rmSync(layout.db);
    expect(statuses(await run('p.yaml'))).toEqual({ cached: ['a', 'b', 'c'] });
  });

  it('a dry run: an instance needed by a selected one but not selected itself would not run', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', `${CHAIN}  d:\n    uses: t/step\n    with: { text: D, input: "\${stages.b.outputs.out}" }\n`);
    const dry = await run('p.yaml', { dryRun: true, only: ['a', 'd'] });
    expect(byId(dry, 'a')).toMatchObject({ would_run: true });
    expect(byId(dry, 'b')).toMatchObject({ status: 'skipped', reason: 'upstream a would run', would_run: false });
    // b will not run (not selected), so neither can d.
    expect(byId(dry, 'd')).toMatchObject({ status: 'skipped', reason: 'upstream b was skipped' });
  });

  it('a published output is copied to its workspace path and listed with the run', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', 'stages:\n  a:\n    uses: t/step\n    with: { text: A }\n    publish: { out: results/a.txt }\n  b:\n    uses: t/step\n    with: { text: B, mode: stage-error }\n    publish: { out: results/b.txt }\n');
    // A failed instance publishes nothing; the others' files are still published.
    const r = await run('p.yaml', { keepGoing: true });
    expect(statuses(r)).toEqual({ failed: ['b'], ran: ['a'] });
    expect(existsSync(ws.path('results/b.txt'))).toBe(false);
    expect(r.published?.map((f) => f.path)).toEqual(['results/a.txt']);
    expect(readFileSync(ws.path('results/a.txt'), 'utf8')).toBe('A');
    const dry = await run('p.yaml', { dryRun: true });
    expect(dry.published).toBeUndefined();
  });
  it("an instance's duration is one figure: in its result, its rows and its entry manifest", async () => {
    // It covers the attempt and the hashing of its outputs (commit.ts), so all three are set in one place.
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', 'stages:\n  a:\n    uses: t/step\n    with: { text: A }\n');
    const a = byId(await run('p.yaml'), 'a');
    const committed = openWsStore().getCommitted(a.key!)!;
    const manifest = JSON.parse(readFileSync(join(new Layout(ws.dir).store(a.key!), ENTRY_MANIFEST), 'utf8')) as { durationMs: number; finishedAt: number; startedAt: number };
    expect(committed.durationMs).toBe(a.duration_ms);
    expect(store!.runInstances(committed.runId).find((i) => i.instanceId === 'a')?.durationMs).toBe(a.duration_ms);
    expect(manifest).toMatchObject({ durationMs: a.duration_ms, startedAt: committed.startedAt, finishedAt: committed.finishedAt });
    expect(committed.finishedAt - committed.startedAt).toBeGreaterThanOrEqual(a.duration_ms);
  });
  it('retry: a success ends the retries; the delay is noted in seconds; durations are within the run', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', 'stages:\n  a:\n    uses: t/step\n    with: { text: A, mode: flaky }\n    retry: { attempts: 3, delay_s: 0.001 }\n  b:\n    uses: t/step\n    with: { text: B, mode: stage-error }\n');
    const t0 = Date.now();
    const r = await run('p.yaml', { keepGoing: true });
    const elapsed = Date.now() - t0;
    const a = byId(r, 'a');
    expect(a).toMatchObject({ status: 'ran', attempts: 2 });
    expect(readFileSync(ws.path(a.log!), 'utf8')).toContain('[pipe] attempt 1 of 3 failed (first attempt fails); retrying in 0.001 s\n');
    for (const i of r.instances) expect(i.duration_ms).toBeGreaterThanOrEqual(0);
    for (const i of r.instances) expect(i.duration_ms).toBeLessThanOrEqual(elapsed);
  });
  it('a lone failed stage fails the run, in its result and its history', async () => {
    ws = tempWorkspace('pipe-runner-');
    ws.write('p.yaml', 'stages:\n  a:\n    uses: t/step\n    with: { text: A, mode: stage-error }\n');
    const r = await run('p.yaml');
    expect(statuses(r)).toEqual({ failed: ['a'] });
    expect(r.status).toBe('failed');
    expect(openWsStore().getRun(r.run!)?.status).toBe('failed');
  });

  it('a command stage: interpolated from the environment the run was given, with its resume directory made', async () => {
    ws = tempWorkspace('pipe-runner-');
    // PIPE_T_WORD is in the run's environment only, not in this process's.
    ws.write('p.yaml', `
stages:
  cmd:
    run: [sh, -c, 'test -d "$PIPE_RESUME_DIR" && printf %s "$0" > "$1"', "\${env.PIPE_T_WORD}", "\${outs.o}"]
    outs: { o: o.txt }
  step:
    uses: t/step
    with: { text: "\${env.PIPE_T_WORD}", input: "\${stages.cmd.outputs.o}" }
`);
    const r = await run('p.yaml', { env: { PIPE_T_WORD: 'word' } });
    expect(statuses(r)).toEqual({ ran: ['cmd', 'step'] });
    expect(readFileSync(byId(r, 'step').outputs!.out, 'utf8')).toBe('wordword');
  });
});
