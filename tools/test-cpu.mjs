#!/usr/bin/env node
// Prints where a test run's CPU went, per test file, from the lines test/support/cpu-report.ts appended
// (`npm run test:cpu` runs the suite with PIPE_TEST_CPU set, then this). CPU seconds, unlike wall time,
// add up the same on a loaded machine: the suite's wall time on N quiet cores is about their sum / N.
//   node tools/test-cpu.mjs reports/test-cpu.jsonl [--top N]
import { readFileSync } from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node tools/test-cpu.mjs FILE.jsonl [--top N] (written by PIPE_TEST_CPU=FILE.jsonl vitest run)\n');
  process.exit(2);
}
const top = rest[0] === '--top' ? Number(rest[1]) : Infinity;
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l))
  .map((r) => ({ ...r, cpu: r.self + r.children }))
  .sort((a, b) => b.cpu - a.cpu);
const sum = (k) => rows.reduce((s, r) => s + r[k], 0);
const fmt = (n) => n.toFixed(1).padStart(7);
process.stdout.write(`${'cpu s'.padStart(7)} ${'worker'.padStart(7)} ${'subproc'.padStart(7)} ${'wall s'.padStart(7)}  file\n`);
for (const r of rows.slice(0, top)) process.stdout.write(`${fmt(r.cpu)} ${fmt(r.self)} ${fmt(r.children)} ${fmt(r.wall)}  ${r.file}\n`);
process.stdout.write(`${fmt(sum('cpu'))} ${fmt(sum('self'))} ${fmt(sum('children'))} ${fmt(sum('wall'))}  ${rows.length} files\n`);
