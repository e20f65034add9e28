// pipe.config.yaml through the real CLI: its YAML parser and validator load only when the file exists
// (src/engine/config.ts), so both paths are exercised here: a database placed by `db:`, and a bad field
// named with the file.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipe, tempWorkspace } from '../support/index.js';

const ws = tempWorkspace('pipe-config-');
afterAll(() => ws.cleanup());
ws.write('p.yaml', `version: 1
stages:
  hello: { run: [node, -e, "require('fs').writeFileSync(process.argv[1], 'hi')", "\${outs.out}"], outs: { out: out.txt } }
`);

describe('pipe.config.yaml', () => {
  it('puts the database where db: says, and every command finds it there', async () => {
    ws.write('pipe.config.yaml', 'executor: local\ndb: elsewhere/results.db\n');
    const r = await runPipe(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode, r.all).toBe(0);
    expect(existsSync(ws.path('elsewhere/results.db'))).toBe(true);
    expect(existsSync(ws.path('runs/pipe.db'))).toBe(false);
    const runs = await runPipe(['runs'], { cwd: ws.dir });
    expect(runs.stdout).toMatch(/succeeded/);
  });

  it('names the file and the field of a bad setting', async () => {
    ws.write('pipe.config.yaml', 'executor: local\nslurm: { partition: gpu, colour: blue }\n');
    const r = await runPipe(['runs'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${ws.path('pipe.config.yaml')}: slurm: must NOT have additional properties`);
    ws.write('pipe.config.yaml', 'executor: [local\n');
    const y = await runPipe(['exp', 'show'], { cwd: ws.dir });
    expect(y.exitCode).toBe(2);
    expect(y.stderr).toContain('pipe.config.yaml: not valid YAML');
  });
});
