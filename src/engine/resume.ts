// Resume directories, runs/partial/<key>: made before an attempt starts (a stage's checkpoints survive its
// failed attempts there), no longer needed once the key is committed. An empty one is not removed but kept
// for the next attempt of this run and renamed into place: creating a directory allocates an inode and
// removing one frees it, which on a busy file system costs more than spawning a short command (see
// BENCHMARKS.md, per-instance overhead); a rename allocates nothing. Spare directories wait in runs/tmp
// under this process's pid, so a run that dies leaves them to the next run's cleanStaleTmp.
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Layout } from './layout.js';

export class ResumeDirs {
  private readonly spare: string[] = [];
  private made = 0;

  constructor(private readonly layout: Layout) {}

  /** Makes `dir` exist; what an earlier attempt left in it stays. */
  async make(dir: string): Promise<void> {
    const spare = this.spare.pop();
    if (spare !== undefined) {
      try {
        // Replaces `dir` only if it is an empty directory; fails when it holds checkpoints (kept) or when
        // runs/partial does not exist yet.
        await rename(spare, dir);
        return;
      } catch {
        this.spare.push(spare);
      }
    }
    await mkdir(dir, { recursive: true });
  }

  /** After the key's commit: an empty `dir` is kept as a spare, one with checkpoints is removed. */
  async release(dir: string): Promise<void> {
    try {
      if ((await readdir(dir)).length === 0) {
        const spare = join(this.layout.tmp, `resume.${process.pid}.${this.made++}`);
        await rename(dir, spare);
        this.spare.push(spare);
        return;
      }
    } catch {
      // Gone already, or not movable: removed below.
    }
    await rm(dir, { recursive: true, force: true });
  }

  /** At the end of the run: the spares are removed. */
  async close(): Promise<void> {
    await Promise.all(this.spare.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}
