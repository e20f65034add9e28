// A command's output while it runs: --verbose streams it prefixed with the instance id, the terminal view
// shows each running instance's last line, `pipe logs -f` follows one log until the instance finishes.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { TtyReporter } from '../../src/engine/index.js';
import { PIPE_BIN, runPipe, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

// Prints three lines; the second instance waits for a file before its last line (so a follower is
// attached while it runs).
const PIPELINE = `
stages:
  talk:
    matrix: { n: [1, 2] }
    run: [sh, -c, 'echo "line 1 of $0"; echo "line 2 of $0" >&2; while [ "$0" = 2 ] && [ ! -e go ]; do sleep 0.05; done; echo "line 3 of $0"; echo ok > "$1"', "\${matrix.n}", "\${outs.o}"]
    outs: { o: o.txt }
`;

describe('stage output while it runs', () => {
  it('--verbose streams every line of a command, stdout and stderr, prefixed with its instance id', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    ws.write('go', '');
    const r = await runPipe(['run', 'p.yaml', '--verbose'], { cwd: ws.dir });
    expect(r.exitCode).toBe(0);
    for (const n of [1, 2]) for (const l of [1, 2, 3]) expect(r.stdout).toContain(`log     talk@n=${n}: line ${l} of ${n}\n`);
  });

  it('pipe logs -f follows a running instance until it finishes', async () => {
    ws = tempWorkspace();
    ws.write('p.yaml', PIPELINE);
    const run = execa(process.execPath, [PIPE_BIN, 'run', 'p.yaml'], { cwd: ws.dir, env: { CI: '1' }, reject: false });
    const log = ws.path('runs/logs/1/talk@n=2.log');
    for (const end = Date.now() + 60_000; !existsSync(log); await sleep(50)) if (Date.now() > end) throw new Error('the stage never started');
    const follow = execa(process.execPath, [PIPE_BIN, 'logs', 'talk@n=2', '-f'], { cwd: ws.dir, env: { CI: '1' }, reject: false });
    await sleep(500);
    ws.write('go', '');
    const [f, r] = await Promise.all([follow, run]);
    expect(r.exitCode).toBe(0);
    expect(f.exitCode).toBe(0);
    // Everything, up to the line written after the follower attached (stdout and stderr may interleave).
    for (const l of [1, 2, 3]) expect(f.stdout).toMatch(new RegExp(`^line ${l} of 2$`, 'm'));
  });

  it('the terminal view shows the last line each running instance wrote, without control characters', () => {
    let screen = '';
    const out = Object.assign(
      new Writable({
        write(chunk: Buffer, _enc, done) {
          screen += chunk.toString();
          done();
        },
      }),
      { columns: 120 },
    ) as unknown as NodeJS.WriteStream;
    const tty = new TtyReporter(out);
    tty.begin({ runId: 1, pipeline: 'p.yaml', total: 2, dryRun: false });
    tty.started('a');
    tty.output('a', 'first');
    tty.output('a', '\x1b[31mred\x1b[0m and\r more');
    tty.output('a', '   ');
    tty.waiting('b', 'redraw');
    tty.end({ run: 1, status: 'succeeded', instances: [] });
    expect(screen).toContain('a  ');
    expect(screen).toMatch(/⠿\x1b\[0m a {2}\d+ms {2}› red and more\n/);
  });
});
