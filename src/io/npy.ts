// NumPy `.npy` (format 1.0) reading and writing, so that numpy users can `np.load` every matrix we emit.
// Written here because it is ~100 lines and the npm packages for it are unmaintained or browser-only.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

export type NpyDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8';
export type NpyArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface Npy<A extends NpyArray = NpyArray> {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: A;
}

const DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
};
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]);
/** Header length fixed for streaming writers, so the row count can be patched in place at the end. */
const STREAM_HEADER_LEN = 128;

function dtypeOf(data: NpyArray): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint8';
}

function header(dtype: NpyDtype, shape: readonly number[], minLen = 0): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Total header (magic + 2-byte length + dict + '\n') must be a multiple of 64.
  const base = MAGIC.length + 2;
  let total = Math.ceil((base + dict.length + 1) / 64) * 64;
  if (total < minLen) total = minLen;
  dict = dict.padEnd(total - base - 1, ' ') + '\n';
  const buf = Buffer.alloc(total);
  MAGIC.copy(buf, 0);
  buf.writeUInt16LE(dict.length, MAGIC.length);
  buf.write(dict, base, 'latin1');
  return buf;
}

export function writeNpy(path: string, data: NpyArray, shape: readonly number[]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`writeNpy ${path}: shape [${shape}] holds ${n} values, data has ${data.length}`);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header(dtypeOf(data), shape));
    writeSync(fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } finally {
    closeSync(fd);
  }
}

const CTOR = { float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array };

/** What a `.npy` header says: element type, shape, and where the data starts in the file. */
export interface NpyHeader {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly offset: number;
}

function readHeaderFd(fd: number, path: string): NpyHeader {
  const pre = Buffer.alloc(12);
  readSync(fd, pre, 0, 12, 0);
  if (!pre.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw new Error(`${path}: not a .npy file (bad magic)`);
  const major = pre[6];
  const hlen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const head = Buffer.alloc(hlen);
  readSync(fd, head, 0, hlen, start);
  const dict = head.toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
  const dtype = (Object.keys(DESCR) as NpyDtype[]).find((k) => DESCR[k] === descr);
  if (!dtype || fortran !== 'False' || shapeText === undefined) {
    throw new Error(`${path}: unsupported .npy header ${dict.trim()} (need little-endian f4/f8/i4/i8/u1, C order)`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const held = (fstatSync(fd).size - start - hlen) / CTOR[dtype].BYTES_PER_ELEMENT;
  if (held !== n) throw new Error(`${path}: header shape [${shape}] needs ${n} values, file holds ${held}`);
  return { dtype, shape, offset: start + hlen };
}

function withFd<T>(path: string, f: (fd: number) => T): T {
  const fd = openSync(path, 'r');
  try {
    return f(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes at `position` into `into` from `offset` (readSync may return less than asked). */
function readFully(fd: number, into: Uint8Array, offset: number, length: number, position: number): void {
  for (let at = 0; at < length; ) {
    const n = readSync(fd, into, offset + at, Math.min(length - at, 1 << 30), position + at);
    if (n === 0) throw new Error('unexpected end of file');
    at += n;
  }
}

export function readNpyHeader(path: string): NpyHeader {
  return withFd(path, (fd) => readHeaderFd(fd, path));
}

export function readNpy(path: string): Npy {
  return withFd(path, (fd) => {
    const { dtype, shape, offset } = readHeaderFd(fd, path);
    // Straight into an aligned buffer of its own (the file offset need not be a multiple of the element
    // size), not via a whole-file buffer and a copy: a 267k x 512 matrix is 547 MB, and the copy doubled
    // the peak of every stage that loads one.
    const bytes = new Uint8Array(shape.reduce((a, b) => a * b, 1) * CTOR[dtype].BYTES_PER_ELEMENT);
    readFully(fd, bytes, 0, bytes.length, offset);
    return { dtype, shape, data: new CTOR[dtype](bytes.buffer) };
  });
}

/**
 * Rows `rows` (in that order) of a 2-D float32 `.npy`, read from the file without loading the matrix: a
 * stage that needs WEBEmo's 53k test rows reads 110 MB, not 547. Consecutive rows are read in one call.
 */
export function readMatrixRows(path: string, rows: ArrayLike<number>): Float32Array {
  return withFd(path, (fd) => {
    const { dtype, shape, offset } = readHeaderFd(fd, path);
    if (dtype !== 'float32' || shape.length !== 2) throw new Error(`${path}: expected a 2-D float32 matrix, found ${dtype} [${shape}]`);
    const rowBytes = shape[1] * 4;
    const out = new Float32Array(rows.length * shape[1]);
    const bytes = new Uint8Array(out.buffer);
    for (let i = 0; i < rows.length; ) {
      let j = i + 1;
      while (j < rows.length && rows[j] === rows[j - 1] + 1) j++;
      if (rows[i] < 0 || rows[j - 1] >= shape[0]) throw new Error(`${path}: row ${rows[i] < 0 ? rows[i] : rows[j - 1]} is outside the matrix (${shape[0]} rows)`);
      readFully(fd, bytes, i * rowBytes, (j - i) * rowBytes, offset + rows[i] * rowBytes);
      i = j;
    }
    return out;
  });
}

/** Reads a 2-D float32 matrix, failing with the file name when it is anything else. */
export function readMatrix(path: string): { rows: number; cols: number; data: Float32Array } {
  const npy = readNpy(path);
  if (npy.dtype !== 'float32' || npy.shape.length !== 2) {
    throw new Error(`${path}: expected a 2-D float32 matrix, found ${npy.dtype} [${npy.shape}]`);
  }
  return { rows: npy.shape[0], cols: npy.shape[1], data: npy.data as Float32Array };
}

/**
 * Appends float32 rows of a fixed width to a `.npy` file whose row count is not known in advance
 * (memory stays flat on 300k images); `close()` patches the final shape into the header.
 */
export class NpyRowWriter {
  private readonly fd: number;
  private rowCount = 0;
  constructor(
    readonly path: string,
    readonly cols: number,
  ) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, header('float32', [0, cols], STREAM_HEADER_LEN));
  }
  get rows(): number {
    return this.rowCount;
  }
  append(rows: Float32Array): void {
    if (rows.length % this.cols !== 0) throw new Error(`${this.path}: ${rows.length} values is not a whole number of ${this.cols}-wide rows`);
    writeSync(this.fd, Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength));
    this.rowCount += rows.length / this.cols;
  }
  close(): void {
    writeSync(this.fd, header('float32', [this.rowCount, this.cols], STREAM_HEADER_LEN), 0, STREAM_HEADER_LEN, 0);
    closeSync(this.fd);
  }
}
