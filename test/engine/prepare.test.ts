// Corners of preparing an instance's key, in-process: the workspace itself as a path param, and a shell
// command's text (and its outs) as its key.
import { afterEach, describe, expect, it } from 'vitest';
import { defineStage, type StageKind } from '../../src/stage-api.js';
import { runEngine, statuses, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const reader = defineStage<{ file: string; n: number }>({
  kind: 't/reader',
  version: '1',
  description: 'reads a file',
  params: { type: 'object', additionalProperties: false, required: ['file', 'n'], properties: { file: { type: 'string', format: 'path' }, n: { type: 'integer' } } },
  outputs: {},
  run: () => Promise.resolve(),
}) as unknown as StageKind<never>;

describe('preparing keys', () => {
  it('the workspace itself as a path param is keyed as "."', async () => {
    ws = tempWorkspace('pipe-prep-');
    ws.write('p.yaml', 'stages:\n  r:\n    uses: t/reader\n    with: { file: ., n: 1 }\n');
    const r = await runEngine(ws.dir, 'p.yaml', { kinds: [reader] });
    expect(r.instances[0].status).toBe('ran');
  });

  it('a shell command re-runs when its text changes, and only then', async () => {
    ws = tempWorkspace('pipe-prep-');
    const pipeline = (cmd: string) => `stages:\n  s:\n    shell: true\n    run: '${cmd} > \${outs.o}'\n    outs: { o: o.txt }\n`;
    ws.write('p.yaml', pipeline('echo one'));
    expect(statuses(await runEngine(ws.dir, 'p.yaml'))).toEqual({ ran: ['s'] });
    expect(statuses(await runEngine(ws.dir, 'p.yaml'))).toEqual({ cached: ['s'] });
    ws.write('p.yaml', pipeline('echo two'));
    expect(statuses(await runEngine(ws.dir, 'p.yaml'))).toEqual({ ran: ['s'] });
    ws.write('p.yaml', pipeline('echo two').replace('o.txt', 'other.txt'));
    expect(statuses(await runEngine(ws.dir, 'p.yaml'))).toEqual({ ran: ['s'] });
  });
});
