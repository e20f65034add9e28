// The scheduler's resource limits: cpu slots (--jobs) and the gpu resource, observed through the
// start/end times the stage processes themselves record.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runPipe, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

// Appends "name start end" (ms) after sleeping 600 ms.
const SPAN = `"const fs=require('fs'); const t=Date.now(); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,600); fs.appendFileSync('spans.txt', process.argv[2]+' '+t+' '+Date.now()+'\\\\n'); fs.writeFileSync(process.argv[1], 'x')"`;

function maxOverlap(prefix: string): number {
  const spans = readFileSync(ws.path('spans.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .filter(([n]) => n.startsWith(prefix))
    .map(([, a, b]) => [Number(a), Number(b)] as const);
  let max = 0;
  for (const [s] of spans) max = Math.max(max, spans.filter(([a, b]) => a <= s && s < b).length);
  return max;
}

describe('scheduler', () => {
  it('runs independent stages in parallel up to --jobs, and gpu stages one at a time', async () => {
    ws = tempWorkspace();
    ws.write(
      'p.yaml',
      `params: { ids: [1, 2, 3, 4] }
stages:
  cpu:
    matrix: { i: "\${params.ids}" }
    run: [node, -e, ${SPAN}, "\${outs.o}", "cpu\${matrix.i}"]
    outs: { o: o.txt }
  gpu:
    matrix: { i: "\${params.ids}" }
    resources: { gpu: 1 }
    run: [node, -e, ${SPAN}, "\${outs.o}", "gpu\${matrix.i}"]
    outs: { o: o.txt }
`,
    );
    const r = await runPipe(['run', 'p.yaml', '--jobs', '3', '--gpus', '1', '--only', 'gpu'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    expect(maxOverlap('gpu')).toBe(1);
    const c = await runPipe(['run', 'p.yaml', '--jobs', '2', '--only', 'cpu'], { cwd: ws.dir });
    expect(c.exitCode).toBe(0);
    expect(maxOverlap('cpu')).toBe(2);
  });
});
