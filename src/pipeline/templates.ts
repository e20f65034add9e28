// Stage templates: `templates:` at the top level holds partial stages, and a stage (or another
// template) says `extends: NAME` to start from one. Maps merge deeply, the stage's values winning
// (so a template's `with:` block is written once and each stage adds or overrides keys); lists and
// scalars are replaced whole. This is what lets a pipeline name a concept once (a training recipe, an
// embedding model) instead of repeating its block per stage.
import type { Json } from '../stage-api.js';
import type { JsonPath } from './locate.js';

type Report = (path: JsonPath, key: boolean, message: string, hint?: string) => void;
type Obj = { [k: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` merged onto `base`: maps key by key (base's key order first), anything else replaced. */
export function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** The stages of a parsed pipeline file, each merged onto the template it extends (if any). */
export function applyTemplates(raw: Obj, report: Report): [string, Obj][] {
  const templates = isObj(raw.templates) ? raw.templates : {};
  const resolved = new Map<string, Obj | undefined>();
  const names = () => Object.keys(templates).join(', ') || 'none (declare them under templates:)';
  // A template with its own `extends:` chain merged in; undefined when the chain is broken (reported).
  const template = (name: string, stack: string[]): Obj | undefined => {
    if (resolved.has(name)) return resolved.get(name);
    const t = templates[name];
    if (!isObj(t)) return undefined;
    let out: Obj | undefined = t;
    if (typeof t.extends === 'string') {
      if (stack.includes(t.extends) || t.extends === name) {
        report(['templates', name, 'extends'], false, `templates.${name}.extends: template cycle ${[...stack, name, t.extends].join(' -> ')}`, 'remove one of these extends:');
        out = undefined;
      } else if (!isObj(templates[t.extends])) {
        report(['templates', name, 'extends'], false, `templates.${name}.extends: unknown template "${t.extends}"`, `templates: ${names()}`);
        out = undefined;
      } else {
        const base = template(t.extends, [...stack, name]);
        out = base && deepMerge(base, t);
      }
    }
    resolved.set(name, out);
    return out;
  };
  const stages = isObj(raw.stages) ? Object.entries(raw.stages).filter((e): e is [string, Obj] => isObj(e[1])) : [];
  return stages.map(([name, s]) => {
    if (typeof s.extends !== 'string') return [name, s];
    if (!isObj(templates[s.extends])) {
      report(['stages', name, 'extends'], false, `stages.${name}.extends: unknown template "${s.extends}"`, `templates: ${names()}`);
      return [name, s];
    }
    const t = template(s.extends, []);
    return [name, t ? deepMerge(t, s) : s];
  });
}
