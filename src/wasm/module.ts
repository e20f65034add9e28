// A minimal WebAssembly module encoder for the project's hand-written SIMD kernels (the Keras Adam update
// in src/train/adam-kernel.ts, Pillow's resampling passes in src/clip/resample-kernel.ts). A few small
// functions do not justify a toolchain (wabt, emscripten) or generated binaries in the repository, so
// their bytes are written out from the binary format spec
// (https://webassembly.github.io/spec/core/binary/); this module holds what every kernel shares.

// Value types.
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

// Control and variable instructions, and the i32 ones every loop needs.
export const BLOCK = 0x02;
export const LOOP = 0x03;
export const END = 0x0b;
export const BR = 0x0c;
export const BR_IF = 0x0d;
/** Block type of a block without results. */
export const VOID = 0x40;
export const LOCAL_GET = 0x20;
export const LOCAL_SET = 0x21;
export const LOCAL_TEE = 0x22;
export const I32_CONST = 0x41;
export const I32_GE_U = 0x4f;
export const I32_ADD = 0x6a;
/** Prefix of the SIMD instructions (their sub-opcode follows as LEB128). */
export const SIMD = 0xfd;

/** Unsigned LEB128 (sizes, indices). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32.const immediates). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

export interface KernelFunction {
  readonly name: string;
  /** Parameter value types; kernels return nothing. */
  readonly params: readonly number[];
  /** The function body: local declarations, then the code, ending with END. */
  readonly body: readonly number[];
}

const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

/** A module that imports memory `env.mem` (at least one page) and exports `functions` by name. */
export function kernelModuleBytes(functions: readonly KernelFunction[]): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(functions.map((f) => [0x60, ...uleb(f.params.length), ...f.params, 0]))),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 0x01]),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vector(functions.map((f) => [...uleb(f.body.length), ...f.body]))),
  ]);
}

/** Compiles and instantiates kernels against `memory` (synchronously: the modules are tiny). */
export function instantiateKernels(bytes: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory): WebAssembly.Exports {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } }).exports;
}
