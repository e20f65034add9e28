// A built-in kind that declares `isolation` runs in a worker thread (kind-worker.ts), through the real
// engine: its context's log, progress, metric rows, hashFiles and secrets cross the boundary and give
// what the same kind gives on the engine's thread; errors keep their kind (StageError with its hint,
// GroupFailure by member, any other error with its name and stack); a worker that crashes or exits
// fails its attempt with a clear message; the run's abort stops it (a worker that ignores the abort is
// terminated) and leaves its resume directory for the next run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Progress, StageKind } from '../../src/stage-api.js';
import { silentReporter, type RunResult } from '../../src/engine/index.js';
import { runEngine, statuses, tempWorkspace, type EngineRunOptions, type TempWorkspace } from '../support/index.js';

/** Plain JavaScript (a worker thread loads it as it is), imported by URL: it has no type declarations. */
const FIXTURE = new URL('../fixtures/isolated-kind.mjs', import.meta.url).href;
const isolated = ((await import(FIXTURE)) as { default: StageKind<unknown> }).default;
/** The same kind without `isolation`: it runs on the engine's thread. */
const inProcess: StageKind<unknown> = { ...isolated, isolation: undefined };
const TOKEN = 'sesame-4711';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

function stage(mode: string, extra = ''): string {
  return `stages:
  s:
    uses: test/isolated
    matrix: { seed: [0, 1, 2] }
${extra}    with: { mode: ${mode}, input: data/in.txt, seed: "\${matrix.seed}" }
`;
}

function run(yaml: string, kind: StageKind<unknown>, opts: EngineRunOptions = {}): Promise<RunResult> {
  ws = tempWorkspace('pipe-kind-worker-');
  ws.write('data/in.txt', 'some input\n');
  ws.write('p.yaml', yaml);
  return runEngine(ws.dir, 'p.yaml', { keepGoing: true, env: { PIPE_TEST_TOKEN: TOKEN }, ...opts, kinds: [kind as StageKind<never>] });
}

/** Per instance: its output and metrics.jsonl bytes, and its log without the thread it ran on. */
function produced(r: RunResult): Record<string, { out: string; metrics: string; log: string }> {
  return Object.fromEntries(
    r.instances.map((i) => [
      i.id,
      {
        out: readFileSync(i.outputs!.out, 'utf8'),
        metrics: readFileSync(i.outputs!.metrics, 'utf8'),
        log: readFileSync(join(ws.dir, i.log!), 'utf8').replace(/main thread: (true|false)/, 'main thread: ?'),
      },
    ]),
  );
}

describe('a kind with isolation runs in a worker thread', () => {
  it('its log, progress, metric rows, hashes and secrets give what the kind gives on the engine thread', async () => {
    const progress: Progress[] = [];
    const reporter = { ...silentReporter, progress: (_id: string, p: Progress) => progress.push(p) };
    const worker = await run(stage('ok'), isolated, { reporter });
    expect(statuses(worker)).toEqual({ ran: ['s@seed=0', 's@seed=1', 's@seed=2'] });
    const log = readFileSync(join(ws.dir, worker.instances[0].log!), 'utf8');
    expect(log).toContain('seed 0 on the main thread: false, token ***');
    expect(log).not.toContain(TOKEN);
    expect(progress).toContainEqual({ done: 1, total: 2, unit: 'steps', message: 'half of token ***' });
    const fromWorker = produced(worker);
    expect(JSON.parse(fromWorker['s@seed=1'].out)).toEqual({ seed: 1, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const engine = await run(stage('ok'), inProcess);
    expect(readFileSync(join(ws.dir, engine.instances[0].log!), 'utf8')).toContain('on the main thread: true');
    expect(fromWorker).toEqual(produced(engine));
    expect(worker.instances.map((i) => i.key)).toEqual(engine.instances.map((i) => i.key));
  });

  it('errors cross with their kind, both ways; a crash or process.exit fails the attempt with a clear message', async () => {
    const r = await run(
      `stages:
  s:
    uses: test/isolated
    matrix: { mode: [stage-error, error, hash-missing, crash, exit] }
    with: { mode: "\${matrix.mode}", input: data/in.txt }
`,
      isolated,
    );
    const failure = (mode: string) => r.instances.find((i) => i.id === `s@mode=${mode}`)!;
    expect(r.instances.map((i) => i.status)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed']);
    expect(failure('stage-error')).toMatchObject({ error: 'seed 0: the input is unusable', hint: 'give it a better input' });
    expect(failure('error').error).toBe('TypeError: seed 0: boom');
    expect(failure('error').hint).toMatch(/isolated-kind\.mjs/);
    // The engine's hash cache failed the request: its error is the kind's, as on the engine's thread.
    expect(failure('hash-missing').error).toMatch(/^Error: ENOENT: no such file or directory, \w+ '.*missing\.txt'$/);
    expect(failure('crash').error).toBe('test/isolated crashed in its worker thread: lost in a timer');
    expect(failure('exit').error).toBe('test/isolated ended its worker thread (exit code 3) before it finished');
  });

  it('a GroupFailure names the members that failed; the others are committed', async () => {
    const r = await run(stage('ok', '    group_by: [seed]\n').replace('seed: "${matrix.seed}"', 'seed: "${matrix.seed}", fail_seeds: [1]'), isolated);
    expect(statuses(r)).toEqual({ failed: ['s@seed=1'], ran: ['s@seed=0', 's@seed=2'] });
    expect(r.instances.find((i) => i.id === 's@seed=1')).toMatchObject({ error: 'seed 1: the input is unusable', hint: 'give it a better input' });
  });

  it('the run’s abort stops it and keeps its resume directory; one that ignores the abort is terminated', async () => {
    const abort = new AbortController();
    // Both have started (each logs first thing): interrupt the run.
    const logged = new Set<string>();
    const onLog = (id: string): void => void (logged.add(id).size === 2 && abort.abort());
    const r = await run(
      `stages:
  s:
    uses: test/isolated
    matrix: { mode: [wait-abort, ignore-abort] }
    with: { mode: "\${matrix.mode}", input: data/in.txt }
`,
      isolated, {
      signal: abort.signal,
      jobs: 2,
      verbose: true,
      reporter: { ...silentReporter, log: onLog },
    });
    expect(r.status).toBe('interrupted');
    expect(r.instances.map((i) => [i.id, i.status, i.reason])).toEqual([
      ['s@mode=wait-abort', 'skipped', 'interrupted'],
      ['s@mode=ignore-abort', 'skipped', 'interrupted'],
    ]);
    const partial = join(ws.dir, 'runs', 'partial');
    const ckpts = readdirSync(partial).filter((key) => existsSync(join(partial, key, 'ckpt')));
    expect(ckpts.map((key) => readFileSync(join(partial, key, 'ckpt'), 'utf8'))).toEqual(['step 1\n']);
  });
});
