// External command stages: a command that exits 0 without writing a declared output fails and commits
// nothing; `shell: true` runs one string through /bin/sh with ${...} filled in and keys on that string.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Layout } from '../../src/engine/layout.js';
import { openStore } from '../../src/store/index.js';
import { runEngine, statuses, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

describe('command stages', () => {
  it('exit 0 without a declared output: failed, nothing committed, the next run retries', async () => {
    ws = tempWorkspace('pipe-cmd-');
    ws.write(
      'p.yaml',
      `stages:
  half:
    run: [sh, -c, 'echo wrote-a > "$1"', sh, "\${outs.a}"]
    outs: { a: a.txt, b: sub/b.txt }
  next:
    run: [sh, -c, 'cat "$1" > "$2"', sh, "\${stages.half.outputs.b}", "\${outs.o}"]
    outs: { o: o.txt }
`,
    );
    const r = await runEngine(ws.dir, 'p.yaml');
    expect(r.status).toBe('failed');
    const half = r.instances.find((i) => i.id === 'half')!;
    expect(half).toMatchObject({ status: 'failed', error: 'command succeeded but did not write its output "b" (sub/b.txt)', hint: 'write it to the path passed as ${outs.b}' });
    expect(r.instances.find((i) => i.id === 'next')).toMatchObject({ status: 'skipped', reason: 'upstream half failed' });
    // Nothing of the attempt reached the store or stays in runs/tmp; the store records the failure.
    const layout = new Layout(ws.dir);
    expect(existsSync(layout.store(half.key!))).toBe(false);
    expect(readdirSync(layout.tmp)).toEqual([]);
    const store = openStore(layout.db);
    try {
      expect(store.getCommitted(half.key!)).toBeUndefined();
    } finally {
      store.close();
    }
    ws.write('p.yaml', readFileSync(ws.path('p.yaml'), 'utf8').replace(`'echo wrote-a > "$1"', sh, "\${outs.a}"`, `'echo a > "$1"; echo b > "$2"', sh, "\${outs.a}", "\${outs.b}"`));
    expect(statuses(await runEngine(ws.dir, 'p.yaml'))).toEqual({ ran: ['half', 'next'] });
  });

  it('shell: true runs the string with /bin/sh, references filled in shell-quoted; the string is the key', async () => {
    ws = tempWorkspace('pipe-cmd-');
    const pipeline = (word: string) => `params: { word: ${word} }
stages:
  sh:
    shell: true
    run: 'printf "%s|%s" \${params.word} "$PIPE_INSTANCE" | tr a-z A-Z > \${outs.o}'
    outs: { o: o.txt }
`;
    ws.write('p.yaml', pipeline('"hello world; exit 1"'));
    const first = await runEngine(ws.dir, 'p.yaml');
    expect(statuses(first)).toEqual({ ran: ['sh'] });
    expect(readFileSync(first.instances[0].outputs!.o, 'utf8')).toBe('HELLO WORLD; EXIT 1|SH');
    expect(statuses(await runEngine(ws.dir, 'p.yaml'))).toEqual({ cached: ['sh'] });
    ws.write('p.yaml', pipeline('bye'));
    const third = await runEngine(ws.dir, 'p.yaml');
    expect(statuses(third)).toEqual({ ran: ['sh'] });
    expect(readFileSync(third.instances[0].outputs!.o, 'utf8')).toBe('BYE|SH');
  });

  it('a failing shell command reports its exit code and keeps its log', async () => {
    ws = tempWorkspace('pipe-cmd-');
    ws.write('p.yaml', `stages:\n  bad:\n    shell: true\n    run: 'echo to-the-log; exit 7'\n    outs: { o: o.txt }\n`);
    const r = await runEngine(ws.dir, 'p.yaml');
    expect(r.instances[0]).toMatchObject({ status: 'failed', error: 'command exited with code 7' });
    expect(r.instances[0].log_tail).toContain('to-the-log');
  });
});
