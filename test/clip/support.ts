// Test helpers for the CLIP stages: temporary directories and deterministic synthetic JPEG folders
// written with sharp. The stages themselves run through the engine (test/support/run-kind.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ManifestRow } from '../../src/formats.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pipe-${prefix}-`));
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
