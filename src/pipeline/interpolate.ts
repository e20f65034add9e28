// `${...}` references: parsing (with a cache, since matrix stages repeat the same strings) and
// resolution. A string that is exactly one reference takes the referenced value with its type; a
// reference inside a longer string becomes text. `$${` is a literal `${`.
import type { Json } from '../stage-api.js';

export type Ref =
  | { readonly root: 'params'; readonly name: string; readonly path: readonly string[] }
  | { readonly root: 'matrix'; readonly axis: string; readonly path: readonly string[] }
  | { readonly root: 'env'; readonly name: string; readonly fallback?: string }
  /**
   * `pins`: `${stages.S@AXIS=LABEL,....outputs.O}`, the instance of S with those matrix values.
   * `outputFrom`: `${stages.S.outputs[matrix.AXIS.KEY]}`, the output named by a matrix value (`output` is
   * then the bracketed text, for messages).
   */
  | {
      readonly root: 'stages';
      readonly stage: string;
      readonly output: string;
      readonly pins?: { readonly [axis: string]: string };
      readonly outputFrom?: { readonly axis: string; readonly path: readonly string[] };
    }
  | { readonly root: 'outs'; readonly name: string }
  | { readonly root: 'deps'; readonly name: string }
  | { readonly root: 'resources'; readonly name: 'cpu' | 'gpu' | 'memory_mb' }
  /** `${group.members}`: the members file of a grouped command stage's call. */
  | { readonly root: 'group'; readonly name: 'members' };

export type Segment = { readonly text: string } | { readonly ref: Ref; readonly raw: string };

export class InterpolationError extends Error {
  override readonly name = 'InterpolationError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const REF_FORMS =
  'params.NAME, matrix.AXIS, matrix.AXIS.KEY, env.NAME, env.NAME:-default, stages.STAGE.outputs.OUTPUT, stages.STAGE@AXIS=VALUE.outputs.OUTPUT, stages.STAGE.outputs[matrix.AXIS.KEY], outs.OUTPUT, deps.NAME, resources.cpu|gpu|memory_mb or group.members';

function parseRef(body: string): Ref {
  let m: RegExpExecArray | null;
  if ((m = /^params\.([A-Za-z_][\w-]*)((?:\.[\w-]+)*)$/.exec(body)))
    return { root: 'params', name: m[1], path: m[2] ? m[2].slice(1).split('.') : [] };
  if ((m = /^matrix\.([A-Za-z_][\w-]*)((?:\.[\w-]+)*)$/.exec(body)))
    return { root: 'matrix', axis: m[1], path: m[2] ? m[2].slice(1).split('.') : [] };
  if ((m = /^env\.([A-Za-z_]\w*)(?::-(.*))?$/s.exec(body)))
    return m[2] === undefined ? { root: 'env', name: m[1] } : { root: 'env', name: m[1], fallback: m[2] };
  if ((m = /^stages\.([a-z0-9][\w-]*)(?:@(.+?))?\.outputs(?:\.([A-Za-z_][\w-]*)|\[matrix\.([A-Za-z_][\w-]*)((?:\.[\w-]+)*)\])$/.exec(body))) {
    const [, stage, pins, output, axis, path] = m;
    return {
      root: 'stages',
      stage,
      output: output ?? `[matrix.${axis}${path}]`,
      ...(pins === undefined ? {} : { pins: parsePins(pins, body) }),
      ...(axis === undefined ? {} : { outputFrom: { axis, path: path ? path.slice(1).split('.') : [] } }),
    };
  }
  if ((m = /^outs\.([A-Za-z_][\w-]*)$/.exec(body))) return { root: 'outs', name: m[1] };
  if ((m = /^deps\.([A-Za-z_][\w-]*)$/.exec(body))) return { root: 'deps', name: m[1] };
  if ((m = /^resources\.(cpu|gpu|memory_mb)$/.exec(body))) return { root: 'resources', name: m[1] as 'cpu' | 'gpu' | 'memory_mb' };
  if (body === 'group.members') return { root: 'group', name: 'members' };
  throw new InterpolationError(`bad reference "\${${body}}"`, `write one of \${${REF_FORMS}}`);
}

/** `dataset=iaps,seed=3` (the part of an instance id after `@`) as axis -> label. */
function parsePins(text: string, body: string): { [axis: string]: string } {
  const pins: { [axis: string]: string } = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new InterpolationError(`bad instance "${text}" in "\${${body}}"`, 'write the matrix values as in its id: ${stages.STAGE@AXIS=VALUE,AXIS=VALUE.outputs.OUTPUT}');
    pins[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return pins;
}

const cache = new Map<string, readonly Segment[]>();

/** Splits a string into text and references; throws InterpolationError on bad syntax. */
export function parseTemplate(s: string): readonly Segment[] {
  const hit = cache.get(s);
  if (hit) return hit;
  const out: Segment[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      text += '${';
      i += 3;
    } else if (s.startsWith('${', i)) {
      const end = s.indexOf('}', i + 2);
      if (end < 0) throw new InterpolationError(`unclosed "\${" in "${s}"`, 'close the reference with "}" (write "$${" for a literal "${")');
      if (text) out.push({ text });
      text = '';
      const raw = s.slice(i, end + 1);
      out.push({ ref: parseRef(s.slice(i + 2, end).trim()), raw });
      i = end + 1;
    } else {
      text += s[i];
      i++;
    }
  }
  if (text || out.length === 0) out.push({ text });
  cache.set(s, out);
  return out;
}

export function hasRefs(s: string): boolean {
  return s.includes('${');
}

/** Every reference inside a JSON value, with the JSON path of the string that holds it. */
export function collectRefs(
  value: Json | undefined,
  path: (string | number)[] = [],
  out: { ref: Ref; path: (string | number)[] }[] = [],
  errors: { error: InterpolationError; path: (string | number)[] }[] = [],
): { refs: typeof out; errors: typeof errors } {
  if (typeof value === 'string') {
    if (hasRefs(value)) {
      try {
        for (const seg of parseTemplate(value)) if ('ref' in seg) out.push({ ref: seg.ref, path });
      } catch (e) {
        if (!(e instanceof InterpolationError)) throw e;
        errors.push({ error: e, path });
      }
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => collectRefs(v, [...path, i], out, errors));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) collectRefs(v, [...path, k], out, errors);
  }
  return { refs: out, errors };
}

function toText(v: Json, raw: string): string {
  if (v === null || typeof v === 'object')
    throw new InterpolationError(
      `${raw} is a ${Array.isArray(v) ? 'list' : v === null ? 'null' : 'map'} and cannot be embedded in a longer string`,
      'make the string exactly the reference to pass the value itself',
    );
  return String(v);
}

/** Replaces references in a JSON value (deeply) with what `lookup` returns for them. */
export function resolveValue(value: Json, lookup: (ref: Ref, raw: string) => Json): Json {
  if (typeof value === 'string') {
    if (!hasRefs(value)) return value;
    const segs = parseTemplate(value);
    if (segs.length === 1 && 'ref' in segs[0]) return lookup(segs[0].ref, segs[0].raw);
    let s = '';
    for (const seg of segs) s += 'ref' in seg ? toText(lookup(seg.ref, seg.raw), seg.raw) : seg.text;
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, lookup));
  if (value && typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveValue(v, lookup);
    return out;
  }
  return value;
}
