// Differences between two sets of key components: what `pipe status` and `pipe run --dry-run` report
// as the reason an instance is out of date.
import type { Json } from '../stage-api.js';
import { KEY_SCHEME } from './keys.js';

export interface Change {
  /** Which part of the key changed. */
  readonly what: 'code' | 'param' | 'input' | 'env';
  readonly field: string;
  /** JSON text of the value (hashes shortened); null when absent on that side. */
  readonly old: string | null;
  readonly new: string | null;
}

const GROUPS: Record<string, Change['what']> = { code: 'code', params: 'param', inputs: 'input', env: 'env' };

function flatten(v: Json | undefined, prefix: string, out: Map<string, string>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(v) && v.length && v.some((x) => x !== null && typeof x === 'object')) {
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else if (Array.isArray(v) && prefix.endsWith('argv')) {
    // Argument lists diff per argument: "argv[4]: "4" -> "5"".
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else if (v !== undefined) {
    const s = typeof v !== 'string' ? JSON.stringify(v) : /^[0-9a-f]{64}$/.test(v) ? v.slice(0, 12) : /^sha256:[0-9a-f]{64}$/.test(v) ? v.slice(0, 19) : JSON.stringify(v);
    out.set(prefix, s.length > 120 ? `${s.slice(0, 117)}...` : s);
  }
}

/** Leaf-level differences between two component sets. */
export function diffComponents(oldC: Json, newC: Json): Change[] {
  const out: Change[] = [];
  for (const [group, what] of Object.entries(GROUPS)) {
    const a = new Map<string, string>();
    const b = new Map<string, string>();
    const get = (c: Json, g: string): Json | undefined => (c && typeof c === 'object' && !Array.isArray(c) ? c[g] : undefined);
    flatten(get(oldC, group), '', a);
    flatten(get(newC, group), '', b);
    for (const f of new Set([...a.keys(), ...b.keys()]))
      if (a.get(f) !== b.get(f)) out.push({ what, field: f || group, old: a.get(f) ?? null, new: b.get(f) ?? null });
  }
  return out;
}


/**
 * Why an instance whose components equal its last result's is not up to date: that result's outputs are
 * gone (the same key), or the key recipe changed since (another key from the same components: a
 * KEY_SCHEME bump, docs/engine.md "Key scheme").
 */
export function sameComponentsReason(prevKey: string, key: string): string {
  return prevKey === key ? 'same inputs, but the stored outputs are gone' : `same inputs, but keys are computed differently since it ran (key scheme ${KEY_SCHEME}, docs/engine.md): it runs once again`;
}

/** For --dry-run: what changed since an instance's last result (like `pipe status`, in one line). */
export function staleReason(prev: { key: string; components: Json } | undefined, now: Json, key: string): string {
  if (prev === undefined) return 'never ran';
  const changes = diffComponents(prev.components, now);
  if (!changes.length) return sameComponentsReason(prev.key, key);
  const shown = changes.slice(0, 3).map((c) => `${c.what} ${c.field}: ${c.old ?? '(none)'} -> ${c.new ?? '(none)'}`);
  return shown.join('; ') + (changes.length > 3 ? `; +${changes.length - 3} more` : '');
}
