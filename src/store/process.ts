// Who holds a lock, and whether it still runs. A pid alone is not an identity: after a crash the pid can
// be reused by an unrelated process, which would then be taken for a live runner and waited on forever.
// A holder is therefore (host, pid, start time), the start time read from /proc/<pid>/stat (field 22, clock
// ticks since boot) as ps does; where there is no /proc (macOS) the pid check alone remains.
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcStat {
  /** R, S, D, Z (zombie: exited, not yet reaped), ... */
  readonly state: string;
  readonly pgrp: number;
  readonly startTime: string;
}

/** /proc/<pid>/stat, or null when the process does not exist or there is no /proc. */
export function procStat(pid: number): ProcStat | null {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], pgrp: Number(f[2]), startTime: f[19] };
}

export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed runner whose parent has not reaped it yet is a zombie: dead.
  return procStat(pid)?.state !== 'Z';
}

export interface Holder {
  readonly host: string | null;
  readonly pid: number;
  /** Process start time as procStat gives it; null where unknown. */
  readonly started: string | null;
}

let self: Holder | undefined;

/** This process, as recorded in lock rows. */
export function selfHolder(): Holder {
  return (self ??= { host: hostname(), pid: process.pid, started: procStat(process.pid)?.startTime ?? null });
}

/** Whether the recorded holder is still the process that runs under its pid. */
export function holderRunning(h: Holder): boolean {
  // Another machine's process cannot be checked from here: it is taken as running.
  if (h.host !== null && h.host !== selfHolder().host) return true;
  if (!pidAlive(h.pid)) return false;
  if (h.started === null) return true;
  const now = procStat(h.pid);
  // A different start time: the pid was reused by another process after the holder died.
  return now === null || now.startTime === h.started;
}

/** Whether any process of group `pgid` still runs (zombies nobody reaps do not count). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return true;
  }
  return names.some((n) => {
    if (!/^\d+$/.test(n)) return false;
    const st = procStat(Number(n));
    return st !== null && st.pgrp === pgid && st.state !== 'Z';
  });
}
