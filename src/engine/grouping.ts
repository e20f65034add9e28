// Groups (`group_by:` on a matrix stage): the instances that agree on every axis not in group_by are the
// members of one group. Each member is prepared and looked up in the cache on its own; the members that
// must be built are gathered (a Gate waits until every member has either asked to be built or finished
// otherwise: restored, skipped, failed) and run in one executor call under one admission, holding every
// member key's lock. Each member is then committed under its own key, or fails alone. A cached member is
// never passed to the call, so it is never recomputed because its group ran.
import { matrixLabel } from '../pipeline/matrix.js';
import { groupAxes } from '../pipeline/group-by.js';
import type { Instance } from '../pipeline/types.js';
import { accepted, attemptError, demandOf, retryPolicy, type Attempted, type Build } from './attempt.js';
import type { Executor, Job } from './executor.js';
import type { KeyLocks } from './lock.js';
import type { Demand } from './pool.js';
import type { Outcome } from './record.js';

/** What the group runner needs of the run (runner.ts's Run). */
export interface GroupHost {
  readonly executor: Executor;
  readonly locks: KeyLocks;
  readonly signal: AbortSignal;
  /** The one-instance path: for a member whose key another member of the same call builds. */
  build(b: Build): Promise<Outcome>;
  /** Under the key's lock: the cached outcome, or the rebuilt member (`corrupt` set when its entry was damaged). */
  recheck(b: Build): Outcome | Build;
  halted(inst: Instance): Outcome | undefined;
  interrupted(inst: Instance): Outcome;
  starting(insts: readonly Instance[]): number;
  job(inst: Instance, prepared: Build['prepared'], timeoutMs: number | undefined): Job;
  settle(b: Build, r: Attempted, startedAt: number, n: number): Promise<Outcome>;
  pause(insts: readonly Instance[], note: string, delayMs: number): Promise<boolean>;
}

/** The id of an instance's group: its stage and its values of the axes outside group_by. */
function groupId(inst: Instance): string {
  const grouped = groupAxes(inst.stage);
  const rest = Object.entries(inst.matrix).filter(([axis]) => !grouped.includes(axis));
  return `${inst.stage.name}@${rest.map(([axis, v]) => `${axis}=${matrixLabel(v)}`).join(',')}`;
}

/** Gathers the members of one group: the call starts when the last member has settled. */
class Gate {
  private readonly waiting: Set<string>;
  private readonly joined: { b: Build; done: (o: Promise<Outcome>) => void }[] = [];

  constructor(
    ids: readonly string[],
    private readonly launch: (builds: Build[]) => Map<string, Promise<Outcome>>,
  ) {
    this.waiting = new Set(ids);
  }

  /** The member must be built: its outcome comes when its group's call has run. */
  join(b: Build): Promise<Outcome> {
    const p = new Promise<Outcome>((done) => this.joined.push({ b, done }));
    this.settled(b.inst.id);
    return p;
  }

  /** The member finished without being built (or has already joined). */
  settled(id: string): void {
    if (!this.waiting.delete(id) || this.waiting.size) return;
    if (!this.joined.length) return;
    const outcomes = this.launch(this.joined.map((j) => j.b));
    for (const j of this.joined) j.done(outcomes.get(j.b.inst.id)!);
  }
}

