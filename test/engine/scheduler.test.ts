// The scheduler's resource limits: cpu slots (--jobs) and the gpu resource, checked from the order of the
// start/end events the stage processes append to one log, not from clock times: never more than N running
// at once, the limit reached, gpu stages one at a time.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runPipe, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

/**
 * A stage process: appends `start NAME`, then either waits until `want` stages are running at once (or
 * every one of `total` has started), or lingers a moment to give a wrong scheduler the chance to overlap;
 * then appends `end NAME` (one line of YAML once joined). O_APPEND keeps the one-line writes whole and in order. A stage that waits in
 * vain (the scheduler never let `want` run together) gives up after a generous deadline and says so.
 */
const STAGE = `"const fs=require('fs'); const [out, name, want, total] = process.argv.slice(1);
const ev = (w) => fs.appendFileSync('events.txt', w + ' ' + name + '\\\\n');
const lines = () => fs.readFileSync('events.txt', 'utf8').split('\\\\n');
const nap = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
ev('start');
if (want === '0') nap(300);
else for (let i = 0; ; i++) {
  const l = lines(), started = l.filter((x) => x.startsWith('start')).length, ended = l.filter((x) => x.startsWith('end')).length;
  if (started - ended >= Number(want) || started === Number(total)) break;
  if (i === 1200) { ev('gave-up'); break; }
  nap(50);
}
ev('end'); fs.writeFileSync(out, name);"`.replaceAll('\n', ' ');

const PIPELINE = `params: { ids: [1, 2, 3, 4], want: 0 }
stages:
  cpu:
    matrix: { i: "\${params.ids}" }
    run: [node, -e, ${STAGE}, "\${outs.o}", "cpu\${matrix.i}", "\${params.want}", "4"]
    outs: { o: o.txt }
  gpu:
    matrix: { i: "\${params.ids}" }
    resources: { gpu: 1 }
    run: [node, -e, ${STAGE}, "\${outs.o}", "gpu\${matrix.i}", "0", "4"]
    outs: { o: o.txt }
`;

/** Replays the event log: the most stages running at once, and any that gave up waiting. */
function replay(): { maxRunning: number; starts: number; gaveUp: string[] } {
  let running = 0;
  let maxRunning = 0;
  let starts = 0;
  const gaveUp: string[] = [];
  for (const line of readFileSync(ws.path('events.txt'), 'utf8').split('\n').filter(Boolean)) {
    const [what, name] = line.split(' ');
    if (what === 'start') {
      starts++;
      maxRunning = Math.max(maxRunning, ++running);
    } else if (what === 'end') running--;
    else gaveUp.push(name);
  }
  expect(running).toBe(0);
  return { maxRunning, starts, gaveUp };
}

describe('scheduler', () => {
  it.each([2, 3])('--jobs %i: never more cpu stages at once, and that many do run together', async (jobs) => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    const r = await runPipe(['run', 'p.yaml', '--jobs', String(jobs), '--only', 'cpu', '--set', `want=${jobs}`], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    expect(replay()).toEqual({ maxRunning: jobs, starts: 4, gaveUp: [] });
  });

  it('gpu stages run one at a time while cpu slots are free', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    const r = await runPipe(['run', 'p.yaml', '--jobs', '4', '--gpus', '1', '--only', 'gpu'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    expect(replay()).toEqual({ maxRunning: 1, starts: 4, gaveUp: [] });
  });
});
