// Finds data files shipped with the project (taxonomies/, data/synonyms/) from this module's location,
// which is src/data/ when run from source (vitest) and dist/src/data/ when compiled.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory that holds the project's package.json and `taxonomies/`. */
export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'taxonomies'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('pipe: cannot find the project root (package.json + taxonomies/) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function projectFile(...parts: string[]): string {
  return join(projectRoot(), ...parts);
}
