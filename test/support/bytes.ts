// Byte-for-byte equality of large buffers, typed arrays and sets of files. `expect(a).toEqual(b)` walks a
// Buffer or typed array element by element through vitest's generic deep equality: ~0.9 s of CPU for a
// 300 x 512 float matrix (600 kB), paid by every such check. These compare the bytes in one call and, when
// they differ, say where. Bytes are as strict as toEqual on numbers (which tells -0 from 0 too) and
// stricter only for NaNs with different payloads.
import { expect } from 'vitest';

const bytesOf = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

const tag = (v: unknown): string => Object.prototype.toString.call(v);

/** `got` holds the same bytes as `want`, in the same kind of array (as toEqual: a Buffer is a Uint8Array). */
export function expectSameBytes(got: ArrayBufferView, want: ArrayBufferView, what = 'bytes'): void {
  expect(tag(got), what).toBe(tag(want));
  const [a, b] = [bytesOf(got), bytesOf(want)];
  if (a.equals(b)) return;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  expect.fail(`${what}: ${a.length} bytes, expected ${b.length}; the first difference is at byte ${i}`);
}

/** The same file names, each with the same bytes. */
export function expectSameFiles(got: ReadonlyMap<string, Buffer>, want: ReadonlyMap<string, Buffer>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [name, bytes] of want) expectSameBytes(got.get(name)!, bytes, name);
}
