// Upstream outputs enter a key by content only (key scheme 2): renaming a stage, or folding stages into
// one matrix stage, re-runs none of their consumers while the bytes they read are the same. The position
// of a reference still counts, and the stored components still name the instance that produced an input.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { byStatus, runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

const write = (text: string) => `[sh, -c, 'printf ${text} > "$1"', sh, "\${outs.o}"]`;
const CONSUMER = (a: string, b: string) => `
  use:
    run: [sh, -c, 'cat "$1" "$2" > "$3"', sh, "${a}", "${b}", "\${outs.o}"]
    outs: { o: o.txt }
  last:
    run: [sh, -c, 'cat "$1" > "$2"', sh, "\${stages.use.outputs.o}", "\${outs.o}"]
    outs: { o: o.txt }
`;

/** Two plain producers, `gen-a` and `gen-b`, read by `use` (in that order), read by `last`. */
const TWO_STAGES = `stages:
  gen-a: { run: ${write('a')}, outs: { o: o.txt } }
  gen-b: { run: ${write('b')}, outs: { o: o.txt } }
${CONSUMER('${stages.gen-a.outputs.o}', '${stages.gen-b.outputs.o}')}`;

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

async function run(): Promise<Record<string, string[]>> {
  const r = await runPipeJson(['run', 'p.yaml'], { cwd: ws.dir });
  expect(r.exitCode, r.stderr).toBe(0);
  return byStatus(r.doc);
}

async function ranOnce(): Promise<void> {
  ws = tempWorkspace('pipe-rename-');
  ws.write('p.yaml', TWO_STAGES);
  expect(await run()).toEqual({ ran: ['gen-a', 'gen-b', 'last', 'use'] });
}

describe('keys do not depend on upstream instance ids', () => {
  it('a renamed stage is restored under its new id, and its consumers stay cached', async () => {
    await ranOnce();
    ws.write('p.yaml', TWO_STAGES.replaceAll('gen-a', 'first'));
    expect(await run()).toEqual({ cached: ['first', 'gen-b', 'last', 'use'] });
  });

  it('stages folded into one matrix stage: the producers run under their new ids, the consumers do not', async () => {
    await ranOnce();
    const matrix = `stages:
  gen:
    matrix: { letter: [a, b] }
    run: [sh, -c, 'printf "$1" > "$2"', sh, "\${matrix.letter}", "\${outs.o}"]
    outs: { o: o.txt }
${CONSUMER('${stages.gen.outputs.o}', '').replace(', ""', '')}`;
    ws.write('p.yaml', matrix);
    // The command changed (one argv for both letters), so gen@letter=* run; their bytes are gen-a's and
    // gen-b's, so use (which reads the list, in id order a, b) and last are restored.
    expect(await run()).toEqual({ ran: ['gen@letter=a', 'gen@letter=b'], cached: ['last', 'use'] });
    const status = await runPipe(['status', 'p.yaml'], { cwd: ws.dir });
    expect(status.exitCode, status.all).toBe(0);
    expect(status.stdout).toContain('4 up to date, 0 stale, 0 new, 0 pending');

    // Provenance keeps ids: a rebuild of use records which instances it read, under the same key.
    const forced = await runPipeJson(['run', 'p.yaml', '--force=use'], { cwd: ws.dir });
    const use = forced.doc.instances.find((i) => i.id === 'use')!;
    expect(use.status).toBe('ran');
    const store = openStore(join(ws.dir, 'runs/pipe.db'));
    try {
      const inputs = (store.getCommitted(use.key!)!.components as { inputs: Record<string, string> }).inputs;
      expect(Object.keys(inputs).sort()).toEqual(['gen@letter=a:o', 'gen@letter=b:o']);
    } finally {
      store.close();
    }
    expect(byStatus(forced.doc)).toEqual({ ran: ['use'], cached: ['gen@letter=a', 'gen@letter=b', 'last'] });
  });

  it('where a reference sits still counts: swapping two inputs re-runs the consumer', async () => {
    await ranOnce();
    ws.write('p.yaml', TWO_STAGES.replace('"${stages.gen-a.outputs.o}", "${stages.gen-b.outputs.o}"', '"${stages.gen-b.outputs.o}", "${stages.gen-a.outputs.o}"'));
    expect(await run()).toEqual({ ran: ['last', 'use'], cached: ['gen-a', 'gen-b'] });
  });
});
