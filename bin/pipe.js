#!/usr/bin/env node
// Thin launcher: the CLI is compiled by `npm run build` (run automatically by `npm ci` via `prepare`): tsc
// into dist/, then bundled into dist/cli/ (tools/bundle-cli.mjs: a handful of files load faster than the
// ~200 modules they hold). The bundle runs only when it is newer than tsc's last build; after a `tsc`
// alone, dist/src does, so an edit compiled is never run from an older bundle.
import { statSync } from 'node:fs';

const mtime = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs;
const bundled = mtime('../dist/cli/main.js');
const compiled = mtime('../dist/.tsbuildinfo');
const { main } = await import(bundled !== undefined && compiled !== undefined && bundled >= compiled ? '../dist/cli/main.js' : '../dist/src/cli/main.js');

// Output piped into `head` or a pager that quit: stop quietly, as other command-line tools do.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
