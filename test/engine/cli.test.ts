// The CLI's own surface: --help on every command, bare pipeline names, `pipe logs`.
import { afterEach, describe, expect, it } from 'vitest';
import { COMMANDS, ENGINE_COMMANDS, STUDY_COMMANDS } from '../../src/cli/commands.js';
import { runPipe, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

const PIPELINE = `
stages:
  hello:
    run: [sh, -c, 'echo first line; echo done > "$0"', "\${outs.o}"]
    outs: { o: o.txt }
`;

describe('pipe CLI', () => {
  it('--help on every command (and -h) print its usage to stdout and exit 0', async () => {
    ws = tempWorkspace();
    for (const name of Object.keys(COMMANDS)) {
      for (const flag of name === 'run' ? ['--help', '-h'] : ['--help']) {
        const r = await runPipe([name, flag], { cwd: ws.dir });
        expect({ name, flag, code: r.exitCode, stderr: r.stderr }).toEqual({ name, flag, code: 0, stderr: '' });
        expect(r.stdout).toMatch(new RegExp(`usage: pipe ${name}`));
      }
    }
    // Help wins over other arguments, even invalid ones.
    const r = await runPipe(['run', '--bogus', '--help'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/usage: pipe run/);
  });

  it('pipe --help lists the engine commands apart from the study commands', async () => {
    ws = tempWorkspace();
    const r = await runPipe(['--help'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    const [engine, study] = r.stdout.split('CLIP-E study commands:');
    for (const name of Object.keys(ENGINE_COMMANDS)) expect(engine).toMatch(new RegExp(`^  ${name} `, 'm'));
    for (const name of Object.keys(STUDY_COMMANDS)) expect(study).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('a bare pipeline name is looked up in pipelines/, .yaml optional; an unknown one names what exists', async () => {
    ws = tempWorkspace();
    ws.write('pipelines/hello.yaml', PIPELINE);
    for (const name of ['hello', 'hello.yaml']) {
      const r = await runPipe(['validate', name], { cwd: ws.dir });
      expect(r.stdout).toBe('pipelines/hello.yaml: ok (1 stages, 1 instances)');
    }
    const run = await runPipe(['run', 'hello'], { cwd: ws.dir });
    expect(run.exitCode).toBe(0);
    const missing = await runPipe(['status', 'nothere'], { cwd: ws.dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/no pipeline file "nothere".*\n.*pipelines here: hello\.yaml/);
  });

  it('pipe logs shows an instance log of the latest run, or of the run that built a cached result', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    expect((await runPipe(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    const first = await runPipe(['logs', 'hello'], { cwd: ws.dir });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^first line$/m);
    expect((await runPipe(['run', 'p.yaml'], { cwd: ws.dir })).exitCode).toBe(0);
    const cached = await runPipe(['logs', 'hello', '-f'], { cwd: ws.dir });
    expect(cached.stdout).toBe(first.stdout);
    expect(cached.stderr).toMatch(/restored from the cache in run 2; the log of run 1/);
    expect((await runPipe(['logs', 'hello', '--run', '1'], { cwd: ws.dir })).stdout).toBe(first.stdout);
    const unknown = await runPipe(['logs', 'nope'], { cwd: ws.dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/no log of "nope" in run 2\n.*instances of run 2: hello/);
  });
});
