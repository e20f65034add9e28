// Loading a pipeline file: YAML with source positions, the published JSON Schema, then semantic checks
// (kinds, references, matrix axes, cycles, each kind's own params schema). Every problem found is
// reported, each with file:line:col and a fix, instead of stopping at the first.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { isScalar, LineCounter, parse as parseYaml, parseDocument, visit, type Document } from 'yaml';
import type { Json, StageKind } from '../stage-api.js';
import { forEachAxesAt } from './for-each.js';
import { collectRefs, hasRefs, InterpolationError, resolveValue } from './interpolate.js';
import { knownKinds, loadKind, outputNames, paramsValidator } from './kinds.js';
import { dotted, Locator, type JsonPath } from './locate.js';
import { compiledValidator } from './validators.js';
import { cartesian, instanceId, matrixValueProblem, type MatrixValue } from './matrix.js';
import { checkOutsConfined } from './outs.js';
import { splitOuts, withPublishTargets } from './publish.js';
import { GlobAxisError, globAxisValues } from './glob-axis.js';
import { readParamsFiles } from './params-files.js';
import { applyTemplates, deepMerge } from './templates.js';
import { envValue, matchUpstream, paramValue, quotedShellRefs, resolveInstance, unsetEnv, type ResolveScope } from './resolve.js';
import { checkUntracked } from './untracked.js';
import { checkGroupBy, groupRefProblem } from './group-by.js';
import schema from './schema.json' with { type: 'json' };
import type { Diagnostic, Instance, Pipeline, SlurmOptions, StageDecl } from './types.js';

export interface LoadOptions {
  /** The directory that holds `runs/`. */
  readonly workspace: string;
  /** `name=value` overrides; the value is parsed as YAML (`--set seeds=[0,1]`). */
  readonly sets?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Kinds defined in-process (tools, tests, plugins): looked up before the built-in registry. */
  readonly kinds?: Readonly<Record<string, StageKind<unknown>>>;
}

export type LoadResult =
  | { readonly ok: true; readonly pipeline: Pipeline }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] };

let validatePipeline: ValidateFunction | undefined;

function decodePointer(p: string): string[] {
  return p === '' ? [] : p.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Turns ajv errors into located diagnostics; `base` is where the validated value sits in the file. */
export function ajvDiagnostics(
  errors: readonly ErrorObject[],
  base: JsonPath,
  report: (path: JsonPath, key: boolean, message: string, hint?: string) => void,
): void {
  // A failed oneOf also reports each branch's failure; keep only the oneOf itself.
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  const shown = errors.filter(
    (e) =>
      !oneOfs.some((o) => o !== e && e.schemaPath.startsWith(o.schemaPath.replace(/\/oneOf$/, '/oneOf/'))) &&
      !(e.keyword === 'pattern' && e.propertyName !== undefined) &&
      e.keyword !== 'if',
  );
  for (const e of shown) {
    const at = [...base, ...decodePointer(e.instancePath)];
    const where = dotted(at) || '(top level)';
    const parent = e.parentSchema as { properties?: object; description?: string } | undefined;
    switch (e.keyword) {
      case 'additionalProperties': {
        const prop = (e.params as { additionalProperty: string }).additionalProperty;
        const allowed = Object.keys(parent?.properties ?? {});
        report([...at, prop], true, `${where}: unknown field "${prop}"`, allowed.length ? `allowed fields: ${allowed.join(', ')}` : 'remove it');
        break;
      }
      case 'required': {
        const prop = (e.params as { missingProperty: string }).missingProperty;
        report(at, true, `${where}: missing required field "${prop}"`, `add "${prop}:"`);
        break;
      }
      case 'propertyNames': {
        const name = (e.params as { propertyName: string }).propertyName;
        const inner = errors.find((x) => x.propertyName === name && x.keyword === 'pattern');
        const pattern = inner ? (inner.params as { pattern: string }).pattern : undefined;
        report([...at, name], true, `${where}: invalid name "${name}"`, pattern ? `names must match ${pattern}` : undefined);
        break;
      }
      case 'oneOf':
        report(at, false, `${where}: has the wrong form`, parent?.description ?? 'see docs/pipeline-format.md');
        break;
      case 'enum':
        report(at, false, `${where}: ${e.message}`, `one of: ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`);
        break;
      default:
        report(at, false, `${where}: ${e.message ?? 'is invalid'}`, parent?.description);
    }
  }
}

function applySets(params: { [k: string]: Json }, sets: readonly string[], diags: Diagnostic[]): void {
  for (const s of sets) {
    const eq = s.indexOf('=');
    const fail = (message: string, hint: string) => diags.push({ file: '--set', line: 0, col: 0, message, hint });
    if (eq <= 0) {
      fail(`--set ${s}: expected name=value`, 'e.g. --set seeds=[0,1] or --set data_root=/data');
      continue;
    }
    const path = s.slice(0, eq).split('.');
    if (!(path[0] in params)) {
      fail(`--set ${s}: unknown param "${path[0]}"`, `declared params: ${Object.keys(params).join(', ') || 'none'}`);
      continue;
    }
    let value: Json;
    try {
      value = parseYaml(s.slice(eq + 1)) as Json;
    } catch (e) {
      fail(`--set ${s}: value is not valid YAML (${(e as Error).message.split('\n')[0]})`, 'quote the value');
      continue;
    }
    if (path.length === 1) params[path[0]] = value;
    else {
      let obj = params[path[0]];
      for (const k of path.slice(1, -1)) {
        if (!obj || typeof obj !== 'object' || Array.isArray(obj)) break;
        obj = (obj as { [k: string]: Json })[k];
      }
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
        fail(`--set ${s}: "${path.slice(0, -1).join('.')}" is not a map`, 'set the whole param instead');
        continue;
      }
      (obj as { [k: string]: Json })[path[path.length - 1]] = value;
    }
  }
}

