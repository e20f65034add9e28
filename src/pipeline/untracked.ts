// Untracked inputs: a `run:` argument that names an existing file or directory of the workspace, but is
// neither a dep, an upstream output, nor listed under `untracked:`, would let an edit to that file leave
// the stage "up to date". Loading refuses such a pipeline. The rule, per command-stage instance:
//  - every word of `run:` is a candidate (a list's elements; a shell line's words), and so is the part
//    after the first "=" of a word (`--in=data/x.csv`); words starting with "-" only through that part;
//  - the program (the first word of a command) only when it has a "/" in it: a bare `python3` is found
//    on PATH, not in the workspace, but `./tools/run.sh` is an input;
//  - a candidate counts when it exists, lies inside the workspace, is not the workspace itself and is
//    not under `runs/` (the engine's own files; outputs and upstream outputs live there);
//  - it is tracked when it is, or lies inside, a dep, an `untracked:` entry or (for a stage that lists
//    `params:` keys) a params file.
// Glob patterns and paths the command builds at run time are not seen: `deps:` stays the declaration.
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parse as shellParse } from 'shell-quote';
import type { Json } from '../stage-api.js';
import { InterpolationError } from './interpolate.js';
import { dotted, type JsonPath } from './locate.js';
import { depEntries, resolveInstance, resolveShellCommand, type OutputLookups, type ResolveScope } from './resolve.js';
import type { Instance } from './types.js';

/** Upstream and own outputs stand in as paths under runs/, which are never candidates. */
const PLACEHOLDER = 'runs/\u0000output';
const lookups: OutputLookups = { output: () => PLACEHOLDER, outs: () => PLACEHOLDER, group: () => PLACEHOLDER };

interface Candidate {
  readonly word: string;
  readonly at: JsonPath;
}

function strings(v: Json): string[] {
  return Array.isArray(v) ? v.flatMap(strings) : v === null || typeof v === 'object' ? [] : [String(v)];
}

/**
 * Resolves one value of an instance (at `at` in the file); undefined when it cannot be, which `failed`
 * has reported there.
 */
type ResolveAt = <T>(inst: Instance, at: JsonPath, fn: () => T) => T | undefined;

/** The words of an instance's `run:` with where each sits in the file; programs marked. */
function words(scope: ResolveScope, inst: Instance, resolveAt: ResolveAt): { word: string; program: boolean; at: JsonPath }[] {
  const run = inst.stage.run;
  const base: JsonPath = ['stages', inst.stage.name, 'run'];
  if (Array.isArray(run))
    return run.flatMap((arg, i) => {
      const at = [...base, i];
      const value = resolveAt(inst, at, () => resolveInstance(scope, inst, arg, lookups));
      return value === undefined ? [] : strings(value).map((word) => ({ word, program: i === 0, at }));
    });
  if (typeof run !== 'string') return [];
  const line = resolveAt(inst, base, () => resolveShellCommand(scope, inst, run, lookups));
  if (line === undefined) return [];
  const out: { word: string; program: boolean; at: JsonPath }[] = [];
  let program = true;
  // shell-quote's parse turns operators (|, &&, ;) into objects: the next word starts a command again.
  for (const t of shellParse(line, (name) => `$${name}`)) {
    if (typeof t === 'string') {
      out.push({ word: t, program, at: base });
      program = false;
    } else program = true;
  }
  return out;
}

function candidates(scope: ResolveScope, inst: Instance, resolveAt: ResolveAt): Candidate[] {
  const out: Candidate[] = [];
  for (const { word, program, at } of words(scope, inst, resolveAt)) {
    if (program && !word.includes('/')) continue;
    if (!word.startsWith('-')) out.push({ word, at });
    const eq = word.indexOf('=');
    if (eq >= 0 && eq < word.length - 1) out.push({ word: word.slice(eq + 1), at });
  }
  return out;
}

export interface UntrackedOptions {
  readonly scope: ResolveScope;
  readonly workspace: string;
  readonly paramsFiles: readonly string[];
  readonly report: (path: JsonPath, key: boolean, message: string, hint?: string) => void;
}

/** Reports every untracked workspace path in the `run:` of the command-stage instances. */
export function checkUntracked(instances: readonly Instance[], o: UntrackedOptions): void {
  const kindOf = new Map<string, 'file' | 'directory' | null>();
  const statOf = (abs: string): 'file' | 'directory' | null => {
    let k = kindOf.get(abs);
    if (k === undefined) {
      try {
        k = statSync(abs).isDirectory() ? 'directory' : 'file';
      } catch {
        k = null;
      }
      kindOf.set(abs, k);
    }
    return k;
  };
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(o.workspace, p));
  const runs = abs('runs');
  const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
  const reported = new Set<string>();
  // The loader's reference check has passed, so what fails to resolve here is a value only resolution
  // sees: a for_each of the wrong shape or on an axis of the stage, a map in a shell line, no instance of
  // an upstream stage at this matrix point. Without this the file would validate and every instance fail
  // when it runs. Reported once per place and message (a matrix stage would repeat it per instance).
  const failed = new Set<string>();
  const resolveAt: ResolveAt = (inst, at, fn) => {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof InterpolationError)) throw e;
      const once = `${dotted(at)}\n${e.message}`;
      if (!failed.has(once)) o.report(at, false, `${dotted(at)}: ${inst.id}: ${e.message}`, e.hint);
      failed.add(once);
      return undefined;
    }
  };
  for (const inst of instances) {
    if (inst.kind || inst.stage.run === undefined) continue;
    const tracked = [
      ...depEntries(inst.stage).flatMap((d) => resolveAt(inst, ['stages', inst.stage.name, 'deps', d.at], () => strings(resolveInstance(o.scope, inst, d.path, lookups))) ?? []),
      ...(inst.stage.untracked ?? []).flatMap((u, i) => resolveAt(inst, ['stages', inst.stage.name, 'untracked', i], () => strings(resolveInstance(o.scope, inst, u, lookups))) ?? []),
      ...(inst.stage.params?.length ? o.paramsFiles : []),
    ].map(abs);
    for (const c of candidates(o.scope, inst, resolveAt)) {
      const p = abs(c.word);
      if (p === o.workspace || !inside(p, o.workspace) || inside(p, runs) || tracked.some((t) => inside(p, t))) continue;
      const kind = statOf(p);
      if (!kind) continue;
      const rel = relative(o.workspace, p);
      const once = `${inst.stage.name}\n${rel}`;
      if (reported.has(once)) continue;
      reported.add(once);
      o.report(
        c.at,
        false,
        `${dotted(c.at)}: "${rel}" is a ${kind} of the workspace that is neither a dep nor an upstream output: editing it would not re-run ${inst.stage.name}`,
        `add it to deps: (e.g. deps: { NAME: ${rel} }, then \${deps.NAME} in run:), or list it under untracked: [${rel}] to say it is deliberate`,
      );
    }
  }
}
