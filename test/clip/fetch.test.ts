// `pipe model fetch` against a loopback stand-in for the Hugging Face Hub that speaks its protocol: the
// revision API with blob ids and LFS sha256s, /resolve/ URLs that redirect LFS files to a CDN path, and
// HTTP Range requests there. The generated model folder must come back byte for byte and still embed.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchModel, FetchError } from '../../src/clip/fetch.js';
import { generateClipModel } from '../../src/clip/generate.js';
import { loadClipModel } from '../../src/clip/model.js';
import { tempDir } from './support.js';

const REPO = 'pipe-test/tiny-clip';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
let dir: string;
let source: string;
let server: Server;
let endpoint: string;
const ranges: string[] = [];
/** Files the server corrupts on the way out (the listing keeps the true checksums). */
const corrupt = new Set<string>();
/** A hostile server: rewrites the revision API's answer. */
let tamper: ((doc: { id: string; sha: string; siblings: object[] }) => object) | undefined;

function walk(root: string, sub = ''): string[] {
  return readdirSync(join(root, sub), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(root, join(sub, e.name)) : [join(sub, e.name)]));
}

/** The Hub's `siblings` entry: git blob sha1 for every file, LFS pointer data for the large ones. */
function sibling(rel: string) {
  const buf = readFileSync(join(source, rel));
  const blobSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
  if (!rel.endsWith('.onnx')) return { rfilename: rel, size: buf.length, blobId: blobSha1(buf) };
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${buf.length}\n`);
  return { rfilename: rel, size: pointer.length, blobId: blobSha1(pointer), lfs: { sha256, size: buf.length, pointerSize: pointer.length } };
}

function serveBytes(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, body: Buffer, etag: string) {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (req.headers.range) ranges.push(req.headers.range);
  const start = range ? Number(range[1]) : 0;
  if (start >= body.length && range) return res.writeHead(416).end();
  res.writeHead(range ? 206 : 200, { 'Content-Length': body.length - start, ETag: `"${etag}"`, 'Accept-Ranges': 'bytes', ...(range ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
  res.end(body.subarray(start));
}

beforeAll(async () => {
  dir = tempDir('clip-fetch');
  source = join(dir, 'source');
  generateClipModel(source, { seed: 5 });
  const files = walk(source).map((f) => relative(source, join(source, f)));
  const siblings = [...files.map(sibling), { rfilename: 'README.md', size: 5, blobId: 'x' }];
  const bySha = new Map(files.filter((f) => f.endsWith('.onnx')).map((f) => [createHash('sha256').update(readFileSync(join(source, f))).digest('hex'), f]));
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = (rel: string) => {
      const b = readFileSync(join(source, rel));
      if (corrupt.has(rel)) b[b.length >> 1] ^= 0xff;
      return b;
    };
    if (url.pathname === `/api/models/${REPO}/revision/main`) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const doc = { id: REPO, sha: COMMIT, siblings };
      return res.end(JSON.stringify(tamper ? tamper(doc) : doc));
    }
    const resolve = new RegExp(`^/${REPO}/resolve/${COMMIT}/(.+)$`).exec(url.pathname);
    if (resolve) {
      const rel = decodeURIComponent(resolve[1]);
      if (!files.includes(rel)) return res.writeHead(404).end();
      if (rel.endsWith('.onnx')) {
        const sha = [...bySha].find(([, f]) => f === rel)![0];
        res.writeHead(302, { Location: `/cdn/${sha}`, 'X-Linked-Etag': `"${sha}"`, 'X-Repo-Commit': COMMIT });
        return res.end();
      }
      return serveBytes(req, res, body(rel), 'git');
    }
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdn && bySha.has(cdn[1])) return serveBytes(req, res, body(bySha.get(cdn[1])!), cdn[1]);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  const { rmSync } = await import('node:fs');
  rmSync(dir, { recursive: true, force: true });
});

describe('pipe model fetch', () => {
  it('round-trips a generated model folder through the CLI, and the copy embeds identically', async () => {
    const cache = join(dir, 'cache-cli');
    const r = await execa('node', ['bin/pipe.js', 'model', 'fetch', REPO, '--endpoint', endpoint, '--cache-dir', cache], { cwd: join(import.meta.dirname, '..', '..'), reject: false });
    expect(r.stderr).toMatch(/downloaded\s+onnx\/vision_model\.onnx/);
    expect(r.exitCode).toBe(0);
    const folder = r.stdout.trim();
    expect(folder).toBe(join(cache, 'pipe-test--tiny-clip', COMMIT));
    for (const f of walk(source)) expect(readFileSync(join(folder, f)).equals(readFileSync(join(source, f)))).toBe(true);
    const [a, b] = await Promise.all([loadClipModel(source, { threads: 1 }), loadClipModel(folder, { threads: 1 })]);
    expect(await b.embedTexts(['a photo that evokes joy'])).toEqual(await a.embedTexts(['a photo that evokes joy']));
    await Promise.all([a.release(), b.release()]);
    // A second fetch finds every file present and downloads nothing.
    const again = await execa('node', ['bin/pipe.js', 'model', 'fetch', REPO, '--endpoint', endpoint, '--cache-dir', cache], { cwd: join(import.meta.dirname, '..', '..') });
    expect(again.stderr).not.toMatch(/downloaded/);
    expect(again.stderr).toMatch(/present\s+onnx\/text_model\.onnx/);
  });

  it('resumes a partial download with a Range request', async () => {
    const cache = join(dir, 'cache-resume');
    const target = join(cache, 'pipe-test--tiny-clip', COMMIT, 'onnx');
    mkdirSync(target, { recursive: true });
    const full = readFileSync(join(source, 'onnx', 'vision_model.onnx'));
    writeFileSync(join(target, 'vision_model.onnx.partial'), full.subarray(0, 100_000));
    ranges.length = 0;
    const statuses: Record<string, string> = {};
    const folder = await fetchModel(REPO, { endpoint, cacheDir: cache, onFile: (f) => { statuses[f.file] = f.status; } });
    expect(ranges).toEqual(['bytes=100000-']);
    expect(statuses['onnx/vision_model.onnx']).toBe('resumed');
    expect(readFileSync(join(folder, 'onnx', 'vision_model.onnx')).equals(full)).toBe(true);
    expect(existsSync(join(target, 'vision_model.onnx.partial'))).toBe(false);
  });

  it('rejects a corrupted download and keeps no file', async () => {
    const cache = join(dir, 'cache-corrupt');
    corrupt.add('onnx/text_model.onnx');
    try {
      await expect(fetchModel(REPO, { endpoint, cacheDir: cache })).rejects.toThrow(/text_model\.onnx: checksum mismatch \(sha256/);
      const target = join(cache, 'pipe-test--tiny-clip', COMMIT, 'onnx');
      expect(readdirSync(target)).toEqual(['vision_model.onnx']);
      expect(statSync(join(target, 'vision_model.onnx')).size).toBeGreaterThan(0);
    } finally {
      corrupt.clear();
    }
  });

  it('names missing dtype variants and unknown repositories', async () => {
    const err = await fetchModel(REPO, { endpoint, cacheDir: join(dir, 'c3'), dtypes: ['fp16'] }).catch((e: FetchError) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as FetchError).message).toMatch(/has no onnx\/vision_model_fp16\.onnx, onnx\/text_model_fp16\.onnx/);
    expect((err as FetchError).hint).toMatch(/onnx\/vision_model\.onnx/);
    await expect(fetchModel('pipe-test/nothing', { endpoint, cacheDir: join(dir, 'c4') })).rejects.toThrow(/HTTP 404/);
    await expect(fetchModel('not a repo', { endpoint })).rejects.toThrow(/not a Hugging Face repository id/);
  });

  it('refuses a revision from the server that is not a commit sha before it touches a path', async () => {
    const cache = join(dir, 'cache-rev', 'models');
    tamper = (doc) => ({ ...doc, sha: '../../../escaped' });
    try {
      await expect(fetchModel(REPO, { endpoint, cacheDir: cache })).rejects.toThrow(/the server gave an invalid revision "\.\.\/\.\.\/\.\.\/escaped" \(expected a 40-hex commit sha\)/);
      expect(existsSync(join(dir, 'escaped'))).toBe(false);
      expect(existsSync(cache)).toBe(false);
    } finally {
      tamper = undefined;
    }
  });

  it('refuses a listing without sizes or checksums unless --allow-unverified', async () => {
    const cache = join(dir, 'cache-unverified');
    tamper = (doc) => ({ ...doc, siblings: doc.siblings.map((x) => ({ rfilename: (x as { rfilename: string }).rfilename })) });
    try {
      await expect(fetchModel(REPO, { endpoint, cacheDir: cache })).rejects.toThrow(/the listing gives no size or checksum for config\.json, .*: they cannot be verified/);
      expect(existsSync(cache)).toBe(false);
      const r = await execa('node', ['bin/pipe.js', 'model', 'fetch', REPO, '--endpoint', endpoint, '--cache-dir', cache, '--allow-unverified'], { cwd: join(import.meta.dirname, '..', '..'), reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      for (const f of walk(source)) expect(readFileSync(join(r.stdout.trim(), f)).equals(readFileSync(join(source, f)))).toBe(true);
    } finally {
      tamper = undefined;
    }
  });

  it('re-downloads an existing file of the right size whose bytes do not match the listing', async () => {
    const cache = join(dir, 'cache-present');
    const folder = await fetchModel(REPO, { endpoint, cacheDir: cache });
    const damaged = join(folder, 'onnx', 'text_model.onnx');
    const bytes = readFileSync(damaged);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(damaged, bytes);
    const statuses: Record<string, string> = {};
    await fetchModel(REPO, { endpoint, cacheDir: cache, onFile: (f) => { statuses[f.file] = f.status; } });
    expect(statuses['onnx/text_model.onnx']).toBe('downloaded');
    expect(statuses['onnx/vision_model.onnx']).toBe('present');
    expect(readFileSync(damaged).equals(readFileSync(join(source, 'onnx', 'text_model.onnx')))).toBe(true);
  });
});