function isRecord(v: unknown): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where diagnostics go while one file loads: `report` locates a JSON path in the YAML source. */
interface Ctx {
  readonly relFile: string;
  readonly env: NodeJS.ProcessEnv;
  readonly diags: Diagnostic[];
  report(path: JsonPath, key: boolean, message: string, hint?: string): void;
}

type Parsed = { ok: true; raw: { [k: string]: Json }; ctx: Ctx } | { ok: false; diagnostics: Diagnostic[] };

export async function loadPipeline(fileArg: string, opts: LoadOptions): Promise<LoadResult> {
  const workspace = resolve(opts.workspace);
  const file = resolve(workspace, fileArg);
  const relFile = relative(workspace, file) || file;
  const parsed = parseSource(file, relFile, opts.env ?? process.env);
  if (!parsed.ok) return parsed;
  const { raw, ctx } = parsed;
  validatePipeline ??= compiledValidator(schema);
  if (!validatePipeline(structuredClone(raw))) ajvDiagnostics(validatePipeline.errors ?? [], [], ctx.report);

  const { params, paramsFiles } = resolveParams(raw, opts.sets ?? [], workspace, ctx);
  const stageEntries = applyTemplates(raw, ctx.report);
  const stages: StageDecl[] = stageEntries.map(([name, s]) => ({ ...(s as object), name, ...splitOuts(s as { [k: string]: unknown }) }) as StageDecl);
  const stageByName = new Map(stages.map((s) => [s.name, s]));
  const kinds = await checkStageForms(stages, opts.kinds, ctx);
  checkSecrets(raw, stages, ctx);
  for (const s of stages) checkGroupBy(s, kinds.get(s.name), ctx.report);
  checkOutsConfined(stages, (name) => (raw.stages as { [k: string]: { [k: string]: unknown } })[name], ctx.report);
  const matrices = expandMatrices(stages, params, workspace, ctx);
  const pointKinds = await matrixKinds(stages, matrices, { params, byStage: new Map(), env: ctx.env }, opts.kinds, kinds, ctx);
  const stageDeps = stageGraph(stages, stageByName, kinds, params, ctx);
  const order = topologicalOrder(stages, stageDeps, ctx);
  if (ctx.diags.length) return { ok: false, diagnostics: dedupe(ctx.diags) };

  const built = buildInstances(order, stageByName, matrices, stageDeps, kinds, pointKinds, ctx);
  const { instances, byId, byStage, publishes } = withPublishTargets(built.instances, {
    scope: { params, byStage: built.byStage, env: ctx.env },
    workspace,
    outputs: (s) => outputNames(s, kinds.get(s.name)),
    raw: (name) => (raw.stages as { [k: string]: { [k: string]: unknown } })[name],
    report: ctx.report,
  });
  const scope: ResolveScope = { params, byStage, env: ctx.env };
  checkKindParams(instances, scope, ctx);
  checkUntracked(instances, { scope, workspace, paramsFiles, report: ctx.report });
  for (const inst of instances) {
    for (const u of inst.upstream) if (!byId.has(u)) ctx.report(['stages', inst.stage.name], true, `${inst.id}: upstream ${u} is missing`, 'check matrix values');
  }
  if (ctx.diags.length) return { ok: false, diagnostics: dedupe(ctx.diags) };

  return {
    ok: true,
    pipeline: {
      file,
      relFile,
      workspace,
      ...(typeof raw.description === 'string' ? { description: raw.description } : {}),
      ...(raw.executor === 'local' || raw.executor === 'slurm' ? { executor: raw.executor } : {}),
      ...(raw.slurm && typeof raw.slurm === 'object' ? { slurm: raw.slurm as SlurmOptions } : {}),
      sets: [...(opts.sets ?? [])],
      params,
      paramsFiles,
      stages,
      instances,
      byId,
      byStage,
      publishes,
    },
  };
}

