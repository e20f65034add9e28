// Listing image files of a dataset tree: sorted, relative, '/'-separated, so ids and manifests do not
// depend on the file system's readdir order or on the platform.
import { readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { dataError } from './errors.js';

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

/** A symbolic link to a directory: refused, naming the link, when it leads back into its own ancestry. */
function linkedDir(link: string, ancestors: readonly string[]): boolean {
  let real: string;
  try {
    real = realpathSync(link);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw dataError(link, `symbolic link loop (-> ${readlinkSync(link)})`, 'Remove the link or point it at a real folder.');
    return false; // dangling: skipped
  }
  if (!statSync(real).isDirectory()) return false;
  if (ancestors.some((a) => a === real || a.startsWith(`${real}/`)))
    throw dataError(link, `symbolic link loop: it points to ${real}, a folder that contains the link`, 'Remove the link or point it outside the dataset folder.');
  return true;
}

/** Image files under `dir` (recursively), as paths relative to `dir` with '/' separators, sorted. */
export function listImages(dir: string): string[] {
  const out: string[] = [];
  // Relative paths are built while walking: path.relative on 300k files costs more than the walk. The real
  // paths of the folders being walked detect a link that leads back into them (else the walk would repeat
  // the tree until the path is too long).
  const walk = (d: string, prefix: string, parents: readonly string[]): void => {
    const ancestors = [...parents, realpathSync(d)];
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      // Datasets are often assembled from symlinked folders: follow links (a dangling one is skipped).
      const path = join(d, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && linkedDir(path, ancestors))) walk(path, `${prefix}${e.name}/`, ancestors);
      else if ((e.isFile() || e.isSymbolicLink()) && isImageFile(e.name)) out.push(prefix + e.name);
    }
  };
  walk(dir, '', []);
  return out.sort();
}

/** A manifest id from a path relative to the dataset root: the path without its extension. */
export function idFromRelative(rel: string): string {
  const ext = extname(rel);
  return ext ? rel.slice(0, -ext.length) : rel;
}
