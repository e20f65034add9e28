import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { generateSyntheticData, isWebemoTest, PAPER_SIZES, syntheticSizes } from '../../src/data/synthetic.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const sizes = { webemo: 60, fi: 16, emotion6: 12, emotionroi: 12, iaps: 10 };

describe('synthetic data generator', () => {
  it('lays out all five datasets in their real layouts, deterministically from the seed', async () => {
    const a = mkdtempSync(join(tmpdir(), 'syn-a-'));
    const b = mkdtempSync(join(tmpdir(), 'syn-b-'));
    dirs.push(a, b);
    const ra = await generateSyntheticData({ out: a, seed: 7, sizes, webemoLayout: 'both', missingUrlFraction: 0.05 });
    await generateSyntheticData({ out: b, seed: 7, sizes, webemoLayout: 'both', missingUrlFraction: 0.05 });
    expect(ra.images.fi).toBe(16);
    expect(ra.images['webemo-folders']).toBe(60);
    expect(ra.images.webemo + ra.missingUrls).toBe(60);
    expect(readdirSync(join(a, 'fi', 'emotion_dataset')).sort()).toEqual(['amusement', 'anger', 'awe', 'contentment', 'disgust', 'excitement', 'fear', 'sadness']);
    expect(readdirSync(join(a, 'emotion6', 'images', 'anger'))).toContain('digust');
    expect(readdirSync(join(a, 'emotionroi', 'training_testing_split')).sort()).toEqual(['testing.txt', 'training.txt']);
    expect(readFileSync(join(a, 'webemo', 'train25.txt'), 'utf8').split('\n')[0]).toMatch(/^https:\/\/\S+\.jpg \d+$/);
    const first = readdirSync(join(a, 'webemo', 'images')).sort()[0];
    expect(readFileSync(join(a, 'webemo', 'images', first))).toEqual(readFileSync(join(b, 'webemo', 'images', first)));
    const meta = await sharp(join(a, 'webemo', 'images', first)).metadata();
    expect(['220x147', '146x220']).toContain(`${meta.width}x${meta.height}`);
  });
});

describe('synthetic data at the paper scale', () => {
  it("has the paper's sizes, and WEBEmo's release split: 213,952 train + 53,489 test URLs", () => {
    expect(syntheticSizes('paper')).toEqual({ webemo: 267441, fi: 23308, emotion6: 8350, emotionroi: 1980, iaps: 1282 });
    expect(syntheticSizes('paper', { webemo: 500 })).toEqual({ ...PAPER_SIZES, webemo: 500 });
    let test = 0;
    for (let i = 0; i < PAPER_SIZES.webemo; i++) if (isWebemoTest(i, PAPER_SIZES.webemo)) test++;
    expect(test).toBe(53489);
  });

  it('shares pictures per class look with every file its own content (release layout, URL-named 220-px thumbnails)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'syn-paper-'));
    dirs.push(out);
    // One picture per look: many copies, each with its own bytes.
    const small = { webemo: 300, fi: 8, emotion6: 6, emotionroi: 6, iaps: 4 };
    const seen: number[] = [];
    const r = await generateSyntheticData({ out, seed: 3, sizes: small, webemoLayout: 'official', missingUrlFraction: 0.01, distinctPerLook: 1, onProgress: (done) => seen.push(done) });
    const lines = (f: string) => readFileSync(join(out, 'webemo', f), 'utf8').trim().split('\n');
    const train = lines('train25.txt');
    const test = lines('test25.txt');
    expect(train.length + test.length).toBe(300);
    expect(test.length).toBe(60);
    const images = readdirSync(join(out, 'webemo', 'images'));
    expect(images.length).toBe(300 - r.missingUrls);
    // Every listed URL names its file by its last path segment; every file on disk is listed.
    const names = new Set([...train, ...test].map((l) => l.split(' ')[0].split('/').pop()));
    for (const f of images) expect(names.has(f)).toBe(true);
    const bytes = images.map((f) => readFileSync(join(out, 'webemo', 'images', f)));
    expect(new Set(bytes.map((b) => createHash('sha256').update(b).digest('hex'))).size).toBe(images.length);
    const pixels = new Set<string>();
    for (const b of bytes) {
      const { data, info } = await sharp(b).raw().toBuffer({ resolveWithObject: true });
      expect(['220x147', '146x220']).toContain(`${info.width}x${info.height}`);
      pixels.add(createHash('sha256').update(data).digest('hex'));
    }
    // 25 class looks + the noisy labels' random looks, in 2 sizes: far fewer pictures than images.
    expect(pixels.size).toBeLessThan(images.length / 2);
    expect(seen.at(-1)).toBe(Object.values(r.images).reduce((a, b) => a + b, 0));
  });
});
