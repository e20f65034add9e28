// Per-file CPU time of a test run, for finding where the suite's time goes (`npm run test:cpu`): a setup
// file that, when PIPE_TEST_CPU names a file, appends one JSON line per test file with the CPU seconds of
// its worker process and of every subprocess it waited for (the `pipe` CLIs, tsc, chromium, python), read
// from /proc/self/stat (utime, stime, cutime, cstime). Slurm jobs run under slurmd and are not counted.
// Wall time says little on a shared machine; CPU seconds add up the same however loaded it is.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { afterAll } from 'vitest';

const OUT = process.env.PIPE_TEST_CPU;
/** Clock ticks per second of /proc's times (USER_HZ; 100 on Linux). */
const HZ = 100;

function cpuSeconds(): { self: number; children: number } {
  // Fields after the command name (which may contain spaces) start at field 3; utime is field 14.
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const n = (i: number) => Number(f[i - 3]);
  return { self: (n(14) + n(15)) / HZ, children: (n(16) + n(17)) / HZ };
}

if (OUT) {
  const start = cpuSeconds();
  const wallStart = Date.now();
  afterAll((file) => {
    const end = cpuSeconds();
    const path = 'filepath' in file && typeof file.filepath === 'string' ? relative(process.cwd(), file.filepath) : file.name;
    const row = { file: path, self: +(end.self - start.self).toFixed(2), children: +(end.children - start.children).toFixed(2), wall: (Date.now() - wallStart) / 1000 };
    mkdirSync(dirname(OUT), { recursive: true });
    appendFileSync(OUT, `${JSON.stringify(row)}\n`);
  });
}
