// Listing image files of a dataset tree: sorted, relative, '/'-separated, so ids and manifests do not
// depend on the file system's readdir order or on the platform.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.gif', '.bmp', '.webp', '.tif', '.tiff']);

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Sub-directory names of `dir` (symlinks to directories included), sorted, hidden ones skipped. */
export function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || (d.isSymbolicLink() && isDir(join(dir, d.name)))))
    .map((d) => d.name)
    .sort();
}

/** Image files under `dir` (recursively), as paths relative to `dir` with '/' separators, sorted. */
export function listImages(dir: string): string[] {
  const out: string[] = [];
  // Relative paths are built while walking: path.relative on 300k files costs more than the walk.
  const walk = (d: string, prefix: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      // Datasets are often assembled from symlinked folders: follow links (a dangling one is skipped).
      const dir = e.isDirectory() || (e.isSymbolicLink() && isDir(join(d, e.name)));
      if (dir) walk(join(d, e.name), `${prefix}${e.name}/`);
      else if ((e.isFile() || e.isSymbolicLink()) && isImageFile(e.name)) out.push(prefix + e.name);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** A manifest id from a path relative to the dataset root: the path without its extension. */
export function idFromRelative(rel: string): string {
  const ext = extname(rel);
  return ext ? rel.slice(0, -ext.length) : rel;
}
