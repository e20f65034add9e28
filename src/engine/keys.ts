// Stage keys. Each instance is resolved twice: with real paths (what the stage runs with) and with
// symbols (what the key hashes): upstream outputs enter the key by content hash, workspace paths by
// relative path plus content hash, so moving the store or re-running an upstream stage that produces
// identical bytes does not invalidate anything downstream.
import { isAbsolute, relative, resolve } from 'node:path';
import { quote } from 'shell-quote';
import type { Json } from '../stage-api.js';
import type { HashCache } from '../hash/cache.js';
import { collectRefs, InterpolationError } from '../pipeline/interpolate.js';
import { mapPathParams, paramsValidator } from '../pipeline/kinds.js';
import { depEntries, paramValue, resolveInstance, resolveShellCommand, type OutputLookups, type ResolveScope } from '../pipeline/resolve.js';
import type { Instance, StageDecl } from '../pipeline/types.js';
import { canonicalJson, sha256 } from './canonical.js';

export interface Artifact {
  /** Absolute path inside the store. */
  readonly path: string;
  readonly hash: string;
}

/** Outputs of finished upstream instances: instance id -> output name -> artifact. */
export type UpstreamOutputs = ReadonlyMap<string, ReadonlyMap<string, Artifact>>;

/** What a key is made of; stored with each result so `pipe status` can say what changed. */
export interface Components {
  readonly code: { readonly [k: string]: Json };
  readonly params: Json;
  /** Input label -> content hash. */
  readonly inputs: { readonly [label: string]: string };
  readonly env: { readonly [k: string]: string };
}

export interface Prepared {
  readonly key: string;
  readonly components: Components;
  /** Built-in kinds: the validated params, paths absolute. */
  readonly params?: Json;
  /** Commands: argv with `${outs...}` as placeholders filled by the runner. */
  readonly argv?: readonly string[];
  readonly shellCommand?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Names of the environment variables handed to the stage as secrets (values never in the key). */
  readonly secrets: readonly string[];
}

/** A problem preparing an instance (missing input path, unset variable): the instance fails. */
export class PrepareError extends Error {
  override readonly name = 'PrepareError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * How an `env:` value enters the key: hashed, so neither the database nor `pipe show`/`status` ever holds
 * it in clear (a credential put there by mistake included; credentials belong under `secrets:`).
 */
export function hashedEnvValue(v: string): string {
  return `sha256:${sha256(v)}`;
}

/** The secrets of an instance: its stage's `secrets:` and those its kind asks for (params resolved). */
export function secretNames(inst: Instance, params: Json | undefined): string[] {
  const own = inst.stage.secrets ?? [];
  const kind = inst.kind?.secrets?.(params) ?? [];
  return [...new Set([...own, ...kind])];
}

/** The placeholder `${outs.NAME}` resolves to before the output directory exists. */
export const OUTS_MARK = '\u0000outs:';
/** The placeholder of `${group.members}`, filled with the members file's path by the group's call. */
export const GROUP_MARK = '\u0000group:members\u0000';

function artifactLabel(id: string, output: string): string {
  return `${id}:${output}`;
}

/**
 * The version of the key recipe, folded into every key. Bump it when what a key is made of changes: every
 * stored result then misses once and recomputes. 2: upstream outputs enter by content hash only, not by
 * the id of the instance that produced them (1 held `artifact:ID:OUTPUT` labels).
 */
export const KEY_SCHEME = 2;

/**
 * The key of a set of components. The components keep the upstream labels (`pipe status` shows them, and
 * `pipe predict` reads which instance produced an input); the key sees each `artifact:ID:OUTPUT` as
 * `artifact:HASH`, so renaming an upstream stage or moving it into a matrix re-runs none of its consumers
 * while its bytes are the same, as DVC keys by content. Where the reference sits in the params or argv
 * stays in the key; two references to different outputs with the same bytes are the same input.
 */
function keyOf(components: Components, upstream: ReadonlyMap<string, string>): string {
  // Longest label first, so that a label that is a prefix of another (`a:out`, `a:out2`) never cuts it.
  const labels = [...upstream.keys()].sort((a, b) => b.length - a.length);
  // A shell command line holds each reference shell-quoted (`artifact\:a\:out`): swapped in that form too.
  const swaps = labels.flatMap((l) => {
    const [from, to] = [`artifact:${l}`, `artifact:${upstream.get(l)}`];
    return [[from, to], [quote([from]), quote([to])]];
  });
  const byContent = (v: Json): Json => {
    if (typeof v === 'string') return swaps.reduce((s, [from, to]) => (s.includes(from) ? s.split(from).join(to) : s), v);
    if (Array.isArray(v)) return v.map(byContent);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, byContent(x)]));
    return v;
  };
  const inputs = Object.fromEntries(Object.entries(components.inputs).map(([label, hash]) => [upstream.has(label) ? `artifact:${hash}` : label, hash]));
  const { code, params, env } = components;
  return sha256(canonicalJson({ scheme: KEY_SCHEME, code: byContent(code), params: byContent(params), inputs, env }));
}