/** Splits `list` into runs of at most `size` (all of it when size is undefined). */
function chunks<T>(list: readonly T[], size: number | undefined): T[][] {
  const n = Math.max(1, size ?? list.length);
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

/** A group call's demand: the most any member asks for, per resource (one process runs them all). */
function groupDemand(builds: readonly Build[]): Demand {
  const ds = builds.map((b) => demandOf(b.inst, b.prepared));
  return { cpu: Math.max(...ds.map((d) => d.cpu)), gpu: Math.max(...ds.map((d) => d.gpu)), memoryMb: Math.max(...ds.map((d) => d.memoryMb)) };
}

export class Groups {
  private readonly gates = new Map<string, Gate>();
  /** Members are passed in the pipeline's instance order, however they became ready. */
  private readonly order = new Map<string, number>();

  /** `considered`: the instances this run looks at; only those of stages with group_by get a gate. */
  constructor(
    considered: readonly Instance[],
    private readonly host: GroupHost,
  ) {
    const members = new Map<string, string[]>();
    for (const [i, inst] of considered.entries()) {
      if (!inst.stage.group_by) continue;
      this.order.set(inst.id, i);
      const g = groupId(inst);
      members.set(g, [...(members.get(g) ?? []), inst.id]);
    }
    for (const [g, ids] of members) {
      const gate = new Gate(ids, (builds) => this.launch(builds));
      this.gates.set(g, gate);
    }
  }

  /** The gate of a grouped instance (undefined: the instance runs on its own). */
  gate(inst: Instance): Gate | undefined {
    return inst.stage.group_by ? this.gates.get(groupId(inst)) : undefined;
  }

  /** One call per `group_size:` chunk; the members' outcomes by id. */
  private launch(builds: Build[]): Map<string, Promise<Outcome>> {
    const out = new Map<string, Promise<Outcome>>();
    builds.sort((a, b) => this.order.get(a.inst.id)! - this.order.get(b.inst.id)!);
    for (const chunk of chunks(builds, builds[0].inst.stage.group_size)) {
      const call = this.call(chunk);
      for (const b of chunk) out.set(b.inst.id, call.then((m) => m.get(b.inst.id)!));
    }
    return out;
  }

  /** Locks every member's key, then runs the call for those still to build. */
  private async call(builds: readonly Build[]): Promise<Map<string, Outcome>> {
    const out = new Map<string, Outcome>();
    // Members with one key (identical definitions): the first is built, the others wait for its lock and restore it.
    const first = new Map<string, Build>();
    const twins: Build[] = [];
    for (const b of builds) {
      if (first.has(b.prepared.key)) twins.push(b);
      else first.set(b.prepared.key, b);
    }
    const unique = [...first.values()];
    const held: string[] = [];
    try {
      if (!(await this.lockAll(unique, held))) for (const b of unique) out.set(b.inst.id, this.host.interrupted(b.inst));
      else {
        const todo: Build[] = [];
        for (const b of unique) {
          const r = this.host.recheck(b);
          if ('result' in r) out.set(b.inst.id, r);
          else todo.push(r);
        }
        if (todo.length) for (const [id, o] of await this.admitted(todo)) out.set(id, o);
      }
    } finally {
      for (const k of held) this.host.locks.release(k);
    }
    for (const b of twins) out.set(b.inst.id, await this.host.build(b));
    return out;
  }

  /**
   * Every member key's lock, each pushed onto `held` as it is taken, in key order (two runs taking the
   * same keys never wait on each other); false when interrupted while waiting.
   */
  private async lockAll(builds: readonly Build[], held: string[]): Promise<boolean> {
    try {
      for (const b of [...builds].sort((x, y) => (x.prepared.key < y.prepared.key ? -1 : 1))) {
        await this.host.locks.acquire(b.inst.id, b.prepared.key);
        held.push(b.prepared.key);
      }
      return true;
    } catch {
      return false;
    }
  }

  private async admitted(todo: Build[]): Promise<Map<string, Outcome>> {
    const release = await this.host.executor.acquire(groupDemand(todo));
    try {
      // The run stops for every member alike (interrupted, or stopping after a failure).
      const halted = this.host.halted(todo[0].inst);
      if (halted) return new Map(todo.map((b, i) => [b.inst.id, i ? this.host.halted(b.inst)! : halted]));
      return await this.attempts(todo);
    } finally {
      release();
    }
  }

  /** The call, retried per the stage's `retry:` for the members that failed; each member settled as it ends. */
  private async attempts(todo: readonly Build[]): Promise<Map<string, Outcome>> {
    const out = new Map<string, Outcome>();
    const policy = retryPolicy(todo[0].inst.stage);
    const startedAt = this.host.starting(todo.map((b) => b.inst));
    let pending = [...todo];
    for (let n = 1; pending.length; n++) {
      const results = await this.once(pending, policy.timeoutMs);
      if (this.host.signal.aborted) {
        for (const b of pending) out.set(b.inst.id, this.host.interrupted(b.inst));
        break;
      }
      const failed: { b: Build; r: Attempted }[] = [];
      for (const [i, b] of pending.entries()) {
        const r = results[i];
        if ('tmp' in r || n >= policy.attempts) out.set(b.inst.id, await this.host.settle(b, r, startedAt, n));
        else failed.push({ b, r });
      }
      pending = failed.map((f) => f.b);
      const why = failed.map((f) => ('error' in f.r ? f.r.error : '')).join('; ');
      if (pending.length && !(await this.host.pause(pending.map((b) => b.inst), `attempt ${n} of ${policy.attempts} failed (${why}); retrying in ${policy.delayMs / 1000} s`, policy.delayMs)))
        for (const b of pending.splice(0)) out.set(b.inst.id, this.host.interrupted(b.inst));
    }
    return out;
  }

  /** One call by the executor: each member's outputs, or why it failed (all of them, when the call failed). */
  private async once(builds: readonly Build[], timeoutMs: number | undefined): Promise<Attempted[]> {
    const demand = groupDemand(builds);
    const jobs = builds.map((b) => ({ ...this.host.job(b.inst, b.prepared, timeoutMs), demand }));
    try {
      const done = await this.host.executor.runGroup(jobs);
      return done.map((d) => ('done' in d ? accepted(d.done) : attemptError(d.error)));
    } catch (e) {
      const err = attemptError(e);
      return builds.map(() => err);
    }
  }
}
