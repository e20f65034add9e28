// Output paths of command stages must stay inside the stage's private output directory: an absolute path
// or one that climbs out with `..` would write (and commit) a file anywhere the user can write.
import { posix } from 'node:path';
import type { JsonPath } from './locate.js';
import type { StageDecl } from './types.js';

/** File name the store keeps in every entry (see src/engine/entry.ts); no output may take it. */
export const ENTRY_MANIFEST = '.pipe-entry.json';

type Report = (path: JsonPath, key: boolean, message: string, hint?: string) => void;

/** What is wrong with an `outs:` path, and the fix; undefined when it is a normalised relative path. */
export function outPathProblem(rel: string): { message: string; hint: string } | undefined {
  // The suggestion keeps the file's name; `..` or `/` has none worth keeping.
  const name = posix.basename(rel.replace(/\\/g, '/'));
  const base = name && name !== '..' ? name : 'out';
  if (posix.isAbsolute(rel) || /^[A-Za-z]:[\\/]/.test(rel) || rel.startsWith('\\'))
    return { message: `"${rel}" is an absolute path, outside the stage's output directory`, hint: `write a path relative to the output directory, e.g. "${base}" (publish: copies an output to a workspace path)` };
  const norm = posix.normalize(rel);
  if (norm === '..' || norm.startsWith('../'))
    return { message: `"${rel}" climbs out of the stage's output directory`, hint: `write a path inside it, e.g. "${base}" (publish: copies an output to a workspace path)` };
  if (norm === '.' || norm === './') return { message: `"${rel}" names the output directory itself`, hint: 'name a file or directory inside it, e.g. "out"' };
  if (norm !== rel) return { message: `"${rel}" is not normalised`, hint: `write "${norm.replace(/\/$/, '')}"` };
  if (norm.replace(/\/$/, '').split('/')[0] === ENTRY_MANIFEST) return { message: `"${rel}" is reserved for the store's manifest`, hint: 'choose another name' };
  return undefined;
}

/** Reports every `outs:` path of a command stage that is not inside its output directory. */
export function checkOutsConfined(stages: readonly StageDecl[], raw: (name: string) => { [k: string]: unknown }, report: Report): void {
  for (const s of stages) {
    const rawOuts = raw(s.name)?.outs;
    for (const [name, rel] of Object.entries(s.outs ?? {})) {
      const problem = outPathProblem(rel);
      if (!problem) continue;
      const long = rawOuts && typeof rawOuts === 'object' && typeof (rawOuts as Record<string, unknown>)[name] === 'object';
      report(['stages', s.name, 'outs', name, ...(long ? ['path'] : [])], false, `stages.${s.name}.outs.${name}: ${problem.message}`, problem.hint);
    }
  }
}
