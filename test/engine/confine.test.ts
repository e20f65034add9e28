// Confinement: outs: paths stay inside the stage's output directory (exit 2 at validation, located), and a
// symlink output is refused (or, pointing inside the output directory, committed as the file itself).
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runPipe, runPipeJson, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

describe('outputs stay inside the workspace', () => {
  it('outs: with ../ or an absolute path: exit 2 at validation with file:line:col and the fix; nothing created', async () => {
    ws = tempWorkspace();
    ws.write(
      'p.yaml',
      `stages:
  up:
    run: [touch, "\${outs.o}"]
    outs: { o: ../../escaped/x.txt }
  abs:
    run: [touch, "\${outs.o}"]
    outs:
      o: ${ws.dir}/abs/y.txt
  dotted:
    run: [touch, "\${outs.o}"]
    outs: { o: ./sub/../z.txt }
`,
    );
    const r = await runPipe(['run', 'p.yaml'], { cwd: ws.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/p\.yaml:4:\d+: .*stages\.up\.outs\.o: "\.\.\/\.\.\/escaped\/x\.txt" climbs out of the stage's output directory/);
    expect(r.stderr).toMatch(/p\.yaml:8:\d+: .*stages\.abs\.outs\.o: ".*abs\/y\.txt" is an absolute path/);
    expect(r.stderr).toMatch(/p\.yaml:11:\d+: .*stages\.dotted\.outs\.o: "\.\/sub\/\.\.\/z\.txt" is not normalised/);
    expect(r.stderr).toMatch(/write "z\.txt"/);
    expect(existsSync(ws.path('../escaped'))).toBe(false);
    expect(existsSync(ws.path('abs'))).toBe(false);
    expect(existsSync(ws.path('runs/store'))).toBe(false);
  });

  it('a symlink output pointing outside fails the stage naming the link; one pointing inside becomes the file', async () => {
    ws = tempWorkspace();
    ws.write(
      'p.yaml',
      `stages:
  evil:
    run: [node, -e, "require('fs').symlinkSync('/etc/passwd', process.argv[1])", "\${outs.o}"]
    outs: { o: secret.txt }
  inner:
    run: [node, -e, "const fs=require('fs'); fs.mkdirSync(process.argv[1]); fs.writeFileSync(process.argv[1]+'/real.txt', 'inside'); fs.symlinkSync('real.txt', process.argv[1]+'/link.txt')", "\${outs.d}"]
    outs: { d: d }
`,
    );
    const r = await runPipeJson(['run', 'p.yaml', '--keep-going'], { cwd: ws.dir });
    expect(r.exitCode).toBe(1);
    const evil = r.doc.instances.find((i) => i.id === 'evil')!;
    expect(evil.status).toBe('failed');
    expect(evil.error).toMatch(/output secret\.txt is a symlink to \/etc\/passwd, outside the stage's output directory/);
    const inner = r.doc.instances.find((i) => i.id === 'inner')!;
    expect(inner.status).toBe('ran');
    const link = `${inner.outputs!.d}/link.txt`;
    expect(lstatSync(link).isFile()).toBe(true);
    expect(readFileSync(link, 'utf8')).toBe('inside');
  });
});