/**
 * A variable some stage declares under `secrets:` must not also reach a key in clear: not through an
 * `${env.NAME}` reference anywhere in the file, nor as an `env:` entry of the same name.
 */
function checkSecrets(raw: { [k: string]: Json }, stages: readonly StageDecl[], ctx: Ctx): void {
  const secret = new Set(stages.flatMap((s) => (Array.isArray(s.secrets) ? s.secrets : [])));
  if (!secret.size) return;
  const hint = 'read the secret from the environment inside the command (it is set there), never through ${env...} or env:';
  for (const { ref, path } of collectRefs(raw, []).refs)
    if (ref.root === 'env' && secret.has(ref.name)) ctx.report(path, false, `${dotted(path)}: \${env.${ref.name}} names a secret (declared under secrets:): its value would enter a key in clear`, hint);
  for (const s of stages)
    for (const name of Object.keys(isRecord(s.env) ? s.env : {}))
      if (secret.has(name)) ctx.report(['stages', s.name, 'env', name], true, `stages.${s.name}.env.${name}: ${name} is declared a secret: it cannot also be an env: entry (part of the key)`, hint);
}

/** A pipeline file is configuration: anything larger is refused before it is read. */
export const MAX_PIPELINE_BYTES = 32 * 1024 * 1024;
/** Alias expansions while building the value: the `yaml` package's guard against alias ("billion laughs") bombs. */
export const MAX_ALIAS_COUNT = 100;
/** Instances one stage's matrix may expand to; the product of its axis lengths is checked before expanding. */
export const MAX_INSTANCES_PER_STAGE = 100_000;

const DUPLICATE_HINT = 'each key (stage id, param, field) may appear once: rename or merge the duplicate';

function firstAlias(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/** Reads at most MAX_PIPELINE_BYTES + 1 bytes of a regular file (a FIFO or device would never end). */
function readLimited(file: string): Buffer | { error: string; hint: string } {
  // Non-blocking: opening a FIFO for reading otherwise waits (the whole process) for a writer.
  const fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { error: 'is not a regular file', hint: 'pass the path of a YAML file' };
    const buf = Buffer.alloc(Math.min(st.size, MAX_PIPELINE_BYTES) + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > MAX_PIPELINE_BYTES)
      return { error: `is larger than the limit of ${MAX_PIPELINE_BYTES / 1024 / 1024} MiB for a pipeline file`, hint: 'a pipeline file holds configuration: keep data in files it references (deps:, params with paths)' };
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * The text of a UTF-8 file, or where its first invalid byte is. TextDecoder (fatal) decides validity;
 * it does not say where, so the lossy decoding is searched for the first U+FFFD that the file does not
 * spell itself (EF BF BD).
 */
function decodeUtf8(bytes: Buffer): string | { line: number; col: number; byte: number } {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const lossy = bytes.toString('utf8');
    let at = 0;
    let from = 0;
    for (let i = lossy.indexOf('\uFFFD'); i >= 0; i = lossy.indexOf('\uFFFD', i + 1)) {
      at += Buffer.byteLength(lossy.slice(from, i));
      from = i;
      if (bytes[at] !== 0xef || bytes[at + 1] !== 0xbf || bytes[at + 2] !== 0xbd) {
        const before = lossy.slice(0, i);
        return { line: before.split('\n').length, col: i - before.lastIndexOf('\n'), byte: bytes[at] };
      }
    }
    return { line: 1, col: 1, byte: bytes[0] };
  }
}

/**
 * Keys that repeat within one map, in one pass with a set per map. The `yaml` package's own check
 * (`uniqueKeys`) compares every pair of keys: quadratic, 7 s for a 2.5 MB file.
 */
function duplicateKeys(doc: Document): { offset: number; key: string }[] {
  const found: { offset: number; key: string }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const id = `${typeof pair.key.value}:${String(pair.key.value)}`;
        if (seen.has(id)) found.push({ offset: pair.key.range?.[0] ?? 0, key: String(pair.key.value) });
        seen.add(id);
      }
    },
  });
  return found;
}

