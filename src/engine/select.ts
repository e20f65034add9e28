// Instance selection for --only/--from/--until/--downstream/--force: ids, stage names, globs or
// published paths.
import { isAbsolute, normalize, relative } from 'node:path';
import type { Pipeline } from '../pipeline/types.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** `*` matches any run of characters, `?` one; everything else is literal (ids are not paths). */
export function globRegex(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

/** Ids matching a pattern: an exact id, a stage name (all its instances), a glob, or a published path. */
export function matchIds(p: Pipeline, pattern: string, flag: string): Set<string> {
  const out = new Set<string>();
  if (p.byId.has(pattern)) out.add(pattern);
  for (const i of p.byStage.get(pattern) ?? []) out.add(i.id);
  if (out.size === 0 && /[*?]/.test(pattern)) {
    const re = globRegex(pattern);
    for (const i of p.instances) if (re.test(i.id)) out.add(i.id);
  }
  // A published output's path stands for the instance that produces it (`--until plots/quals.svg`).
  const published = out.size === 0 ? p.publishes.get(normalize(isAbsolute(pattern) ? relative(p.workspace, pattern) : pattern)) : undefined;
  if (published) out.add(published.id);
  if (out.size === 0)
    throw new UsageError(`${flag} ${pattern}: matches no stage instance`, `instances: ${p.instances.slice(0, 12).map((i) => i.id).join(', ')}${p.instances.length > 12 ? ', ...' : ''} (globs like 'train@*' and published paths work too)`);
  return out;
}

export function downstreamOf(p: Pipeline, roots: Set<string>): Set<string> {
  const out = new Set(roots);
  for (const i of p.instances) if (i.upstream.some((u) => out.has(u))) out.add(i.id);
  return out;
}

export function upstreamOf(p: Pipeline, roots: Set<string>): Set<string> {
  const out = new Set(roots);
  for (let k = p.instances.length - 1; k >= 0; k--) {
    const i = p.instances[k];
    if (out.has(i.id)) for (const u of i.upstream) out.add(u);
  }
  return out;
}

export interface SelectOptions {
  readonly only?: readonly string[];
  readonly from?: readonly string[];
  readonly until?: readonly string[];
  readonly downstream?: readonly string[];
  /** true: every selected instance; a list: those matching. */
  readonly force?: boolean | readonly string[];
}

export interface Selection {
  /** Instances this run may execute. */
  readonly selected: ReadonlySet<string>;
  /** Selected plus their upstream: everything whose key must be known. */
  readonly considered: ReadonlySet<string>;
  readonly forced: ReadonlySet<string>;
}

export function select(p: Pipeline, o: SelectOptions): Selection {
  const all = new Set(p.instances.map((i) => i.id));
  const union = (pats: readonly string[], flag: string) => {
    const s = new Set<string>();
    for (const pat of pats) for (const id of matchIds(p, pat, flag)) s.add(id);
    return s;
  };
  let selected = all;
  const narrow = (s: Set<string>) => {
    selected = new Set([...selected].filter((id) => s.has(id)));
  };
  if (o.only?.length) narrow(union(o.only, '--only'));
  if (o.until?.length) narrow(upstreamOf(p, union(o.until, '--until')));
  if (o.from?.length) narrow(downstreamOf(p, union(o.from, '--from')));
  // --downstream invalidates: the instances and everything after them re-run even if cached (unlike
  // --from, which re-runs only what is out of date).
  const invalidated = o.downstream?.length ? downstreamOf(p, union(o.downstream, '--downstream')) : undefined;
  if (invalidated) narrow(invalidated);
  const forced =
    o.force === true ? new Set(selected) : Array.isArray(o.force) && o.force.length ? union(o.force, '--force') : new Set<string>();
  for (const id of invalidated ?? []) if (selected.has(id)) forced.add(id);
  return { selected, considered: upstreamOf(p, selected as Set<string>), forced };
}
