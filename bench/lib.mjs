// What the .mjs benchmarks share: timing a command under GNU time, medians, and the machine's description.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

/** Runs a command under GNU time; returns wall seconds, CPU seconds (user + sys) and peak RSS (MiB). */
export function timed(cmd, args, cwd, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', cmd, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1', ...env }, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  const last = r.stderr.trim().split('\n').pop();
  const [wall, rssKb, user, sys] = last.split(' ').map(Number);
  return { wall, cpu: user + sys, rssMb: rssKb / 1024, stdout: r.stdout, stderr: r.stderr };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const machine = () => `${cpus().length} x ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;

/** The value after `--name` on the command line, or the fallback. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
