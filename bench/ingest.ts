// Ingest of a large folder-per-class dataset through the engine's stat-keyed hash cache:
//   baseline   read + sha256 every file (what an ingest without the cache pays on every run)
//   cold       first ingest: list, hash (read all), header check with sharp
//   no-op      re-ingest of the unchanged dataset in a new run (fresh HashCache over the same store)
//   +1 file    re-ingest after adding one image
//   pipe run   `pipe run` of an ingest/folder-per-class pipeline, cold and cached (the engine's key walk)
//   npm run bench:ingest [-- --files 100000 --bytes 4000] [--keep]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { LAYOUT_ALIASES, readFolderDataset } from '../src/data/layouts/folders.js';
import { buildManifest, type IngestIO } from '../src/data/manifest.js';
import { loadTaxonomy } from '../src/data/taxonomy.js';
import { HashCache } from '../src/hash/cache.js';
import { openStore } from '../src/store/index.js';

const { values } = parseArgs({
  options: { files: { type: 'string', default: '100000' }, bytes: { type: 'string', default: '4000' }, keep: { type: 'boolean', default: false } },
});
const N = Number(values.files);
/** File size: WEBEmo's 220-px thumbnails are ~10 KB; the default keeps 100k files near 400 MB of disk. */
const BYTES = Number(values.bytes);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'pipe-bench-ingest-'));
const root = join(dir, 'fi');
const tax = loadTaxonomy('fi8');

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function makeDataset(): Promise<string[]> {
  // One small valid PNG, made distinct per file and padded to BYTES by trailing bytes after IEND
  // (decoders ignore them).
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c83' } }).png().toBuffer();
  const pad = Buffer.alloc(Math.max(0, BYTES - png.length - 12), 7);
  const paths: string[] = [];
  for (const c of tax.classes) mkdirSync(join(root, 'emotion_dataset', c.id), { recursive: true });
  for (let i = 0; i < N; i++) {
    const p = join(root, 'emotion_dataset', tax.classes[i % tax.classes.length].id, `${i}.png`);
    writeFileSync(p, Buffer.concat([png, pad, Buffer.from(`#${i}`)]));
    paths.push(p);
  }
  return paths;
}

function io(store: ReturnType<typeof openStore>): IngestIO {
  const cache = new HashCache(store);
  mkdirSync(join(dir, 'kind-cache'), { recursive: true });
  return {
    kindCacheDir: join(dir, 'kind-cache'),
    async hashFiles(paths) {
      const out = paths.map((p) => cache.hashPath(p));
      cache.flush();
      return out;
    },
    log: () => undefined,
    progress: () => undefined,
  };
}

async function ingest(store: ReturnType<typeof openStore>): Promise<{ s: number; images: number }> {
  const t0 = process.hrtime.bigint();
  const layout = readFolderDataset({ root, layout: 'fi', taxonomy: tax, aliases: LAYOUT_ALIASES.fi, unknownClass: 'fail', valenceThreshold: 5 });
  const m = await buildManifest(layout, { dataset: 'fi', root, taxonomy: tax, check: 'header', unreadable: 'skip' }, io(store));
  return { s: seconds(t0), images: m.rows.length };
}

function pipeRun(): number {
  const t0 = process.hrtime.bigint();
  execFileSync(process.execPath, [join(repo, 'bin', 'pipe.js'), 'run', join(dir, 'ingest.yaml'), '--workspace', join(dir, 'ws')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return seconds(t0);
}

try {
  let t0 = process.hrtime.bigint();
  const paths = await makeDataset();
  const made = seconds(t0);

  t0 = process.hrtime.bigint();
  for (const p of paths) createHash('sha256').update(readFileSync(p)).digest('hex');
  const baseline = seconds(t0);

  const store = openStore(join(dir, 'store.db'));
  const cold = await ingest(store);
  const noop = await ingest(store);
  writeFileSync(join(root, 'emotion_dataset', 'awe', 'added.png'), Buffer.concat([readFileSync(paths[0]), Buffer.from('added')]));
  const plusOne = await ingest(store);
  store.close();

  mkdirSync(join(dir, 'ws'));
  writeFileSync(join(dir, 'ingest.yaml'), `stages:\n  fi:\n    uses: ingest/folder-per-class\n    with: { root: "${root}", layout: fi }\n`);
  const runCold = pipeRun();
  const runCached = pipeRun();

  const r = (x: number): string => x.toFixed(2);
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}; ${N} files of ${BYTES} bytes written in ${r(made)} s`);
  console.log(`baseline read+sha256 all files: ${r(baseline)} s`);
  console.log(`library cold ingest:            ${r(cold.s)} s  (${cold.images} images; ratio to baseline ${r(cold.s / baseline)})`);
  console.log(`library no-op re-ingest:        ${r(noop.s)} s  (ratio no-op/cold ${(noop.s / cold.s).toFixed(3)}, no-op/baseline ${(noop.s / baseline).toFixed(3)})`);
  console.log(`library re-ingest +1 file:      ${r(plusOne.s)} s  (${plusOne.images} images; ratio to cold ${(plusOne.s / cold.s).toFixed(3)})`);
  console.log(`pipe run cold (+engine key):    ${r(runCold)} s`);
  console.log(`pipe run cached (no-op):        ${r(runCached)} s  (ratio cached/cold ${(runCached / runCold).toFixed(3)})`);
} finally {
  if (values.keep) console.log(`kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
