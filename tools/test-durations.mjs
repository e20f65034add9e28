#!/usr/bin/env node
// Writes test/durations.json (seconds per test file) from a vitest JSON report, for the order test files
// start in on a machine without vitest's cache (test/support/sequencer.ts). Only the ratios matter: record
// them from a whole run (`npm run test:durations` runs the suite and writes them).
//   node tools/test-durations.mjs REPORT.json
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const [report] = process.argv.slice(2);
if (!report) {
  process.stderr.write('usage: node tools/test-durations.mjs REPORT.json (a vitest --reporter=json output)\n');
  process.exit(2);
}
const { testResults } = JSON.parse(readFileSync(report, 'utf8'));
const rows = testResults
  .map((f) => [relative(process.cwd(), f.name), Math.round((f.endTime - f.startTime) / 100) / 10])
  .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
writeFileSync('test/durations.json', `${JSON.stringify(Object.fromEntries(rows), null, 2)}\n`);
process.stdout.write(`test/durations.json: ${rows.length} files, ${rows.reduce((s, r) => s + r[1], 0).toFixed(0)} s in all\n`);
