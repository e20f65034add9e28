import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

describe('shell: true', () => {
  it('inserts every interpolated value as one quoted word: a --set cannot run shell code', async () => {
    ws = tempWorkspace('pipe shell '); // a space in the workspace path: output paths are quoted too
    const marker = ws.path('pwned');
    rmSync(marker, { force: true });
    ws.write('p.yaml', `
params: { name: plain, words: [a, "b c"] }
stages:
  greet:
    shell: true
    run: printf '%s|' \${params.name} \${params.words} > \${outs.out}
    outs: { out: out.txt }
`);
    const hostile = `x; touch ${marker} #`;
    const r = await runPipeJson(['run', 'p.yaml', '--set', `name=${hostile}`], { cwd: ws.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
    const out = r.doc.instances[0].outputs!.out;
    // The command saw the value (`--set` parses it as YAML: ` #` starts a comment) as one argument, and a
    // list as one word per element.
    expect(readFileSync(out, 'utf8')).toBe(`x; touch ${marker}|a|b c|`);
  });

  it('refuses a reference written inside quotes (it would be quoted twice)', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', `
params: { name: x }
stages:
  greet:
    shell: true
    run: echo "\${params.name}" > \${outs.out}
    outs: { out: out.txt }
`);
    const r = await runPipe(['validate', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/p\.yaml:6:\d+: error: stages\.greet\.run: \$\{params\.name\} is inside quotes/);
  });
});
