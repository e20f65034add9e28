// `pipe model fetch`: downloads a CLIP model folder (Hugging Face ONNX layout) from the Hub, or any server
// speaking its protocol (HF_ENDPOINT, mirrors): resumable (HTTP Range on a `.partial` file), verified
// (sha256 of LFS files, git blob sha1 of the others, as the Hub's API lists them), with a progress line.
// Hand-written over fetch(): the protocol is two endpoints (file list, file by commit), and writing it here
// keeps resume and verification under our control without another dependency.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DTYPE_SUFFIX, type ClipDtype } from './model.js';

export class FetchError extends Error {
  override readonly name = 'FetchError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

export interface FetchOptions {
  readonly revision?: string;
  readonly dtypes?: readonly ClipDtype[];
  /** Hub base URL (default: $HF_ENDPOINT or https://huggingface.co). */
  readonly endpoint?: string;
  /** Default: $PIPE_MODEL_CACHE or ~/.cache/pipe/models. */
  readonly cacheDir?: string;
  /** Default: $HF_TOKEN (gated or private repositories). */
  readonly token?: string;
  /** Accept files the listing gives no size or checksum for (they cannot be verified). */
  readonly allowUnverified?: boolean;
  onProgress?(p: { file: string; done: number; total: number }): void;
  onFile?(p: { file: string; status: 'downloaded' | 'resumed' | 'present' }): void;
}

interface Sibling {
  readonly rfilename: string;
  readonly size?: number;
  readonly blobId?: string;
  readonly lfs?: { readonly sha256: string; readonly size: number };
}

const ROOT_REQUIRED = ['config.json', 'preprocessor_config.json', 'tokenizer.json'];
const ROOT_OPTIONAL = ['tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt'];

export function defaultCacheDir(): string {
  return process.env.PIPE_MODEL_CACHE ?? join(homedir(), '.cache', 'pipe', 'models');
}

/** The files of a CLIP folder for the given dtypes; required ones must exist in the repository. */
function selectFiles(siblings: readonly Sibling[], dtypes: readonly ClipDtype[], repo: string): Sibling[] {
  const byName = new Map(siblings.map((s) => [s.rfilename, s]));
  const required = [...ROOT_REQUIRED, ...dtypes.flatMap((d) => [`onnx/vision_model${DTYPE_SUFFIX[d]}.onnx`, `onnx/text_model${DTYPE_SUFFIX[d]}.onnx`])];
  const missing = required.filter((f) => !byName.has(f));
  if (missing.length) {
    const onnx = siblings.map((s) => s.rfilename).filter((f) => f.startsWith('onnx/'));
    throw new FetchError(`${repo} has no ${missing.join(', ')}`, onnx.length ? `Its ONNX files: ${onnx.join(', ')}; pick a --dtype that exists.` : 'Use a repository with an ONNX export in the Hugging Face layout, e.g. Xenova/clip-vit-base-patch32.');
  }
  return [...required, ...ROOT_OPTIONAL.filter((f) => byName.has(f))].map((f) => byName.get(f)!);
}

/** A commit id as the Hub gives it: it becomes a directory name, so nothing else is accepted. */
const COMMIT_SHA = /^[0-9a-f]{40}$/;

/**
 * `dir/name` for a server-given file name, refused unless it is a plain relative path that stays inside
 * `dir` (no `..`, no absolute path, no backslash or NUL).
 */
function insideDir(dir: string, name: string): string {
  const dest = resolve(dir, name);
  const rel = relative(dir, dest);
  if (!name || isAbsolute(name) || /[\\\0]/.test(name) || name.split('/').some((seg) => seg === '..' || seg === '.' || seg === '') || !rel || rel.startsWith('..') || isAbsolute(rel))
    throw new FetchError(`the server listed an unsafe file name ${JSON.stringify(name)}`, 'Check HF_ENDPOINT/--endpoint: a Hub never lists such names.');
  return dest;
}

/** Whether the listing lets a file be verified: its size and a well-formed checksum (LFS sha256 or git blob sha1). */
function verifiable(s: Sibling): boolean {
  if (s.lfs) return Number.isInteger(s.lfs.size) && /^[0-9a-f]{64}$/.test(s.lfs.sha256 ?? '');
  return Number.isInteger(s.size) && /^[0-9a-f]{40}$/.test(s.blobId ?? '');
}

/** Checks a downloaded file against the Hub's listing: sha256 for LFS files, git blob sha1 otherwise. */
async function verify(path: string, s: Sibling): Promise<string | undefined> {
  const size = statSync(path).size;
  const want = s.lfs?.size ?? s.size;
  if (want !== undefined && size !== want) return `size ${size}, expected ${want}`;
  const h = s.lfs ? createHash('sha256') : createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  const got = h.digest('hex');
  const expected = s.lfs?.sha256 ?? s.blobId;
  if (expected && got !== expected) return `${s.lfs ? 'sha256' : 'git blob sha1'} ${got}, expected ${expected}`;
  return undefined;
}

async function download(url: string, dest: string, s: Sibling, headers: Record<string, string>, opts: FetchOptions): Promise<'downloaded' | 'resumed'> {
  const partial = `${dest}.partial`;
  const have = existsSync(partial) ? statSync(partial).size : 0;
  const res = await fetch(url, { headers: have ? { ...headers, Range: `bytes=${have}-` } : headers, redirect: 'follow' });
  if (res.status === 416) unlinkSync(partial); // stale partial longer than the file: start over next time
  if (!res.ok || !res.body) throw new FetchError(`GET ${url}: HTTP ${res.status} ${res.statusText}`, res.status === 401 || res.status === 403 ? 'Set HF_TOKEN for gated or private repositories.' : 'Run the command again; finished files are kept.');
  const resumed = res.status === 206;
  const total = s.lfs?.size ?? s.size ?? Number(res.headers.get('content-length') ?? 0) + (resumed ? have : 0);
  let done = resumed ? have : 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => {
    done += c.length;
    opts.onProgress?.({ file: s.rfilename, done, total });
  });
  await pipeline(body, createWriteStream(partial, { flags: resumed ? 'a' : 'w' }));
  const bad = await verify(partial, s);
  if (bad) {
    unlinkSync(partial);
    throw new FetchError(`${s.rfilename}: checksum mismatch (${bad}); the partial download was deleted`, 'Run the command again to download it afresh.');
  }
  renameSync(partial, dest);
  return resumed ? 'resumed' : 'downloaded';
}

