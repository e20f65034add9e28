// bin/pipe.js runs the CLI bundle (dist/cli/, tools/bundle-cli.mjs) only when it is at least as new as tsc's
// last build (dist/.tsbuildinfo), else dist/src: after a `tsc` alone, an edit compiled into dist/src must
// never be run from an older bundle. The real launcher, copied into a folder laid out like the repository
// whose two entry points say which of them ran (the repository's own dist/ is shared by every test file).
import { copyFileSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { PIPE_BIN, tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

/** A repository layout with bin/pipe.js and the two entry points, each printing its name and argv. */
function layout(): void {
  ws = tempWorkspace('pipe-launcher-');
  mkdirSync(ws.path('bin'));
  copyFileSync(PIPE_BIN, ws.path('bin/pipe.js'));
  for (const [dir, name] of [['dist/cli', 'bundle'], ['dist/src/cli', 'dist/src']]) {
    mkdirSync(ws.path(dir), { recursive: true });
    writeFileSync(ws.path(`${dir}/main.js`), `export async function main(argv) { console.log(${JSON.stringify(name)}, argv.join(' ')); return 3; }\n`);
  }
  writeFileSync(ws.path('package.json'), '{"type": "module"}\n');
  writeFileSync(ws.path('dist/.tsbuildinfo'), '{}');
}

const at = (rel: string, seconds: number): void => utimesSync(ws.path(rel), seconds, seconds);

async function launched(): Promise<{ out: string; code: number | undefined }> {
  const r = await execa(process.execPath, [ws.path('bin/pipe.js'), 'run', 'x.yaml'], { reject: false });
  return { out: r.stdout, code: r.exitCode };
}

describe('bin/pipe.js', () => {
  it('runs the bundle when it is at least as new as the last tsc build, with the arguments and exit code of main', async () => {
    layout();
    at('dist/.tsbuildinfo', 1_700_000_000);
    at('dist/cli/main.js', 1_700_000_000);
    expect(await launched()).toEqual({ out: 'bundle run x.yaml', code: 3 });
    at('dist/cli/main.js', 1_700_000_100);
    expect(await launched()).toEqual({ out: 'bundle run x.yaml', code: 3 });
  });

  it('runs dist/src when tsc built after the bundle, or when there is no bundle or no build stamp', async () => {
    layout();
    at('dist/cli/main.js', 1_700_000_000);
    at('dist/.tsbuildinfo', 1_700_000_001);
    expect(await launched()).toEqual({ out: 'dist/src run x.yaml', code: 3 });
    rmSync(ws.path('dist/.tsbuildinfo'));
    expect((await launched()).out).toBe('dist/src run x.yaml');
    writeFileSync(ws.path('dist/.tsbuildinfo'), '{}');
    rmSync(ws.path('dist/cli'), { recursive: true });
    expect((await launched()).out).toBe('dist/src run x.yaml');
  });
});
