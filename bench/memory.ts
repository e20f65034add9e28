// Peak memory of the stages that load embedding matrices, at the paper's sizes: WEBEmo's 267,441 images
// (manifest, index, 267,441 x 512 float32 embeddings = 547 MB), its 267,441 image captions as prompts
// (another 547 MB of text embeddings), and the four evaluation datasets (34,920 images). Each step runs in
// a fresh child process doing what the stage does before its first batch (the code of `train/contrastive`,
// `train/cross-entropy` and `eval/zero-shot` up to training or scoring), and reports its peak RSS
// (getrusage maxrss), wall and CPU time. `contrastive group` holds what one call training the five seeds of
// an ablation together holds (`group_by: [seed]`). The inputs are fabricated (random vectors, well-formed rows), so
// this costs seconds of CPU instead of the hours of embedding 300k images (BENCHMARKS.md, "Full-scale
// rehearsal"). `--baseline DIR` runs the same steps with another built checkout's code (its dist/) in the
// same run, for a before/after ratio.
//   npm run bench:memory [-- --dir /big/disk/inputs] [--baseline /path/to/old/checkout]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isWebemoTest, PAPER_SIZES } from '../src/data/synthetic.js';
import { labelsAtAllLevels, loadTaxonomy } from '../src/data/taxonomy.js';
import { writeJsonl } from '../src/io/jsonl.js';
import { NpyRowWriter } from '../src/io/npy.js';
import type { PromptKind } from '../src/formats.js';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, baseline: { type: 'string' }, step: { type: 'string' }, code: { type: 'string' } },
});
const DIM = 512;
const STEPS = ['contrastive', 'contrastive group', 'cross-entropy', 'zero-shot'] as const;
/** Members of the `contrastive group` step: the five seeds of one ablation, as `group_by: [seed]` runs them. */
const GROUP = 5;
const here = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Set {
  readonly dataset: string;
  readonly taxonomy: string;
  readonly taxonomies: readonly string[];
  readonly n: number;
}
const SETS: readonly Set[] = [
  { dataset: 'webemo', taxonomy: 'webemo25', taxonomies: ['webemo2', 'webemo6', 'webemo25'], n: PAPER_SIZES.webemo },
  { dataset: 'iaps', taxonomy: 'iaps2', taxonomies: ['iaps2'], n: PAPER_SIZES.iaps },
  { dataset: 'emotion6', taxonomy: 'emotion6_6', taxonomies: ['emotion6_2', 'emotion6_6'], n: PAPER_SIZES.emotion6 },
  { dataset: 'emotionroi', taxonomy: 'emotionroi6', taxonomies: ['emotionroi2', 'emotionroi6'], n: PAPER_SIZES.emotionroi },
  { dataset: 'fi', taxonomy: 'fi8', taxonomies: ['fi2', 'fi8'], n: PAPER_SIZES.fi },
];

/** Random unit-ish vectors, written in 8,192-row pieces. */
function writeEmbeddings(path: string, rows: number): void {
  const w = new NpyRowWriter(path, DIM);
  let seed = rows;
  for (let at = 0; at < rows; at += 8192) {
    const piece = new Float32Array(Math.min(8192, rows - at) * DIM);
    for (let i = 0; i < piece.length; i++) piece[i] = ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.1;
    w.append(piece);
  }
  w.close();
}

/** WEBEmo: release split (test) with a 10% validation carve of train; the others: all test. */
function splitOf(set: Set, i: number): string {
  if (set.dataset !== 'webemo') return 'test';
  return isWebemoTest(i, set.n) ? 'test' : i % 10 === 3 ? 'val' : 'train';
}