/** Downloads (or completes) a model folder; returns its path `<cache>/<org>--<name>/<commit>`. */
export async function fetchModel(repo: string, opts: FetchOptions = {}): Promise<string> {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new FetchError(`"${repo}" is not a Hugging Face repository id`, 'Write it as owner/name, e.g. Xenova/clip-vit-base-patch32.');
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const revision = opts.revision ?? 'main';
  const token = opts.token ?? process.env.HF_TOKEN;
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const apiUrl = `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  let info: { sha?: string; siblings?: Sibling[] };
  try {
    const res = await fetch(apiUrl, { headers });
    if (!res.ok) throw new FetchError(`GET ${apiUrl}: HTTP ${res.status}`, res.status === 404 ? `Check the repository id and revision "${revision}".` : res.status === 401 ? 'Set HF_TOKEN for gated or private repositories.' : undefined);
    info = (await res.json()) as typeof info;
  } catch (e) {
    if (e instanceof FetchError) throw e;
    throw new FetchError(`cannot reach ${endpoint}: ${(e as Error).message}`, 'Check the network, or set HF_ENDPOINT to a mirror.');
  }
  if (!info.sha || !Array.isArray(info.siblings)) throw new FetchError(`${apiUrl}: unexpected answer (no sha/siblings)`);
  // The commit id becomes a directory: a server-controlled value is validated before it touches a path.
  if (typeof info.sha !== 'string' || !COMMIT_SHA.test(info.sha))
    throw new FetchError(`${apiUrl}: the server gave an invalid revision ${JSON.stringify(info.sha).slice(0, 80)} (expected a 40-hex commit sha)`, 'Check HF_ENDPOINT/--endpoint: a Hub answers with the commit sha.');
  const files = selectFiles(info.siblings, opts.dtypes ?? ['fp32'], repo);
  const unverifiable = files.filter((s) => !verifiable(s)).map((s) => s.rfilename);
  if (unverifiable.length && !opts.allowUnverified)
    throw new FetchError(`${apiUrl}: the listing gives no size or checksum for ${unverifiable.join(', ')}: they cannot be verified`, 'Use a Hub or mirror that lists sizes and hashes (?blobs=true), or pass --allow-unverified to accept them as they come.');
  const dir = join(opts.cacheDir ?? defaultCacheDir(), repo.replace('/', '--'), info.sha);
  for (const s of files) {
    const dest = insideDir(dir, s.rfilename);
    mkdirSync(dirname(dest), { recursive: true });
    // A file on disk counts only when it matches the listing byte for byte (size and checksum).
    if (existsSync(dest) && (await verify(dest, s)) === undefined) {
      opts.onFile?.({ file: s.rfilename, status: 'present' });
      continue;
    }
    // Pinned to the resolved commit, so a branch moving mid-download cannot mix two versions.
    const url = `${endpoint}/${repo}/resolve/${info.sha}/${s.rfilename.split('/').map(encodeURIComponent).join('/')}`;
    const status = await download(url, dest, s, headers, opts);
    opts.onFile?.({ file: s.rfilename, status });
  }
  return dir;
}
