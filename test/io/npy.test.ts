import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NpyRowWriter, readMatrix, readMatrixRows, readNpy, readNpyHeader, writeNpy } from '../../src/io/npy.js';

const dir = mkdtempSync(join(tmpdir(), 'pipe-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npy', () => {
  it('writes the exact header numpy.save writes (format 1.0, 64-byte aligned)', () => {
    const p = join(dir, 'a.npy');
    writeNpy(p, Float32Array.of(1, 2, 3, 4), [2, 2]);
    const buf = readFileSync(p);
    // Bytes numpy 1.24 writes for np.save(p, np.array([[1,2],[3,4]], dtype='<f4')).
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
    expect(buf.readUInt16LE(8)).toBe(118);
    expect(buf.toString('latin1', 10, 128)).toBe(dict.padEnd(117, ' ') + '\n');
    expect(buf.length).toBe(128 + 16);
    expect(readMatrix(p)).toEqual({ rows: 2, cols: 2, data: Float32Array.of(1, 2, 3, 4) });
  });

  it('round-trips 1-D and integer arrays', () => {
    const p = join(dir, 'b.npy');
    writeNpy(p, BigInt64Array.of(5n, -7n, 9n), [3]);
    const npy = readNpy(p);
    expect(npy.shape).toEqual([3]);
    expect(npy.dtype).toBe('int64');
    expect(Array.from(npy.data as BigInt64Array)).toEqual([5n, -7n, 9n]);
    expect(readFileSync(p).toString('latin1', 10, 70)).toContain("'shape': (3,)");
  });

  it('streams rows and patches the row count into the header on close', () => {
    const p = join(dir, 'c.npy');
    const w = new NpyRowWriter(p, 3);
    w.append(Float32Array.of(1, 2, 3));
    w.append(Float32Array.of(4, 5, 6, 7, 8, 9));
    expect(() => w.append(Float32Array.of(1))).toThrow(/3-wide rows/);
    w.close();
    const m = readMatrix(p);
    expect([m.rows, m.cols]).toEqual([3, 3]);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('names the file when it is not a float32 matrix or not a .npy at all', () => {
    const p = join(dir, 'd.npy');
    writeNpy(p, Int32Array.of(1, 2), [2]);
    expect(() => readMatrix(p)).toThrow(`${p}: expected a 2-D float32 matrix, found int32 [2]`);
    const q = join(dir, 'e.npy');
    writeFileSync(q, 'hello');
    expect(() => readNpy(q)).toThrow(`${q}: not a .npy file`);
  });

  it('reads chosen rows from the file, in the order asked, without the matrix; a row outside it is an error', () => {
    const p = join(dir, 'rows.npy');
    const m = Float32Array.from({ length: 10 * 3 }, (_, i) => i);
    writeNpy(p, m, [10, 3]);
    expect(readNpyHeader(p)).toEqual({ dtype: 'float32', shape: [10, 3], offset: 128 });
    const rows = [7, 2, 3, 4, 9, 0, 0];
    const want = Float32Array.from(rows.flatMap((r) => [...m.subarray(r * 3, r * 3 + 3)]));
    expect(readMatrixRows(p, rows)).toEqual(want);
    expect(readMatrixRows(p, [])).toEqual(new Float32Array(0));
    expect(() => readMatrixRows(p, [1, 10])).toThrow(/row 10 is outside the matrix \(10 rows\)/);
    writeFileSync(join(dir, 'short.npy'), readFileSync(p).subarray(0, 128 + 4 * 29));
    expect(() => readNpy(join(dir, 'short.npy'))).toThrow(/needs 30 values, file holds 29/);
  });
});