function makeInputs(dir: string): void {
  for (const set of SETS) {
    const tax = loadTaxonomy(set.taxonomy);
    const labels = tax.classes.map((c) => labelsAtAllLevels(tax, c.id));
    const rows = Array.from({ length: set.n }, (_, i) => {
      const id = `images/syn-${String(i).padStart(6, '0')}`;
      return { id, path: `/data/${set.dataset}/${id}.jpg`, hash: createHash('sha256').update(`${set.dataset}${i}`).digest('hex'), split: splitOf(set, i), labels: labels[i % labels.length] };
    });
    mkdirSync(join(dir, set.dataset), { recursive: true });
    writeJsonl(join(dir, set.dataset, 'manifest.jsonl'), rows);
    writeJsonl(join(dir, set.dataset, 'index.jsonl'), rows.map((r, row) => ({ id: r.id, path: r.path, hash: r.hash, row })));
    writeEmbeddings(join(dir, set.dataset, 'embeddings.npy'), set.n);
  }
  // Prompts: SC and 5 SSC per class of every evaluated taxonomy, and one IC per WEBEmo image.
  const prompts: { id: string; kind: string; text: string; taxonomy?: string; class?: string; image?: string }[] = [];
  for (const tid of SETS.flatMap((s) => s.taxonomies)) {
    for (const c of loadTaxonomy(tid).classes) {
      prompts.push({ id: `sc/${tid}/${c.id}`, kind: 'sc', text: `a photo that seems to express ${c.id}`, taxonomy: tid, class: c.id });
      for (let k = 0; k < 5; k++) prompts.push({ id: `ssc/${tid}/${c.id}/${k}`, kind: 'ssc', text: `a photo that seems to express ${c.id} ${k}`, taxonomy: tid, class: c.id });
    }
  }
  for (let i = 0; i < PAPER_SIZES.webemo; i++) {
    const id = `images/syn-${String(i).padStart(6, '0')}`;
    prompts.push({ id: `ic/${id}`, kind: 'ic', text: `a kid sledding in snow at the mountain, with a feeling of joy ${i}`, image: id });
  }
  mkdirSync(join(dir, 'prompts'), { recursive: true });
  writeJsonl(join(dir, 'prompts', 'prompts.jsonl'), prompts);
  writeJsonl(join(dir, 'prompts', 'index.jsonl'), prompts.map((p, row) => ({ id: p.id, row })));
  writeEmbeddings(join(dir, 'prompts', 'embeddings.npy'), prompts.length);
  writeFileSync(join(dir, 'ready'), '');
}

type Loader = <T>(rel: string) => Promise<T>;

/**
 * What a group call of GROUP contrastive heads holds before its first batch: each member's training data,
 * prompts and task with its first epoch's examples (as `contrastiveJob` builds them), and the eval sets once.
 * Members share their loaded inputs through `SharedInputs`; code from before it (no such export) loads a
 * copy per member, as each member's job did then.
 */
async function contrastiveGroup(mod: Loader, train: object, promptFiles: object, evalSets: readonly object[]): Promise<unknown[]> {
  const stage = await mod<typeof import('../src/train/stage.js') & { SharedInputs?: unknown }>('train/stage.js');
  const { loadPromptTable } = await mod<typeof import('../src/eval/prompts.js')>('eval/prompts.js');
  const { prepareEvalSets } = await mod<typeof import('../src/eval/evaluate.js')>('eval/evaluate.js');
  const { contrastiveTask } = await mod<typeof import('../src/train/contrastive.js')>('train/contrastive.js');
  const shared = stage.SharedInputs ? new stage.SharedInputs() : undefined;
  const held: unknown[] = [];
  for (let seed = 0; seed < GROUP; seed++) {
    const data = stage.loadTrainingData(train as never, () => undefined, shared);
    const prompts = shared ? shared.get(['prompts', promptFiles], () => loadPromptTable(promptFiles as never)) : loadPromptTable(promptFiles as never);
    const setup = { images: data.table, train: data.train, val: data.val, taxonomy: data.taxonomy, hidden: 512, seed, training: {} };
    const task = contrastiveTask({ ...setup, prompts, captions: ['sc', 'ssc', 'ic'], loss: 'soft', tau: 1 } as never);
    held.push(data, task, task.epochExamples(1));
  }
  held.push(prepareEvalSets(evalSets as never));
  return held;
}

