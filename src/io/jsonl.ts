// JSON Lines: the row format of manifests, indexes, prompt lists and metrics (streamable, greppable).
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
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

export function writeJsonl(path: string, rows: Iterable<unknown>): void {
  const parts: string[] = [];
  for (const r of rows) parts.push(JSON.stringify(r));
  writeFileSync(path, parts.length ? parts.join('\n') + '\n' : '');
}
