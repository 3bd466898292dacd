/**
 * Systematic Reed-Solomon erasure code over GF(2^8): k data blocks + (n-k) parity blocks, any k of the n rebuild
 * the data (DepSky-CA uses k = f+1, so each cloud stores about 1/(f+1) of the ciphertext).
 *
 * The parity coefficients are a normalised Cauchy matrix (erasure-matrix.ts); stored objects depend on them. The
 * arithmetic runs in one of two kernels that give identical bytes (test/storage/erasure-kernels.test.ts):
 * WebAssembly SIMD with split nibble tables and byte shuffles (erasure-wasm.ts, several times faster), or, where
 * WebAssembly SIMD is unavailable (e.g. `node --jitless`), the original JavaScript (erasure-js.ts).
 *
 * Why our own module: the maintained npm Reed-Solomon packages are either native addons (need a compiler, which
 * `npm ci --ignore-scripts` setups do not have), WASM builds with a copy per call, or error-correcting codes for
 * QR/byte streams (not erasure codes with per-block layout).
 *
 * Block sizes are padded to a multiple of 8 bytes so that the JavaScript kernel's word views always line up.
 */
import { jsKernel } from './erasure-js.js';
import type { ErasureKernel } from './erasure-kernel.js';
import { checkParams, decodeMatrix, parityMatrix } from './erasure-matrix.js';
import { wasmKernel } from './erasure-wasm.js';

export type { ErasureKernel } from './erasure-kernel.js';
export { gfInv, gfMul } from './gf256.js';

/** Block sizes are multiples of this (and at least this). */
const BLOCK_ALIGN = 8;

/** Size of each of the n blocks for `length` bytes of data: ceil(length/k), rounded up to a multiple of 8 (min 8). */
export function blockSize(length: number, k: number): number {
  const raw = Math.ceil(length / k);
  return Math.max(BLOCK_ALIGN, Math.ceil(raw / BLOCK_ALIGN) * BLOCK_ALIGN);
}

/** The erasure code's operations over one kernel; the module's own functions use the fastest kernel available. */
export interface ErasureCoder {
  readonly kernel: ErasureKernel['name'];
  encode(data: Uint8Array, n: number, k: number): Uint8Array[];
  encodeParity(blocks: Uint8Array[], n: number, k: number): void;
  decode(blocks: readonly (Uint8Array | undefined)[], n: number, k: number, length: number): Uint8Array;
}

/**
 * Encode `data` into n blocks of equal size. Blocks 0..k-1 are the data itself (zero-padded; they may be views of
 * `data`, so do not modify `data` while the blocks are in use); k..n-1 are parity.
 * The original length is not stored here: callers keep it (DepSky-CA keeps it in the signed metadata).
 */
function encodeWith(kernel: ErasureKernel, data: Uint8Array, n: number, k: number): Uint8Array[] {
  checkParams(n, k);
  const size = blockSize(data.length, k);
  const blocks: Uint8Array[] = [];
  // Data blocks are views of the input when it is word-aligned (no copy: the bytes are touched once, by the
  // parity loop). Only a short last block is copied into a zero-padded buffer.
  const aligned = data.byteOffset % 4 === 0;
  for (let i = 0; i < k; i++) {
    const start = i * size;
    const end = start + size;
    if (aligned && end <= data.length) blocks.push(data.subarray(start, end));
    else {
      const b = new Uint8Array(size);
      if (start < data.length) b.set(data.subarray(start, Math.min(end, data.length)));
      blocks.push(b);
    }
  }
  const parity = new Uint8Array(size * (n - k));
  const outs = Array.from({ length: n - k }, (_, j) => parity.subarray(j * size, (j + 1) * size));
  kernel.apply(parityMatrix(n, k), blocks, outs);
  blocks.push(...outs);
  return blocks;
}

/**
 * Fill the parity blocks in place: `blocks` holds n views of equal size (a multiple of 8, word-aligned), the first
 * k already holding the data. Lets callers place blocks where they will be sent (e.g. after a header) with no copy.
 */
function encodeParityWith(kernel: ErasureKernel, blocks: Uint8Array[], n: number, k: number): void {
  checkParams(n, k);
  if (blocks.length !== n) throw new RangeError(`erasure code: expected ${n} blocks, got ${blocks.length}`);
  const size = blocks[0]!.length;
  for (const b of blocks) {
    if (b.length !== size || size % BLOCK_ALIGN !== 0 || b.byteOffset % 4 !== 0) {
      throw new RangeError('erasure code: blocks must have one size, a multiple of 8, and be word-aligned');
    }
  }
  kernel.apply(parityMatrix(n, k), blocks.slice(0, k), blocks.slice(k));
}

/**
 * Rebuild the original `length` bytes from any k present blocks (missing ones are undefined). Blocks must all have
 * the encoder's block size; callers verify each block's digest first, so a present block is a correct block.
 */
function decodeWith(
  kernel: ErasureKernel,
  blocks: readonly (Uint8Array | undefined)[],
  n: number,
  k: number,
  length: number,
): Uint8Array {
  checkParams(n, k);
  if (blocks.length !== n) throw new RangeError(`erasure code: expected ${n} block slots, got ${blocks.length}`);
  const size = blockSize(length, k);
  const present: number[] = [];
  for (let b = 0; b < n && present.length < k; b++) {
    const blk = blocks[b];
    if (blk === undefined) continue;
    if (blk.length !== size) throw new RangeError(`erasure code: block ${b} has ${blk.length} bytes, expected ${size}`);
    present.push(b);
  }
  if (present.length < k) throw new RangeError(`erasure code: need ${k} blocks, got ${present.length}`);
  const out = new Uint8Array(size * k);
  const missing: number[] = [];
  for (let i = 0; i < k; i++) {
    if (present.includes(i)) out.set(blocks[i]!, i * size);
    else missing.push(i);
  }
  if (missing.length > 0) {
    const ins = present.map((b) => blocks[b]!);
    const outs = missing.map((i) => out.subarray(i * size, (i + 1) * size));
    kernel.apply(decodeMatrix(n, k, present, missing), ins, outs);
  }
  return out.subarray(0, length);
}

/** The erasure code over a given kernel (tests and the benchmark compare the two kernels through this). */
export function erasureCoder(kernel: ErasureKernel): ErasureCoder {
  return {
    kernel: kernel.name,
    encode: (data, n, k) => encodeWith(kernel, data, n, k),
    encodeParity: (blocks, n, k) => encodeParityWith(kernel, blocks, n, k),
    decode: (blocks, n, k, length) => decodeWith(kernel, blocks, n, k, length),
  };
}

export const javascriptCoder: ErasureCoder = erasureCoder(jsKernel);

let fastest: ErasureCoder | undefined;
/** The coder this runtime runs fastest: WebAssembly SIMD where available, else JavaScript. Chosen on first use. */
export function defaultCoder(): ErasureCoder {
  if (!fastest) {
    const wasm = wasmKernel();
    fastest = wasm ? erasureCoder(wasm) : javascriptCoder;
  }
  return fastest;
}

/** See encodeWith. */
export const encode = (data: Uint8Array, n: number, k: number): Uint8Array[] => defaultCoder().encode(data, n, k);
/** See encodeParityWith. */
export const encodeParity = (blocks: Uint8Array[], n: number, k: number): void =>
  defaultCoder().encodeParity(blocks, n, k);
/** See decodeWith. */
export const decode = (blocks: readonly (Uint8Array | undefined)[], n: number, k: number, length: number): Uint8Array =>
  defaultCoder().decode(blocks, n, k, length);
