// Runs the real `pipe` CLI (bin/pipe.js -> dist/) in a subprocess, as a user would.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Result } from 'execa';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'pipe.js');

export async function pipe(args: readonly string[], opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<Result> {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (or `npm test`, which builds first)');
  }
  return execa(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...opts.env, CI: '1' },
    reject: false,
    timeout: opts.timeoutMs ?? 60_000,
    all: true,
  });
}