function flattenArgv(v: Json): string[] {
  if (!Array.isArray(v)) return [String(v)];
  // A whole-string reference to a list (a matrix stage's outputs) splices into the argv.
  return v.flatMap((x) => (Array.isArray(x) ? x.map((y) => String(y)) : [String(x)]));
}

/** Resolves an instance and computes its key: a built-in kind's params, or a command's argv/env. */
export async function prepare(
  inst: Instance,
  scope: ResolveScope,
  upstream: UpstreamOutputs,
  hashes: HashCache,
  workspace: string,
): Promise<Prepared> {
  const ins = new KeyInputs(inst, scope, upstream, hashes, workspace);
  try {
    return inst.kind ? await prepareBuiltin(inst, inst.kind, ins) : prepareCommand(inst, ins);
  } catch (e) {
    if (e instanceof InterpolationError) throw new PrepareError(`${inst.id}: ${e.message}`, e.hint);
    throw e;
  }
}

/**
 * The inputs of one instance's key as they are resolved: every upstream output and workspace path it
 * reads, by content hash. Each value is resolved twice, through `keyLookups` (symbols: what the key
 * hashes) and `runLookups` (real paths: what the stage runs with).
 */
class KeyInputs {
  /** Input label -> content hash. */
  readonly inputs: { [label: string]: string } = {};
  /** Upstream output label -> content hash: what the key sees instead of the label. */
  readonly upstreamInputs = new Map<string, string>();
  readonly keyLookups: OutputLookups;
  readonly runLookups: OutputLookups;

  constructor(
    readonly inst: Instance,
    readonly scope: ResolveScope,
    private readonly upstream: UpstreamOutputs,
    private readonly hashes: HashCache,
    readonly workspace: string,
  ) {
    this.keyLookups = {
      output: (u, name) => {
        const label = artifactLabel(u.id, name);
        this.inputs[label] = this.artifact(u, name).hash;
        this.upstreamInputs.set(label, this.inputs[label]);
        return `artifact:${label}`;
      },
      outs: (name) => `outs:${name}`,
      group: () => 'group:members',
    };
    this.runLookups = {
      output: (u, name) => this.artifact(u, name).path,
      outs: (name) => `${OUTS_MARK}${name}\u0000`,
      group: () => GROUP_MARK,
    };
  }

  private artifact(u: Instance, name: string): Artifact {
    const a = this.upstream.get(u.id)?.get(name);
    if (!a) throw new PrepareError(`${u.id} has no recorded output "${name}"`, `re-run ${u.id}`);
    return a;
  }

  abs(p: string): string {
    return isAbsolute(p) ? p : resolve(this.workspace, p);
  }

