// Per-key build locks. Two instances of this run with one key (identical definitions) build it one after
// the other through an in-process queue; the database lock (Store.tryLock) tells processes apart. Taking
// over the lock of a runner that died first ends the process group its attempt left running, so a key's
// output and resume directories are never written by two live attempts.
import { setTimeout as sleep } from 'node:timers/promises';
import { StageError } from '../stage-api.js';
import type { Store } from '../store/index.js';
import { endGroup } from './group.js';
import type { Reporter } from './progress.js';

const POLL_MS = 200;

export class KeyLocks {
  /** Keys being built by this process, and how to wake the next instance waiting for each. */
  private readonly building = new Map<string, Promise<void>>();
  private readonly releases = new Map<string, () => void>();

  constructor(
    private readonly store: Store,
    private readonly reporter: Reporter,
    private readonly signal: AbortSignal,
  ) {}

  /** Waits for the key's lock; throws StageError('interrupted') when the run is aborted while waiting. */
  async acquire(instanceId: string, key: string): Promise<void> {
    for (let mine = this.building.get(key); mine; mine = this.building.get(key)) await mine;
    let release!: () => void;
    this.building.set(key, new Promise<void>((r) => (release = r)));
    this.releases.set(key, release);
    try {
      await this.acquireDb(instanceId, key);
    } catch (e) {
      this.wake(key);
      throw e;
    }
  }

  private async acquireDb(instanceId: string, key: string): Promise<void> {
    let told = false;
    for (;;) {
      const l = this.store.tryLock(key, instanceId);
      if (l.ok) {
        if (l.orphanGroup !== null) {
          this.reporter.waiting(instanceId, `ending process group ${l.orphanGroup}, left running by a pipe run that died`);
          await endGroup(l.orphanGroup);
        }
        return;
      }
      const h = l.holder;
      if (!told) this.reporter.waiting(instanceId, `another pipe run (pid ${h.pid}${h.host ? ` on ${h.host}` : ''}) is building the same key; waiting for it`);
      told = true;
      await sleep(POLL_MS);
      if (this.signal.aborted) throw new StageError('interrupted');
    }
  }

  /** The attempt building `key` runs as process group `pgid` (recorded for a takeover after a crash). */
  recordGroup(key: string, pgid: number): void {
    this.store.setLockGroup(key, pgid);
  }

  release(key: string): void {
    this.store.unlock(key);
    this.wake(key);
  }

  private wake(key: string): void {
    this.building.delete(key);
    this.releases.get(key)?.();
    this.releases.delete(key);
  }
}
