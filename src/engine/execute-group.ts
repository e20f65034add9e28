// One call for the members of a group (`group_by:`): a built-in kind's `runGroup` with one context per
// member, or a command run once with `${group.members}` naming a file that lists every member's matrix
// values and output paths. Each member ends with its own outcome, so the runner commits the members
// that succeeded under their own keys even when others failed. The resources a call used cannot be told
// apart by member: each member records the whole call's (usage.ts).
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GroupFailure, StageError, type Json, type MetricRow } from '../stage-api.js';
import { callKind, checkCommandOutputs, declaredMetrics, finishBuiltin, groupCommandSpec, masked, prepareCommandDirs, secretsOf, spawnCommand, type Attempt, type Executed, type Secrets } from './execute.js';
import { measureInProcess, type Usage } from './usage.js';

/** A member's outcome: its metric rows (outputs written into its outDir) and the call's resource use, or why it failed. */
export type MemberResult = Executed | { readonly error: unknown };

export interface GroupAttempt {
  /** One attempt per member, all with the same signal; the first one's log receives a command's output first. */
  readonly members: readonly Attempt[];
  /** Where a command group's members file is written. */
  readonly membersFile: string;
}

/** What `${group.members}` holds: per member, its id, matrix values, output paths and resume dir. */
export function membersFile(members: readonly Pick<Attempt, 'inst' | 'outDir' | 'resumeDir'>[]): Json {
  return {
    members: members.map((a) => ({
      id: a.inst.id,
      matrix: a.inst.matrix as Json,
      outs: Object.fromEntries(Object.entries(a.inst.stage.outs ?? {}).map(([name, rel]) => [name, join(a.outDir, rel)])),
      out_dir: a.outDir,
      resume_dir: a.resumeDir,
    })),
  };
}

/** Runs the group; throws when the whole call failed (every member fails), else one result per member. */
export async function executeGroup(g: GroupAttempt): Promise<MemberResult[]> {
  for (const a of g.members) {
    mkdirSync(a.outDir, { recursive: true });
    mkdirSync(dirname(a.logPath), { recursive: true });
  }
  const fds = g.members.map((a) => openSync(a.logPath, 'a'));
  const ids = g.members.map((a) => a.inst.id).join(', ');
  for (const fd of fds) writeSync(fd, `[pipe] group of ${g.members.length}: ${ids}\n`);
  try {
    const secrets = g.members.map((a) => secretsOf(a));
    try {
      return g.members[0].inst.kind ? await builtinGroup(g.members, fds, secrets) : await commandGroup(g, fds, secrets[0]);
    } catch (e) {
      throw secrets.reduce(masked, e);
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

async function builtinGroup(members: readonly Attempt[], fds: number[], secrets: Secrets[]): Promise<MemberResult[]> {
  const kind = members[0].inst.kind!;
  if (!kind.runGroup) throw new StageError(`${kind.kind} cannot run instances together (it has no runGroup)`, `remove group_by: from stage ${members[0].inst.stage.name}`);
  const metrics = members.map((): MetricRow[] => []);
  let failed: ReadonlyMap<string, Error> = new Map();
  const measured = measureInProcess();
  let usage: Usage;
  try {
    await callKind('runGroup', members, fds, secrets, metrics);
  } catch (e) {
    if (!(e instanceof GroupFailure)) throw e;
    failed = e.failed;
  } finally {
    usage = measured();
  }
  return members.map((a, i) => {
    const f = failed.get(a.inst.id);
    if (f) return { error: masked(f, secrets[i]) };
    try {
      return { ...finishBuiltin(a, fds[i], metrics[i]), usage };
    } catch (e) {
      return { error: e };
    }
  });
}

/** The members of a command group run one command line: one that differs by member cannot be grouped. */
function sameCommand(members: readonly Attempt[]): void {
  const line = (a: Attempt): string => JSON.stringify([a.prepared.argv, a.prepared.shellCommand, a.prepared.env]);
  const odd = members.find((a) => line(a) !== line(members[0]));
  if (odd)
    throw new StageError(
      `the members of a group run one command, but ${members[0].inst.id} and ${odd.inst.id} resolve run:/env: differently`,
      'a reference in run: or env: differs by member (an upstream output of a grouped axis?): read per-member inputs in the command, from the members file, or drop group_by:',
    );
}

async function commandGroup(g: GroupAttempt, fds: number[], secrets: Secrets): Promise<MemberResult[]> {
  const { members } = g;
  sameCommand(members);
  for (const a of members) prepareCommandDirs(a.inst, a.outDir, a.resumeDir);
  mkdirSync(dirname(g.membersFile), { recursive: true });
  writeFileSync(g.membersFile, `${JSON.stringify(membersFile(members), null, 1)}\n`);
  const spec = groupCommandSpec(members[0].prepared, g.membersFile);
  for (const fd of fds) writeSync(fd, `${secrets.mask(spec.banner)}\n`);
  const first = members[0];
  // The command's output goes to the first member's log, and to the others' line by line.
  const copy = (line: string): void => {
    for (let i = 1; i < fds.length; i++) writeSync(fds[i], `${line}\n`);
    for (const a of members) a.onLog?.(line);
  };
  const onSpawn = (pgid: number): void => members.forEach((a) => a.onSpawn?.(pgid));
  const usage = await spawnCommand(spec, { workspace: first.workspace, logPath: first.logPath, signal: first.signal, onSpawn }, secrets, copy);
  return members.map((a, i) => {
    try {
      checkCommandOutputs(a.inst, a.outDir);
      const metrics = declaredMetrics(a.inst, a.outDir);
      if (metrics.length) writeSync(fds[i], `[pipe] ${metrics.length} metric rows\n`);
      return { metrics, usage };
    } catch (e) {
      return { error: e };
    }
  });
}
