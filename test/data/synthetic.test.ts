import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSyntheticData } from '../../src/data/synthetic.js';

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