  /** Hashes a workspace file or directory into the key under `label`. */
  hashInput(abs: string, label: string): void {
    try {
      this.inputs[label] = this.hashes.hashPath(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new PrepareError(`input ${label} cannot be read (${code ?? (e as Error).message}): ${abs}`, code === 'ENOENT' ? 'create it, or fix the path in the pipeline' : undefined);
    }
  }

  /** The stage's `deps:`: workspace paths by content; upstream outputs named there are already inputs. */
  hashDeps(): void {
    const { scope, inst, workspace } = this;
    for (const d of depEntries(inst.stage)) {
      if (String(resolveInstance(scope, inst, d.path, this.keyLookups)).includes('artifact:')) continue;
      for (const p of flattenArgv(resolveInstance(scope, inst, d.path, this.runLookups))) {
        const path = this.abs(p);
        this.hashInput(path, `dep:${relative(workspace, path) || '.'}`);
      }
    }
  }

  key(components: Components): string {
    return keyOf(components, this.upstreamInputs);
  }
}

async function prepareBuiltin(inst: Instance, kind: NonNullable<Instance['kind']>, ins: KeyInputs): Promise<Prepared> {
  const { scope, workspace } = ins;
  const decl = inst.stage.with ?? {};
  const validate = paramsValidator(kind);
  const keyParams = resolveInstance(scope, inst, decl, ins.keyLookups);
  const runParams = resolveInstance(scope, inst, decl, ins.runLookups);
  // Defaults (ajv useDefaults) become part of both, so a changed default is a changed param.
  if (!validate(keyParams) || !validate(runParams))
    throw new PrepareError(`${inst.id}: params do not match the schema of ${kind.kind}: ${validate.errors?.map((e) => `${e.instancePath} ${e.message}`).join('; ')}`, 'run pipe validate');
  const keyed = mapPathParams(kind.params, keyParams, (p) => {
    if (p.startsWith('artifact:')) return p;
    const rel = relative(workspace, ins.abs(p)) || '.';
    ins.hashInput(ins.abs(p), `path:${rel}`);
    return rel;
  });
  const params = mapPathParams(kind.params, runParams, (p) => ins.abs(p));
  ins.hashDeps();
  const fingerprint = kind.fingerprint ? await kind.fingerprint(params) : {};
  const components: Components = {
    code: { kind: kind.kind, version: kind.version },
    params: keyed,
    inputs: ins.inputs,
    env: { ...fingerprint },
  };
  return { key: ins.key(components), components, params, secrets: secretNames(inst, params) };
}

/** An external command. A shell command line gets every interpolated value shell-quoted; an argv needs no quoting. */
function prepareCommand(inst: Instance, ins: KeyInputs): Prepared {
  const { scope } = ins;
  const s = inst.stage;
  const resolveRun = (lookups: OutputLookups): Json =>
    typeof s.run === 'string' ? resolveShellCommand(scope, inst, s.run, lookups) : resolveInstance(scope, inst, s.run ?? [], lookups);
  const keyArgv = resolveRun(ins.keyLookups);
  const runArgv = resolveRun(ins.runLookups);
  const keyEnv = resolveInstance(scope, inst, s.env ?? {}, ins.keyLookups) as { [k: string]: Json };
  const runEnv = resolveInstance(scope, inst, s.env ?? {}, ins.runLookups) as { [k: string]: Json };
  ins.hashDeps();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(runEnv)) env[k] = String(v);
  const code: { [k: string]: Json } =
    typeof keyArgv === 'string'
      ? { shell: keyArgv, outs: { ...(s.outs ?? {}) }, ...ingested(s) }
      : { argv: flattenArgv(keyArgv), outs: { ...(s.outs ?? {}) }, ...ingested(s) };
  const declaredEnv: { [k: string]: string } = {};
  for (const [k, v] of Object.entries(keyEnv)) declaredEnv[k] = hashedEnvValue(String(v));
  const components: Components = { code, params: commandParams(inst, scope), inputs: ins.inputs, env: declaredEnv };
  const key = ins.key(components);
  const secrets = secretNames(inst, undefined);
  return typeof runArgv === 'string'
    ? { key, components, shellCommand: runArgv, env, secrets }
    : { key, components, argv: flattenArgv(runArgv), env, secrets };
}

/**
 * The pipeline params a command reads: those it references (already inside argv, but named here so that
 * `pipe status` can say "param n: 4 -> 5" rather than only "argv[4] changed"), and the keys of a params
 * file it reads itself (`params: [train.lr]`). Only the referenced key's value, so a change to another key
 * of the same map re-runs nothing.
 */
function commandParams(inst: Instance, scope: ResolveScope): { [k: string]: Json } {
  const s = inst.stage;
  const used: { [k: string]: Json } = {};
  for (const { ref } of collectRefs([s.run ?? null, (s.env ?? null) as Json, (s.deps ?? null) as Json]).refs)
    if (ref.root === 'params') used[[ref.name, ...ref.path].join('.')] = paramValue(scope.params, ref.name, ref.path);
  for (const dotted of s.params ?? []) {
    const [name, ...path] = dotted.split('.');
    used[dotted] = paramValue(scope.params, name, path);
  }
  // A grouped command's line is the same for every member (the loader refuses their grouped axes in
  // it), and the command reads every member's matrix values from the members file: they are its params.
  if (s.group_by) for (const [axis, v] of Object.entries(inst.matrix)) used[`matrix.${axis}`] = v;
  return used;
}

/** The metrics and plots a command stage declares: part of its key, since they decide the stored rows. */
function ingested(s: StageDecl): { [k: string]: Json } {
  return { ...(s.metrics ? { metrics: [...s.metrics] } : {}), ...(s.plots ? { plots: s.plots as unknown as Json } : {}) };
}
