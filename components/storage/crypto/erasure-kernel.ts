/**
 * What an erasure kernel does: outs[j] = XOR over i of rows[j][i] * ins[i], byte by byte in GF(256). Encoding
 * applies the parity rows to the data blocks; decoding applies the rows of an inverted matrix to the blocks read.
 * Two kernels: WebAssembly SIMD (erasure-wasm.ts, the fast one) and JavaScript (erasure-js.ts, the fallback and the
 * reference the property tests compare with).
 */
import type { Matrix } from './erasure-matrix.js';

export interface ErasureKernel {
  readonly name: 'wasm' | 'js';
  /**
   * All blocks have one length. The JavaScript kernel needs that length to be a multiple of 8 (erasure.ts's block
   * sizes always are); the WebAssembly kernel takes any length and any byte offset. Outputs must not overlap inputs.
   */
  apply(rows: Matrix, ins: readonly Uint8Array[], outs: readonly Uint8Array[]): void;
}