/** Reads and parses the YAML, keeping source positions for every later diagnostic. */
function parseSource(file: string, relFile: string, env: NodeJS.ProcessEnv): Parsed {
  const fail = (message: string, hint: string, line = 0, col = 0): Parsed => ({ ok: false, diagnostics: [{ file: relFile, line, col, message, hint }] });
  let bytes: Buffer;
  try {
    const read = readLimited(file);
    if (!Buffer.isBuffer(read)) return fail(`${relFile} ${read.error}`, read.hint);
    bytes = read;
  } catch (e) {
    return fail(`cannot read ${relFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the path (relative to the workspace)');
  }
  const text = decodeUtf8(bytes);
  if (typeof text !== 'string')
    return fail(`invalid UTF-8 (byte 0x${text.byte.toString(16).padStart(2, '0')})`, 're-save the file as UTF-8', text.line, text.col);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const errors = [
    ...doc.errors.map((e) => ({ offset: e.pos[0], message: e.message.split('\n')[0], hint: 'fix the YAML syntax at this position' })),
    ...duplicateKeys(doc).map((d) => ({ offset: d.offset, message: `Map keys must be unique: "${d.key}" appears twice`, hint: DUPLICATE_HINT })),
  ].sort((a, b) => a.offset - b.offset);
  if (errors.length) {
    return {
      ok: false,
      diagnostics: errors.map((e) => {
        const p = lines.linePos(e.offset);
        return { file: relFile, line: p.line, col: p.col, message: e.message, hint: e.hint };
      }),
    };
  }
  const loc = new Locator(doc, lines);
  const diags: Diagnostic[] = [];
  const ctx: Ctx = {
    relFile,
    env,
    diags,
    report(path, key, message, hint) {
      const p = loc.at(path, key);
      diags.push({ file: relFile, line: p.line, col: p.col, message, ...(hint ? { hint } : {}) });
    },
  };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // The yaml package throws a ReferenceError when aliases expand beyond maxAliasCount.
    if (!(e instanceof ReferenceError)) throw e;
    const alias = firstAlias(doc);
    const p = lines.linePos(alias);
    return fail(`YAML aliases expand too much (${e.message}; limit: ${MAX_ALIAS_COUNT} alias expansions)`, 'write the values out, or use fewer nested aliases (*name)', p.line, p.col);
  }
  if (!isRecord(raw)) {
    ctx.report([], false, 'a pipeline file must be a map with a "stages:" key', 'see docs/pipeline-format.md');
    return { ok: false, diagnostics: diags };
  }
  return { ok: true, raw, ctx };
}

/**
 * Params: the pipeline's defaults with their environment references resolved (except those a --set
 * replaces: an unset variable must not fail a param the user overrides), then the params files, then the
 * --set overrides.
 */
function resolveParams(raw: { [k: string]: Json }, sets: readonly string[], workspace: string, ctx: Ctx): { params: { [k: string]: Json }; paramsFiles: string[] } {
  const params: { [k: string]: Json } = isRecord(raw.params) ? structuredClone(raw.params) : {};
  const overridden = new Set(sets.map((s) => s.slice(0, Math.max(0, s.indexOf('='))).split('.')[0]));
  for (const [name, value] of Object.entries(params)) {
    if (overridden.has(name)) continue;
    const { refs, errors } = collectRefs(value, ['params', name]);
    for (const { error, path } of errors) ctx.report(path, false, `${dotted(path)}: ${error.message}`, error.hint);
    if (errors.length) continue;
    const bad = refs.find((r) => r.ref.root !== 'env');
    if (bad) {
      ctx.report(bad.path, false, `${dotted(bad.path)}: a param may only reference \${env...}`, 'put derived values in the stages that use them');
      continue;
    }
    try {
      params[name] = resolveValue(value, (ref) => (ref.root === 'env' ? envValue(ctx.env, ref.name, ref.fallback, name) : null));
    } catch (e) {
      if (!(e instanceof InterpolationError)) throw e;
      ctx.report(['params', name], false, `params.${name}: ${e.message}`, e.hint);
    }
  }
  const listed = Array.isArray(raw.params_files) ? raw.params_files.filter((f): f is string => typeof f === 'string') : [];
  const files = readParamsFiles(listed, workspace, ctx.report, ctx.diags);
  const merged = deepMerge(params, files.params);
  applySets(merged, sets, ctx.diags);
  return { params: merged, paramsFiles: files.files };
}

/** Each stage is either a built-in kind or a command, with the fields that fit; loads the kinds. */
async function checkStageForms(
  stages: readonly StageDecl[],
  extraKinds: LoadOptions['kinds'],
  ctx: Ctx,
): Promise<Map<string, StageKind<unknown>>> {
  const kinds = new Map<string, StageKind<unknown>>();
  await Promise.all(
    stages.map(async (s) => {
      const at = ['stages', s.name];
      if ((s.uses === undefined) === (s.run === undefined)) {
        ctx.report(at, true, `stages.${s.name}: a stage needs exactly one of "uses" (a built-in kind) or "run" (a command)`, s.uses ? 'remove run: or uses:' : 'add uses: KIND or run: [program, args...]');
        return;
      }
      if (typeof s.uses === 'string') {
        for (const f of ['run', 'outs', 'shell', 'env', 'untracked', 'params', 'metrics', 'plots'] as const)
          if (s[f] !== undefined) ctx.report([...at, f], true, `stages.${s.name}.${f}: applies only to command stages (run:)`, 'remove it; built-in kinds declare their inputs in with: (and extra ones in deps:)');
        if (hasRefs(s.uses)) return; // chosen per matrix instance: matrixKinds
        const kind = extraKinds?.[s.uses] ?? (await loadKind(s.uses));
        if (!kind) {
          const all = [...new Set([...knownKinds(), ...Object.keys(extraKinds ?? {})])].sort();
          ctx.report([...at, 'uses'], false, `stages.${s.name}.uses: unknown stage kind "${s.uses}"`, all.length ? `known kinds: ${all.join(', ')}` : 'no built-in kinds are registered (src/stage-registry.ts)');
        } else kinds.set(s.name, kind);
      } else if (s.run !== undefined) {
        if (s.with !== undefined) ctx.report([...at, 'with'], true, `stages.${s.name}.with: applies only to built-in kinds (uses:)`, 'pass values to a command through run: arguments or env:');
        if (typeof s.run === 'string' && s.shell !== true)
          ctx.report([...at, 'run'], false, `stages.${s.name}.run: a single string needs "shell: true"`, 'write run as a list [program, arg, ...] (no shell), or add shell: true to run it with /bin/sh');
        if (Array.isArray(s.run) && s.shell === true)
          ctx.report([...at, 'run'], false, `stages.${s.name}.run: with "shell: true", run must be one string`, 'write the command line as one string, or drop shell: true');
        if (typeof s.run === 'string' && s.shell === true)
          for (const ref of quotedShellRefs(s.run))
            ctx.report([...at, 'run'], false, `stages.${s.name}.run: ${ref} is inside quotes`, 'write references unquoted: each value is inserted as one shell-quoted word');
        checkIngested(s, ctx);
      }
    }),
  );
  return kinds;
}

/**
 * `uses: "${matrix.dataset.kind}"`: the matrix value picks each instance's kind, so that one stage can
 * read datasets that need different kinds. The kinds must declare the same outputs (a reference to the
 * stage names one set), and such a stage cannot group (a group is one call of one kind). Returns stage ->
 * instance id -> kind; the first kind stands for the stage where one is needed (its outputs).
 */
async function matrixKinds(
  stages: readonly StageDecl[],
  matrices: ReadonlyMap<string, Record<string, MatrixValue>[]>,
  scope: ResolveScope,
  extraKinds: LoadOptions['kinds'],
  kinds: Map<string, StageKind<unknown>>,
  ctx: Ctx,
): Promise<Map<string, Map<string, StageKind<unknown>>>> {
  const out = new Map<string, Map<string, StageKind<unknown>>>();
  for (const s of stages) {
    if (typeof s.uses !== 'string' || !hasRefs(s.uses)) continue;
    const at = ['stages', s.name, 'uses'];
    if (s.group_by !== undefined) {
      ctx.report(at, false, `stages.${s.name}.uses: a kind chosen by the matrix cannot be combined with group_by: (a group is one call of one kind)`, 'remove group_by:, or write one stage per kind');
      continue;
    }
    // The kind is picked before any instance exists (a reference to a stage would find none): only
    // params, matrix values and the environment can pick it.
    const late = collectRefs(s.uses).refs.find(({ ref }) => ref.root !== 'params' && ref.root !== 'matrix' && ref.root !== 'env');
    if (late) {
      ctx.report(at, false, `stages.${s.name}.uses: can reference params, matrix values and the environment, not \${${late.ref.root}...}`, 'pick the kind with ${matrix.AXIS.KEY} or ${params.NAME}');
      continue;
    }
    const byId = new Map<string, StageKind<unknown>>();
    for (const matrix of matrices.get(s.name) ?? []) {
      const id = instanceId(s.name, matrix);
      let name: Json;
      try {
        name = resolveInstance(scope, { id, stage: s, matrix, upstream: [] }, s.uses, { output: () => null });
      } catch (e) {
        if (!(e instanceof InterpolationError)) throw e;
        ctx.report(at, false, `stages.${s.name}.uses: ${id}: ${e.message}`, e.hint);
        break;
      }
      const kind = typeof name === 'string' ? (extraKinds?.[name] ?? (await loadKind(name))) : undefined;
      if (kind) byId.set(id, kind);
      else ctx.report(at, false, `stages.${s.name}.uses: ${id} picks unknown stage kind ${JSON.stringify(name)}`, `known kinds: ${[...new Set([...knownKinds(), ...Object.keys(extraKinds ?? {})])].sort().join(', ')}`);
    }
    const chosen = [...new Set(byId.values())];
    const outputs = (k: StageKind<unknown>): string => Object.keys(k.outputs).sort().join(', ');
    const odd = chosen.find((k) => outputs(k) !== outputs(chosen[0]));
    if (odd) ctx.report(at, false, `stages.${s.name}.uses: the kinds it picks declare different outputs (${chosen[0].kind}: ${outputs(chosen[0])}; ${odd.kind}: ${outputs(odd)})`, 'pick kinds with the same outputs, or write one stage per kind');
    if (chosen.length) kinds.set(s.name, chosen[0]);
    out.set(s.name, byId);
  }
  return out;
}

/** `metrics:` and `plots:` name declared outs. */
function checkIngested(s: StageDecl, ctx: Ctx): void {
  const declared = Object.keys(s.outs ?? {});
  const hint = declared.length ? `declared outs: ${declared.join(', ')}` : 'declare it under outs: { NAME: file }';
  (s.metrics ?? []).forEach((name, i) => {
    if (!declared.includes(name)) ctx.report(['stages', s.name, 'metrics', i], false, `stages.${s.name}.metrics: "${name}" is not a declared output`, hint);
  });
  (s.plots ?? []).forEach((p, i) => {
    if (!declared.includes(p.out)) ctx.report(['stages', s.name, 'plots', i, 'out'], false, `stages.${s.name}.plots[${i}].out: "${p.out}" is not a declared output`, hint);
  });
}

/** Each stage's matrix points (the cartesian product of its axes); a stage with a bad axis has none. */
function expandMatrices(stages: readonly StageDecl[], params: { [k: string]: Json }, workspace: string, ctx: Ctx): Map<string, Record<string, MatrixValue>[]> {
  const matrices = new Map<string, Record<string, MatrixValue>[]>();
  for (const s of stages) {
    const axes: [string, MatrixValue[]][] = [];
    let ok = true;
    for (const [axis, spec] of Object.entries(isRecord(s.matrix) ? s.matrix : {})) {
      const values = axisValues(s.name, axis, spec, params, workspace, ctx);
      if (values) axes.push([axis, values]);
      else ok = false;
    }
    if (!ok) continue;
    // Checked on the product before expanding: a 10-axis matrix must not exhaust memory first.
    const count = axes.reduce((n, [, values]) => n * values.length, 1);
    if (count > MAX_INSTANCES_PER_STAGE) {
      const sizes = axes.map(([axis, values]) => `${axis}: ${values.length}`).join(' x ');
      ctx.report(['stages', s.name, 'matrix'], true, `stages.${s.name}.matrix: ${count.toLocaleString('en')} instances (${sizes}) exceed the limit of ${MAX_INSTANCES_PER_STAGE.toLocaleString('en')} per stage`, 'split the sweep into several stages or runs (--set), or use fewer axis values');
      continue;
    }
    matrices.set(s.name, cartesian(axes));
  }
  return matrices;
}

function axisValues(stage: string, axis: string, spec: Json, params: { [k: string]: Json }, workspace: string, ctx: Ctx): MatrixValue[] | undefined {
  const at = ['stages', stage, 'matrix', axis];
  let values: Json;
  try {
    values = resolveValue(spec, (ref) => (ref.root === 'params' ? paramValue(params, ref.name, ref.path) : bad(ref.root)));
  } catch (e) {
    if (!(e instanceof InterpolationError)) throw e;
    ctx.report(at, false, `stages.${stage}.matrix.${axis}: ${e.message}`, e.hint);
    return undefined;
  }
  if (isRecord(values)) {
    if (typeof values.glob !== 'string') return undefined; // the schema reports the form
    try {
      return globAxisValues(values.glob, axis, workspace);
    } catch (e) {
      if (!(e instanceof GlobAxisError)) throw e;
      ctx.report([...at, 'glob'], false, `stages.${stage}.matrix.${axis}: ${e.message}`, e.hint);
      return undefined;
    }
  }
  const from = typeof spec === 'string' ? ` (the param ${spec} holds ${JSON.stringify(values)})` : '';
  if (!Array.isArray(values) || values.length === 0) {
    // A literal empty list is the schema's error already.
    if (typeof spec !== 'string') return undefined;
    ctx.report(at, false, `stages.${stage}.matrix.${axis}: must be a non-empty list of values${from}`, 'e.g. seed: [0, 1, 2], features: [[a, b], [a]], or dataset: [{ name: mnist, classes: 10 }]');
    return undefined;
  }
  let ok = true;
  values.forEach((v, i) => {
    const problem = matrixValueProblem(v);
    if (!problem) return;
    ctx.report(typeof spec === 'string' ? at : [...at, i], false, `stages.${stage}.matrix.${axis}[${i}]: ${problem}${from}`, 'matrix values are scalars, lists of scalars, or maps with a name: (docs/pipeline-format.md)');
    ok = false;
  });
  return ok ? values : undefined;
}

/** Checks every reference of every stage and returns, per stage, the stages it reads from or needs. */
type Pins = { readonly [axis: string]: string };
/** Stage -> the stages it depends on -> how each reference selects their instances (pins, or shared axes). */
type StageDeps = Map<string, Map<string, (Pins | undefined)[]>>;

function stageGraph(
  stages: readonly StageDecl[],
  stageByName: ReadonlyMap<string, StageDecl>,
  kinds: ReadonlyMap<string, StageKind<unknown>>,
  params: { [k: string]: Json },
  ctx: Ctx,
): StageDeps {
  const stageDeps: StageDeps = new Map();
  const stageList = () => stages.map((x) => x.name).join(', ');
  for (const s of stages) {
    const deps = new Map<string, (Pins | undefined)[]>();
    stageDeps.set(s.name, deps);
    const add = (name: string, pins?: Pins): void => {
      const refs = deps.get(name) ?? [];
      if (!refs.some((p) => JSON.stringify(p) === JSON.stringify(pins))) deps.set(name, [...refs, pins]);
    };
    const axes = new Set(Object.keys(isRecord(s.matrix) ? s.matrix : {}));
    const fields: [string, Json | undefined][] = [
      ['with', s.with],
      ['run', s.run],
      ['deps', s.deps as Json | undefined],
      ['outs', s.outs as Json | undefined],
      ['env', s.env as Json | undefined],
      ['untracked', s.untracked],
    ];
    const depNames = s.deps && !Array.isArray(s.deps) ? Object.keys(s.deps) : [];
    for (const [field, value] of fields) {
      const { refs, errors } = collectRefs(value ?? null, ['stages', s.name, field]);
      for (const { error, path } of errors) ctx.report(path, false, `${dotted(path)}: ${error.message}`, error.hint);
      for (const { ref, path } of refs) {
        const where = dotted(path);
        const grouping = groupRefProblem(s, field, ref);
        if (grouping) ctx.report(path, false, `${where}: ${grouping.message}`, grouping.hint);
        else if (ref.root === 'params') {
          try {
            paramValue(params, ref.name, ref.path);
          } catch (e) {
            if (!(e instanceof InterpolationError)) throw e;
            ctx.report(path, false, `${where}: ${e.message}`, e.hint);
          }
        }
        else if (ref.root === 'matrix' && !axes.has(ref.axis) && !forEachAxesAt(value, path.slice(3)).includes(ref.axis))
          ctx.report(path, false, `${where}: unknown matrix axis "${ref.axis}"`, axes.size ? `axes of ${s.name}: ${[...axes].join(', ')}` : `stage ${s.name} has no matrix: add matrix: { ${ref.axis}: [...] }`);
        else if (ref.root === 'env' && ref.fallback === undefined && !ctx.env[ref.name]) {
          const e = unsetEnv(ref.name);
          ctx.report(path, false, `${where}: ${e.message}`, e.hint);
        }
        else if (ref.root === 'outs' && (field === 'with' || field === 'outs' || !(s.outs && ref.name in s.outs)))
          ctx.report(path, false, `${where}: unknown output "${ref.name}" in \${outs.${ref.name}}`, s.outs ? `declared outs: ${Object.keys(s.outs).join(', ')}` : 'declare it under outs: { NAME: file }');
        else if (ref.root === 'deps' && (field === 'deps' || field === 'outs' || !depNames.includes(ref.name)))
          ctx.report(path, false, `${where}: ${field === 'deps' || field === 'outs' ? `\${deps...} cannot be used in ${field}:` : `unknown dep "${ref.name}"`}`, depNames.length ? `named deps of ${s.name}: ${depNames.join(', ')}` : 'name the dep in the map form: deps: { NAME: path }');
        else if (ref.root === 'resources' && (s.uses !== undefined || (field !== 'run' && field !== 'env')))
          ctx.report(path, false, `${where}: \${resources.${ref.name}} is only available in run: and env: of a command stage`, 'built-in kinds size themselves in code');
        else if (ref.root === 'stages') {
          const up = stageByName.get(ref.stage);
          if (!up) ctx.report(path, false, `${where}: unknown stage "${ref.stage}"`, `stages: ${stageList()}`);
          else if (up.uses && !kinds.has(up.name)) add(up.name, ref.pins);
          else {
            const outs = outputNames(up, kinds.get(up.name));
            if (ref.outputFrom && !axes.has(ref.outputFrom.axis) && !forEachAxesAt(value, path.slice(3)).includes(ref.outputFrom.axis))
              ctx.report(path, false, `${where}: unknown matrix axis "${ref.outputFrom.axis}"`, axes.size ? `axes of ${s.name}: ${[...axes].join(', ')}` : `stage ${s.name} has no matrix`);
            else if (!ref.outputFrom && !outs.includes(ref.output)) ctx.report(path, false, `${where}: stage "${ref.stage}" has no output "${ref.output}"`, `outputs of ${ref.stage}: ${outs.join(', ') || 'none'}`);
            const upAxes = Object.keys(isRecord(up.matrix) ? up.matrix : {});
            for (const axis of Object.keys(ref.pins ?? {}).filter((a) => !upAxes.includes(a)))
              ctx.report(path, false, `${where}: stage "${ref.stage}" has no matrix axis "${axis}"`, upAxes.length ? `axes of ${ref.stage}: ${upAxes.join(', ')}` : `${ref.stage} has one instance: reference it as \${stages.${ref.stage}.outputs.${ref.output}}`);
            add(up.name, ref.pins);
          }
        }
      }
    }
    (Array.isArray(s.params) ? s.params : []).forEach((key, i) => {
      const [name, ...rest] = String(key).split('.');
      try {
        paramValue(params, name, rest);
      } catch (e) {
        if (!(e instanceof InterpolationError)) throw e;
        ctx.report(['stages', s.name, 'params', i], false, `stages.${s.name}.params[${i}]: ${e.message}`, e.hint);
      }
    });
    (Array.isArray(s.needs) ? s.needs : []).forEach((n, i) => {
      if (!stageByName.has(n)) ctx.report(['stages', s.name, 'needs', i], false, `stages.${s.name}.needs: unknown stage "${n}"`, `stages: ${stageList()}`);
      else add(n);
    });
  }
  return stageDeps;
}

/** Stages upstream first (DFS); each cycle is reported with its members. */
function topologicalOrder(stages: readonly StageDecl[], stageDeps: StageDeps, ctx: Ctx): string[] {
  const order: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      const cycle = [...stack.slice(stack.indexOf(n)), n];
      ctx.report(['stages', n], true, `dependency cycle: ${cycle.join(' -> ')}`, 'remove one of these references or needs: entries');
      return;
    }
    state.set(n, 'open');
    stack.push(n);
    for (const d of stageDeps.get(n)?.keys() ?? []) visit(d);
    stack.pop();
    state.set(n, 'done');
    order.push(n);
  };
  for (const s of stages) visit(s.name);
  return order;
}

/** Instances, in stage topological order, each with the upstream instances its matrix point matches. */
function buildInstances(
  order: readonly string[],
  stageByName: ReadonlyMap<string, StageDecl>,
  matrices: ReadonlyMap<string, Record<string, MatrixValue>[]>,
  stageDeps: StageDeps,
  kinds: ReadonlyMap<string, StageKind<unknown>>,
  pointKinds: ReadonlyMap<string, ReadonlyMap<string, StageKind<unknown>>>,
  ctx: Ctx,
): { instances: Instance[]; byId: Map<string, Instance>; byStage: Map<string, Instance[]> } {
  const instances: Instance[] = [];
  const byId = new Map<string, Instance>();
  const byStage = new Map<string, Instance[]>();
  for (const name of order) {
    const s = stageByName.get(name)!;
    for (const m of matrices.get(name) ?? [{}]) {
      const id = instanceId(name, m);
      const upstream = new Set<string>();
      // A reference that names an instance (`${stages.S@AXIS=V.outputs.O}`) waits for that one only.
      for (const [d, refs] of stageDeps.get(name) ?? [])
        for (const pins of refs) for (const u of matchUpstream(byStage, pins ? { ...m, ...pins } : m, d).instances) upstream.add(u.id);
      const kind = pointKinds.get(name)?.get(id) ?? kinds.get(name);
      const inst: Instance = { id, stage: s, matrix: m, ...(kind ? { kind } : {}), upstream: [...upstream].sort() };
      if (byId.has(id)) {
        ctx.report(['stages', name, 'matrix'], false, `stages.${name}: two matrix points give the same instance id "${id}"`, 'make the axis values distinct as text (e.g. 1 and "1" collide)');
        continue;
      }
      byId.set(id, inst);
      instances.push(inst);
      const list = byStage.get(name) ?? [];
      list.push(inst);
      byStage.set(name, list);
    }
  }
  return { instances, byId, byStage };
}

/**
 * Each built-in stage's with: against its kind's params schema, per instance (values resolved; a
 * stage output stands in as a placeholder path).
 */
function checkKindParams(instances: readonly Instance[], scope: ResolveScope, ctx: Ctx): void {
  for (const inst of instances) {
    if (!inst.kind) continue;
    const base: JsonPath = ['stages', inst.stage.name, 'with'];
    let value: Json;
    try {
      value = resolveInstance(scope, inst, inst.stage.with ?? {}, {
        output: (u, o) => `/placeholder/${u.id}/${o}`,
      });
    } catch (e) {
      if (!(e instanceof InterpolationError)) throw e;
      ctx.report(base, true, `${dotted(base)}: ${inst.id}: ${e.message}`, e.hint);
      continue;
    }
    const validate = paramsValidator(inst.kind);
    if (!validate(value)) ajvDiagnostics(validate.errors ?? [], base, ctx.report);
  }
}

function bad(root: string): never {
  throw new InterpolationError(`a matrix axis may only reference \${params...}, not \${${root}...}`, 'list the values, or hold them in a param');
}

function dedupe(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out = diags.filter((d) => {
    const k = `${d.file}:${d.line}:${d.col}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}

export { formatDiagnostic } from './diagnostic.js';
