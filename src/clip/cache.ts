// Per-input embedding cache: content hash (of an image file or of a text) -> embedding, for one
// (model, input preparation) key. Used per image by clip/embed-images and per text by clip/embed-texts.
//
// Layout: `<root>/<key>/shard-*.bin`, append-only shard files of fixed-size records (32-byte sha256 +
// `dim` float32). A shard is written to a temporary name and renamed, so a killed run leaves only whole
// shards; everything flushed before the kill is reused. An in-memory map of hash -> (shard, offset) makes
// lookups cheap; vectors are read back with positioned reads, so memory stays flat on 300k images or
// 267k captions.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HASH_BYTES = 32;

/** The cache hash of a text: sha256 of its exact UTF-8 bytes (no normalisation: any change re-embeds). */
export function textHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
/** Records per shard before it is flushed to disk. */
const SHARD_RECORDS = 1024;

export interface CacheKey {
  readonly modelHash: string;
  /**
   * How an input becomes the model's tensors: the image preprocessing version, or for texts the
   * tokenisation policy and context length (the name predates the text cache; renaming it would move
   * every existing image cache directory).
   */
  readonly preprocessVersion: string;
  readonly dim: number;
}

export class EmbeddingCache {
  private readonly index = new Map<string, { shard: number; offset: number }>();
  private readonly shards: string[] = [];
  private readonly fds = new Map<number, number>();
  private pending: { hash: string; vec: Float32Array }[] = [];
  private readonly pendingIndex = new Map<string, Float32Array>();
  private readonly record: number;
  readonly dir: string;

  constructor(root: string, readonly key: CacheKey) {
    const id = createHash('sha256').update(`${key.modelHash}\n${key.preprocessVersion}\n${key.dim}`).digest('hex').slice(0, 24);
    this.dir = join(root, id);
    this.record = HASH_BYTES + key.dim * 4;
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, 'key.json'), JSON.stringify(key) + '\n');
    for (const name of readdirSync(this.dir).filter((n) => n.startsWith('shard-') && n.endsWith('.bin')).sort()) this.loadShard(name);
  }

  private loadShard(name: string): void {
    const buf = readFileSync(join(this.dir, name));
    const shard = this.shards.push(name) - 1;
    // A partial trailing record can only come from a foreign writer; whole records are still valid.
    for (let off = 0; off + this.record <= buf.length; off += this.record) {
      this.index.set(buf.toString('hex', off, off + HASH_BYTES), { shard, offset: off + HASH_BYTES });
    }
  }

  get size(): number {
    return this.index.size + this.pendingIndex.size;
  }

  has(hash: string): boolean {
    return this.index.has(hash) || this.pendingIndex.has(hash);
  }

  get(hash: string): Float32Array | undefined {
    const p = this.pendingIndex.get(hash);
    if (p) return p;
    const at = this.index.get(hash);
    if (!at) return undefined;
    let fd = this.fds.get(at.shard);
    if (fd === undefined) {
      fd = openSync(join(this.dir, this.shards[at.shard]), 'r');
      this.fds.set(at.shard, fd);
    }
    const out = new Float32Array(this.key.dim);
    readSync(fd, new Uint8Array(out.buffer), 0, out.byteLength, at.offset);
    return out;
  }

  put(hash: string, vec: Float32Array): void {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`EmbeddingCache: ${hash} is not a sha256 hex digest`);
    if (vec.length !== this.key.dim) throw new Error(`EmbeddingCache: vector of ${vec.length} values, cache holds ${this.key.dim}`);
    if (this.has(hash)) return;
    const copy = new Float32Array(vec);
    this.pending.push({ hash, vec: copy });
    this.pendingIndex.set(hash, copy);
    if (this.pending.length >= SHARD_RECORDS) this.flush();
  }

  /** Writes pending records as one new shard (temp name, then rename). */
  flush(): void {
    if (!this.pending.length) return;
    const buf = Buffer.alloc(this.pending.length * this.record);
    this.pending.forEach((r, i) => {
      buf.write(r.hash, i * this.record, 'hex');
      Buffer.from(r.vec.buffer, r.vec.byteOffset, r.vec.byteLength).copy(buf, i * this.record + HASH_BYTES);
    });
    const name = `shard-${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}.bin`;
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, buf);
    renameSync(tmp, join(this.dir, name));
    const shard = this.shards.push(name) - 1;
    this.pending.forEach((r, i) => this.index.set(r.hash, { shard, offset: i * this.record + HASH_BYTES }));
    this.pending = [];
    this.pendingIndex.clear();
  }

  close(): void {
    this.flush();
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
