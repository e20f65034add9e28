// Built-in stage kinds: lazy loading through the registry, and their params validators (ajv, cached
// per kind so a 1,000-instance matrix stage compiles its schema once).
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { Json, JsonSchema, StageKind } from '../stage-api.js';
import { STAGE_KINDS } from '../stage-registry.js';
import { compiledValidator } from './validators.js';

const kinds = new Map<string, Promise<StageKind<unknown> | undefined>>();
const validators = new WeakMap<StageKind<unknown>, ValidateFunction>();

export function knownKinds(): string[] {
  return Object.keys(STAGE_KINDS).sort();
}

export function loadKind(name: string): Promise<StageKind<unknown> | undefined> {
  let p = kinds.get(name);
  if (!p) {
    const load = STAGE_KINDS[name];
    p = load ? load().then((m) => m.default) : Promise.resolve(undefined);
    kinds.set(name, p);
  }
  return p;
}

export function paramsValidator(kind: StageKind<unknown>): ValidateFunction {
  let v = validators.get(kind);
  if (!v) {
    v = compiledValidator(kind.params);
    validators.set(kind, v);
  }
  return v;
}

/** Output names of a stage: a kind's declared outputs plus `metrics`, or a command's `outs`. */
export function outputNames(stage: { uses?: string; outs?: Readonly<Record<string, string>> }, kind?: StageKind<unknown>): string[] {
  if (stage.uses) return kind ? [...Object.keys(kind.outputs), 'metrics'] : [];
  return Object.keys(stage.outs ?? {});
}

/**
 * Calls `fn` on every string of `value` that the schema marks `format: "path"`, at any depth (object
 * properties, additionalProperties, array items, anyOf/oneOf/allOf branches); `fn` returns the
 * replacement. Returns a new value.
 */
export function mapPathParams(schema: JsonSchema | undefined, value: Json, fn: (p: string) => Json): Json {
  if (!schema || typeof schema !== 'object') return value;
  if (schema.format === 'path' && typeof value === 'string') return fn(value);
  let out = value;
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches))
      for (const b of branches) out = mapPathParams(b as JsonSchema, out, fn);
  }
  if (Array.isArray(out)) {
    const items = schema.items;
    if (items && typeof items === 'object' && !Array.isArray(items))
      return out.map((v) => mapPathParams(items as JsonSchema, v, fn));
    return out;
  }
  if (out && typeof out === 'object') {
    const props = (schema.properties ?? {}) as { [k: string]: JsonSchema };
    const extra = schema.additionalProperties;
    const res: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(out)) {
      const sub = props[k] ?? (extra && typeof extra === 'object' && !Array.isArray(extra) ? (extra as JsonSchema) : undefined);
      res[k] = mapPathParams(sub, v, fn);
    }
    return res;
  }
  return out;
}