/** One step in this process, with the code of checkout `code`; prints its figures as JSON. */
async function runStep(step: string, dir: string, code: string): Promise<void> {
  const mod: Loader = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(code, 'dist', 'src', rel)).href)) as T;
  const t0 = process.hrtime.bigint();
  const evalSets = SETS.map((s) => ({ dataset: s.dataset, taxonomies: s.taxonomies, manifest: join(dir, s.dataset, 'manifest.jsonl'), embeddings: join(dir, s.dataset, 'embeddings.npy'), index: join(dir, s.dataset, 'index.jsonl'), split: 'test' }));
  const promptFiles = { prompts: join(dir, 'prompts', 'prompts.jsonl'), embeddings: join(dir, 'prompts', 'embeddings.npy'), index: join(dir, 'prompts', 'index.jsonl') };
  const train = { embeddings: evalSets[0].embeddings, index: evalSets[0].index, manifest: evalSets[0].manifest, taxonomy: step === 'cross-entropy' ? 'webemo6' : 'webemo25', confusion: 'sadness', train_split: 'train', val_split: 'val' };
  const { prepareEvalSets } = await mod<typeof import('../src/eval/evaluate.js')>('eval/evaluate.js');
  const { loadPromptTable } = await mod<typeof import('../src/eval/prompts.js')>('eval/prompts.js');
  const { loadTrainingData } = await mod<typeof import('../src/train/stage.js')>('train/stage.js');
  let held: unknown[];
  if (step === 'zero-shot') {
    // The stage's scoring prompts (SCORING_KINDS; undefined in code before it, which loaded every kind).
    const { SCORING_KINDS } = await mod<{ SCORING_KINDS?: readonly PromptKind[] }>('eval/prompts.js');
    held = [loadPromptTable(promptFiles, SCORING_KINDS), prepareEvalSets(evalSets)];
  } else if (step === 'contrastive group') {
    held = await contrastiveGroup(mod, train, promptFiles, evalSets);
  } else {
    // The stage's order: training data, (prompts,) the task with its first epoch's examples, eval sets.
    const data = loadTrainingData(train as never, () => undefined);
    const setup = { images: data.table, train: data.train, val: data.val, taxonomy: data.taxonomy, hidden: 512, seed: 0, training: {} };
    let task;
    if (step === 'contrastive') {
      const { contrastiveTask } = await mod<typeof import('../src/train/contrastive.js')>('train/contrastive.js');
      task = contrastiveTask({ ...setup, prompts: loadPromptTable(promptFiles), captions: ['sc', 'ssc', 'ic'], loss: 'soft', tau: 1 } as never);
    } else {
      const { crossEntropyTask } = await mod<typeof import('../src/train/cross-entropy.js')>('train/cross-entropy.js');
      task = crossEntropyTask({ ...setup, output: 'softmax' } as never);
    }
    held = [data, task, task.epochExamples(1), prepareEvalSets(evalSets)];
  }
  const cpu = process.cpuUsage();
  const out = { step, held: held.length, wall_s: Number(process.hrtime.bigint() - t0) / 1e9, cpu_s: (cpu.user + cpu.system) / 1e6, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function main(): Promise<void> {
  if (values.step) return runStep(values.step, values.dir!, values.code!);
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'pipe-bench-memory-'));
  if (!existsSync(join(dir, 'ready'))) {
    const t0 = Date.now();
    makeInputs(dir);
    console.log(`inputs in ${dir} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const codes: [string, string][] = [['this', here], ...(values.baseline ? [['baseline', resolve(values.baseline)] as [string, string]] : [])];
  console.log('| step | code | peak RSS (MB) | wall (s) | CPU (s) |\n|---|---|---:|---:|---:|');
  for (const step of STEPS) {
    for (const [name, code] of codes) {
      const line = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--step', step, '--dir', dir, '--code', code], { encoding: 'utf8', maxBuffer: 1 << 20 });
      const r = JSON.parse(line) as { wall_s: number; cpu_s: number; peak_rss_mb: number };
      console.log(`| ${step} | ${name} | ${r.peak_rss_mb.toFixed(0)} | ${r.wall_s.toFixed(1)} | ${r.cpu_s.toFixed(1)} |`);
    }
  }
  if (!values.dir) rmSync(dir, { recursive: true, force: true });
}

await main();
