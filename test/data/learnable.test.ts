// The synthetic data's class structure survives a random-weight CLIP image tower: a cross-entropy head
// trained on its embeddings gets a validation loss well below chance (ln C), but not zero (25% of the
// images carry a random class's look). Runs the real stages through `pipe run`.
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricRow } from '../../src/stage-api.js';
import { studyRows } from '../../src/formats.js';
import { readJsonl } from '../../src/io/jsonl.js';
import { runPipeJson, tempWorkspace } from '../support/index.js';

const ws = tempWorkspace('pipe-learnable-');
afterAll(() => ws.cleanup());

describe('synthetic data is learnable', () => {
  it('a CE head beats chance on webemo2 and webemo6', async () => {
    ws.write(
      'learn.yaml',
      `stages:
  data:
    uses: demo/synthetic-data
    with: { seed: 3, sizes: { webemo: 800, fi: 8, emotion6: 6, emotionroi: 6, iaps: 4 } }
  webemo:
    uses: ingest/webemo
    with: { root: "\${stages.data.outputs.webemo}", val_fraction: 0.25, check_images: none }
  model:
    uses: clip/tiny-model
  embed:
    uses: clip/embed-images
    with: { manifest: "\${stages.webemo.outputs.manifest}", model: "\${stages.model.outputs.model}" }
  ce:
    uses: train/cross-entropy
    matrix: { taxonomy: [webemo2, webemo6] }
    with:
      taxonomy: "\${matrix.taxonomy}"
      epochs: 6
      embeddings: "\${stages.embed.outputs.embeddings}"
      index: "\${stages.embed.outputs.index}"
      manifest: "\${stages.webemo.outputs.manifest}"
`,
    );
    // 800 images generated and embedded: on a loaded machine more than the default 60 s before the CLI is killed.
    const r = await runPipeJson(['run', 'learn.yaml'], { cwd: ws.dir, timeoutMs: 240_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const [taxonomy, classes] of [['webemo2', 2], ['webemo6', 6]] as const) {
      const inst = r.doc.instances.find((i) => i.id === `ce@taxonomy=${taxonomy}`);
      const metrics = studyRows(readJsonl<MetricRow>(inst!.outputs!.metrics));
      const best = Math.min(...metrics.filter((m) => m.metric === 'val_loss').map((m) => m.value ?? Infinity));
      expect(best, `${taxonomy} val_loss`).toBeLessThan(0.8 * Math.log(classes));
      expect(best, `${taxonomy} val_loss`).toBeGreaterThan(0.05);
    }
  }, 250_000);
});
