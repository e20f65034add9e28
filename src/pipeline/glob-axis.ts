// A matrix axis from file names, as Snakemake's glob_wildcards: `{ glob: "data/{sample}.fastq" }` takes
// the values of `{sample}` from the paths that exist. Written here rather than with a glob library: what
// is needed is the captured wildcard per path, which glob libraries do not return, and the walk only
// lists the directories the pattern names.
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export class GlobAxisError extends Error {
  override readonly name = 'GlobAxisError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
}

/**
 * A path segment with `{axis}` wildcards as an anchored regex: the first captures the value (group `v`),
 * later ones repeat it; a value captured by an earlier segment (`known`) is matched literally.
 */
function segmentRegex(seg: string, known: string | undefined): RegExp {
  let re = '';
  let captured = false;
  for (const part of seg.split(/(\{[^}]*\})/)) {
    if (!part.startsWith('{')) re += escapeRe(part);
    else if (known !== undefined) re += escapeRe(known);
    else if (captured) re += '\\k<v>';
    else {
      re += '(?<v>.+?)';
      captured = true;
    }
  }
  return new RegExp(`^${re}$`);
}

/** The sorted, distinct values of `{axis}` over the existing paths that match `pattern` (workspace-relative). */
export function globAxisValues(pattern: string, axis: string, workspace: string): string[] {
  const wildcards = [...pattern.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
  if (!wildcards.length) throw new GlobAxisError(`glob "${pattern}" has no {${axis}} wildcard`, `mark the part of the file name that is the value, e.g. "data/{${axis}}.csv"`);
  const other = wildcards.find((w) => w !== axis);
  if (other !== undefined) throw new GlobAxisError(`glob "${pattern}" uses the wildcard {${other}}; an axis glob may only use {${axis}}`, `write {${axis}}, or make ${other} its own axis`);
  const segs = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  const root = isAbsolute(pattern) ? '/' : workspace;
  const values = new Set<string>();
  const walk = (dir: string, i: number, value: string | undefined): void => {
    if (i === segs.length) {
      if (value !== undefined) values.add(value);
      return;
    }
    const seg = segs[i];
    if (seg === '') return walk(dir, i + 1, value);
    if (!seg.includes('{')) {
      const next = join(dir, seg);
      if (exists(next, i === segs.length - 1)) walk(next, i + 1, value);
      return;
    }
    const re = segmentRegex(seg, value);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      // Hidden files (editor swap files, .DS_Store) are not samples unless the pattern says so.
      if (name.startsWith('.') && !seg.startsWith('.')) continue;
      const m = re.exec(name);
      if (m) walk(join(dir, name), i + 1, value ?? m.groups?.v);
    }
  };
  walk(root, 0, undefined);
  if (!values.size) throw new GlobAxisError(`glob "${pattern}" matches no file`, 'check the pattern (relative to the workspace), or add the files');
  return [...values].sort();
}

function exists(path: string, last: boolean): boolean {
  try {
    const st = statSync(path);
    return last || st.isDirectory();
  } catch {
    return false;
  }
}
