// JSON Lines: the row format of manifests, indexes, prompt lists and metrics (streamable, greppable).
import { closeSync, createReadStream, openSync, readFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

export function readJsonl<T>(path: string): T[] {
  const out: T[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: invalid JSON line (${(e as Error).message})`);
    }
  }
  return out;
}

/** Streams rows of a large file without holding it in memory. */
export async function* streamJsonl<T>(path: string): AsyncGenerator<T> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of rl) {
    n++;
    const line = raw.trim();
    if (!line) continue;
    try {
      yield JSON.parse(line) as T;
    } catch (e) {
      throw new Error(`${path}:${n}: invalid JSON line (${(e as Error).message})`);
    }
  }
}

/** Writes rows in ~1 MB pieces: a 267k-row manifest is never one string in memory. */
export function writeJsonl(path: string, rows: Iterable<unknown>): void {
  const fd = openSync(path, 'w');
  try {
    let parts: string[] = [];
    let size = 0;
    for (const r of rows) {
      const line = JSON.stringify(r) + '\n';
      parts.push(line);
      size += line.length;
      if (size >= 1 << 20) {
        writeSync(fd, parts.join(''));
        parts = [];
        size = 0;
      }
    }
    if (parts.length) writeSync(fd, parts.join(''));
  } finally {
    closeSync(fd);
  }
}
