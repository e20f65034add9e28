// Loading cannot be made to hang or crash: alias bombs, huge files, huge matrices and bad bytes are
// exit-2 errors naming the file (also from `status` and `dag`), and loading is linear in the file size.
import { truncateSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_PIPELINE_BYTES } from '../../src/pipeline/load.js';
import { runPipe, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

/** Every command that loads a pipeline exits 2 with `expected` on stderr and no stack trace. */
async function refusedEverywhere(file: string, expected: RegExp): Promise<void> {
  for (const cmd of [['validate'], ['status'], ['dag'], ['run', '--dry-run']]) {
    const r = await runPipe([...cmd, file], { cwd: ws.dir });
    expect(r.exitCode, `${cmd.join(' ')}: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(expected);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  }
}

describe('loading limits', () => {
  it('a YAML alias bomb is refused at the first alias', async () => {
    ws = tempWorkspace();
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    ws.write('bomb.yaml', `params:\n${levels.map((l) => `  ${l}`).join('\n')}\nstages: { s: { run: [echo] } }\n`);
    await refusedEverywhere('bomb.yaml', /^bomb\.yaml:3:\d+: error: YAML aliases expand too much/m);
  });

  it('a file over the size limit is refused before it is read', async () => {
    ws = tempWorkspace();
    truncateSync(ws.write('huge.yaml', ''), MAX_PIPELINE_BYTES + 1);
    await refusedEverywhere('huge.yaml', /^huge\.yaml: error: huge\.yaml is larger than the limit of 32 MiB/m);
  });

  it('a matrix is limited by the product of its axis lengths, before expanding', async () => {
    ws = tempWorkspace();
    const axes = Array.from({ length: 10 }, (_, i) => `      a${i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]`).join('\n');
    ws.write('m.yaml', `stages:\n  sweep:\n    run: [echo]\n    matrix:\n${axes}\n`);
    await refusedEverywhere('m.yaml', /^m\.yaml:4:5: error: stages\.sweep\.matrix: 10,000,000,000 instances \(a0: 10 x a1: 10 x .*\) exceed the limit of 100,000 per stage/m);
  });

  it('invalid UTF-8 is reported with its line and column, not replaced', async () => {
    ws = tempWorkspace();
    ws.write('bad.yaml', Buffer.concat([Buffer.from('stages:\n  a:\n    run: [echo, "caf'), Buffer.from([0xe9]), Buffer.from('\uFFFD"]\n')]));
    ws.write('ok.yaml', 'stages:\n  a:\n    run: [echo, "caf\u00e9 \uFFFD"]\n');
    await refusedEverywhere('bad.yaml', /^bad\.yaml:3:21: error: invalid UTF-8 \(byte 0xe9\)/m);
    expect((await runPipe(['validate', 'ok.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
  });

  it('a 5 MB pipeline with 100,000 keys in one map loads (the duplicate-key check is linear), and a duplicate is found', async () => {
    ws = tempWorkspace();
    const keys = Array.from({ length: 100_000 }, (_, i) => `  p${i}: v${i}\n`).join('');
    const padding = `description: "${'x'.repeat(5_000_000 - keys.length)}"\n`;
    const text = `${padding}params:\n${keys}stages:\n  s:\n    run: [echo, "\${params.p99999}"]\n`;
    expect(text.length).toBeGreaterThan(5_000_000);
    ws.write('big.yaml', text);
    // In a subprocess (the CLI): a long synchronous parse must not stall the test worker.
    const ok = await runPipe(['validate', 'big.yaml'], { cwd: ws.dir, timeoutMs: 280_000 });
    expect(ok.exitCode, ok.stderr).toBe(0);

    // The same check finds a duplicate far from its first occurrence (a 1,000-key map: the 5 MB file above
    // already shows it linear, and a second parse of it would cost ~7 s of CPU for nothing new).
    const small = Array.from({ length: 1_000 }, (_, i) => `  p${i}: v${i}\n`).join('');
    ws.write('dup.yaml', `params:\n${small}  p5: again\nstages:\n  s:\n    run: [echo, "\${params.p999}"]\n`);
    const dup = await runPipe(['validate', 'dup.yaml'], { cwd: ws.dir });
    expect(dup.exitCode).toBe(2);
    expect(dup.stderr).toMatch(/^dup\.yaml:1002:3: error: Map keys must be unique: "p5" appears twice$/m);
  }, 600_000);
});
