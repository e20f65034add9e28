// Test helpers for the data library: an IngestIO over the engine's real stat-keyed hash cache (SQLite
// store on disk), and one small synthetic data tree per test file.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IngestIO } from '../../src/data/manifest.js';
import { generateSyntheticData, type SyntheticSizes } from '../../src/data/synthetic.js';
import { HashCache } from '../../src/hash/cache.js';
import { openStore, type Store } from '../../src/store/index.js';

export interface TestIO extends IngestIO {
  readonly store: Store;
  readonly lines: string[];
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pipe-${prefix}-`));
}

/** A fresh hash cache over a store file in `dir` (reopened per call, as the engine does per run). */
export function testIO(dir: string): TestIO {
  mkdirSync(join(dir, 'kind-cache'), { recursive: true });
  const store = openStore(join(dir, 'store.db'));
  const cache = new HashCache(store);
  const lines: string[] = [];
  return {
    store,
    lines,
    kindCacheDir: join(dir, 'kind-cache'),
    async hashFiles(paths) {
      const out = paths.map((p) => cache.hashPath(p));
      cache.flush();
      return out;
    },
    log: (line) => lines.push(line),
    progress: () => undefined,
  };
}

export const SMALL: SyntheticSizes = { webemo: 100, fi: 24, emotion6: 18, emotionroi: 20, iaps: 12 };

export async function syntheticTree(prefix: string, sizes: SyntheticSizes = SMALL): Promise<{ dir: string; cleanup: () => void }> {
  const dir = tempDir(prefix);
  await generateSyntheticData({ out: join(dir, 'data'), seed: 1, sizes, webemoLayout: 'both', missingUrlFraction: 0.04 });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
