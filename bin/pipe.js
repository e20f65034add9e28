#!/usr/bin/env node
// Thin launcher: the CLI is compiled by `npm run build` (run automatically by `npm ci` via `prepare`).
import { main } from '../dist/src/cli/main.js';

// Output piped into `head` or a pager that quit: stop quietly, as other command-line tools do.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
