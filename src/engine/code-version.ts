// The code version recorded with results (StageContext.run.codeVersion, the tables' provenance footer):
// the package version, plus the git commit when pipe runs from a checkout. Read once per process.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../data/project-files.js';

let cached: string | undefined;

/** `pipe 0.1.0 (git 1a2b3c4d5e6f, modified)`; the git part is left out outside a checkout. */
export function codeVersion(): string {
  if (cached) return cached;
  const root = projectRoot();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  let git = '';
  try {
    const opts = { cwd: root, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'] };
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    git = ` (git ${head}${dirty ? ', modified' : ''})`;
  } catch {
    // Not a git checkout (an installed package): the package version is all there is.
  }
  return (cached = `${pkg.name} ${pkg.version}${git}`);
}
