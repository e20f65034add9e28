// Vitest global setup, run once around the whole test run:
// - compiles src/, stages/ and bench/ into dist/ first, because about twenty test files run the real CLI
//   (bin/pipe.js imports dist/): without this, `npx vitest` after an edit would test the previous build.
//   Skipped when no source is newer than the last compile (tsc's dist/.tsbuildinfo, written by `npm ci`'s
//   build too): even an incremental tsc that finds nothing to do costs ~10 s of CPU, on every
//   `npx vitest run FILE`. Then bundles the CLI (tools/bundle-cli.mjs) when dist/cli/ is older than that
//   compile, as `npm run build` does: bin/pipe.js runs the bundle only when it is fresh;
// - with PIPE_TEST_TYPECHECK=1 (`npm test`), type-checks the sources and the tests (tsconfig.test.json)
//   beside the tests instead of before them, and fails the run at the end if tsc found an error: tsc uses
//   one core for 10-35 s, which the test files would otherwise wait for;
// - points TMPDIR at one fresh directory for the run (inherited by the test workers and every `pipe`
//   subprocess they start) and removes it at the end, so no temporary directory outlives the run, whichever
//   test or subprocess made it and however it ended.
// - unsets NODE_EXTRA_CA_CERTS for the run (workers and subprocesses), where the environment sets it: Node
//   parses that CA file at every start-up, ~75 ms of CPU on this 2-core machine (a bare `node -e 0` 0.11 s
//   with it, 0.04 s without), paid by each of the suite's hundreds of `pipe` calls and `node` commands. No
//   test makes a TLS connection (every server they talk to is a plain-HTTP double on loopback).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './workspace.js';

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/**
 * tsconfig.json's tsBuildInfoFile: written by every build that changed something, and set here to when a
 * compile started (tsc compares its content, not its time), so dist/ is as new as every older source.
 */
const STAMP = join(REPO_ROOT, 'dist', '.tsbuildinfo');

/** The newest modification time under the compiled folders (src/, stages/, bench/; dot-folders such as bench/.work are not sources) and of tsconfig.json. */
function newestSource(): number {
  let newest = statSync(join(REPO_ROOT, 'tsconfig.json')).mtimeMs;
  const walk = (dir: string): void => {
    newest = Math.max(newest, statSync(dir).mtimeMs); // a file added, renamed or deleted
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const dir of ['src', 'stages', 'bench']) walk(join(REPO_ROOT, dir));
  return newest;
}

function compile(): void {
  if (existsSync(STAMP) && newestSource() < statSync(STAMP).mtimeMs) return;
  const started = Date.now();
  const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.error) throw r.error;
  // Type errors still emit JavaScript (noEmitOnError is off): the tests run and the type-check reports
  // them; anything else (a broken tsconfig) stops the run.
  if (r.status !== 0) {
    const out = `${r.stdout}${r.stderr}`;
    if (!/error TS\d+/.test(out) || /error TS(5\d\d\d|6\d\d\d)/.test(out)) throw new Error(`tsc -p tsconfig.json failed:\n${out}`);
    process.stderr.write(`global setup: dist/ compiled with type errors (npm run typecheck):\n${out}`);
  }
  // When the compile started: a source saved while tsc ran is newer, and compiled next time.
  if (existsSync(STAMP)) utimesSync(STAMP, new Date(started), new Date(started));
}

/** dist/cli/, the CLI bundle bin/pipe.js runs, rebuilt when older than the last compile (about 1 s of CPU). */
function bundleCli(): void {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'tools', 'bundle-cli.mjs'), '--if-stale'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`node tools/bundle-cli.mjs failed:\n${r.stdout}${r.stderr}`);
}

/** `tsc -p tsconfig.test.json` started now; the promise rejects with tsc's output when it found errors. */
function typecheck(): Promise<void> {
  const child = spawn(process.execPath, [TSC, '-p', 'tsconfig.test.json'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`type-check (tsc -p tsconfig.test.json) failed:\n${out}`))));
  });
}

export default function setup(): () => Promise<void> {
  const caCerts = process.env.NODE_EXTRA_CA_CERTS;
  delete process.env.NODE_EXTRA_CA_CERTS;
  compile();
  bundleCli();
  const checked = process.env.PIPE_TEST_TYPECHECK === '1' ? typecheck() : undefined;
  // Rejections are awaited in the teardown; until then they are expected, not unhandled.
  checked?.catch(() => undefined);
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'pipe-tests-'));
  process.env.TMPDIR = dir;
  return async () => {
    const left = readdirSync(dir).length;
    rmSync(dir, { recursive: true, force: true });
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (caCerts !== undefined) process.env.NODE_EXTRA_CA_CERTS = caCerts;
    if (left && process.env.PIPE_TEST_TMP_REPORT) process.stderr.write(`global teardown: removed ${left} temporary entries the tests left in ${dir}\n`);
    await checked;
  };
}
