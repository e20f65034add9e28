// Test helpers for the CLIP stages: a StageContext over real directories and the engine's real
// stat-keyed hash cache, and deterministic synthetic JPEG folders written with sharp.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ManifestRow } from '../../src/formats.js';
import { HashCache } from '../../src/hash/cache.js';
import type { StageContext, StageKind } from '../../src/stage-api.js';
import { openStore, type Store } from '../../src/store/index.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pipe-${prefix}-`));
}

export interface TestContext<P> extends StageContext<P> {
  readonly lines: string[];
  readonly outDir: string;
}

let attempt = 0;
const stores = new Map<string, Store>();
/** One store per test directory, like one per workspace. */
function storeFor(dir: string): Store {
  let s = stores.get(dir);
  if (!s) stores.set(dir, (s = openStore(join(dir, 'store.db'))));
  return s;
}

/**
 * A context for one attempt of `kind` with `params`; outputs go to a fresh directory under `dir`.
 * @deprecated Run stages through the engine with `runKind` (test/support/run-kind.ts); kept only until
 * the last caller (test/clip/text-cache.test.ts) moves over.
 */
export function stageContext<P>(kind: StageKind<P>, params: P, dir: string): TestContext<P> {
  const outDir = join(dir, `out-${attempt++}`);
  const kindCacheDir = join(dir, 'kind-cache', kind.kind);
  mkdirSync(outDir, { recursive: true });
  mkdirSync(kindCacheDir, { recursive: true });
  const lines: string[] = [];
  const hashes = new HashCache(storeFor(dir));
  return {
    params,
    matrix: {},
    instanceId: kind.kind.replace('/', '-'),
    run: { id: 0, pipelineFile: '(test harness)', pipelineHash: '', codeVersion: 'test' },
    workspace: dir,
    outDir,
    lines,
    output: (name) => join(outDir, kind.outputs[name].path),
    resumeDir: join(dir, 'resume'),
    kindCacheDir,
    signal: new AbortController().signal,
    log: (line) => lines.push(line),
    progress: () => undefined,
    metric: () => undefined,
    async hashFiles(paths) {
      const out = paths.map((p) => hashes.hashPath(p));
      hashes.flush();
      return out;
    },
  };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** `n` JPEGs of mixed sizes and content (deterministic from `seed`), and their manifest rows. */
export async function jpegFolder(dir: string, n: number, seed = 0, opts: { minSide?: number; maxSide?: number } = {}): Promise<ManifestRow[]> {
  mkdirSync(dir, { recursive: true });
  const rows: ManifestRow[] = [];
  const lo = opts.minSide ?? 120;
  const hi = opts.maxSide ?? 400;
  for (let i = 0; i < n; i++) {
    const k = seed * 100003 + i;
    const w = lo + ((k * 7919) % (hi - lo));
    const h = lo + ((k * 104729) % (hi - lo));
    const raw = Buffer.alloc(w * h * 3);
    // Different colour gradients per image, so embeddings differ image by image.
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      raw[o] = (x * (1 + (k % 5)) + k * 37) & 255;
      raw[o + 1] = (y * (1 + (k % 3)) + k * 91) & 255;
      raw[o + 2] = ((x ^ y) + k * 13) & 255;
    }
    const path = join(dir, `img-${seed}-${i}.jpg`);
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toFile(path);
    rows.push({ id: `s${seed}/${i}`, path, hash: sha256(path), split: i % 5 === 0 ? 'test' : 'train', labels: { demo: i % 2 ? 'positive' : 'negative' } });
  }
  return rows;
}

/** A manifest row for a file written by the test (e.g. a corrupt image). */
export function fileRow(id: string, path: string, content: Buffer): ManifestRow {
  writeFileSync(path, content);
  return { id, path, hash: sha256(path), split: 'test', labels: {} };
}
