/**
 * The JavaScript erasure kernel: the fallback where WebAssembly SIMD is not available, and the reference that the
 * WebAssembly kernel is tested against. It is the original coder's inner loop, unchanged:
 * - a coefficient of 1 is a plain XOR, done with 32-bit words (the normalised Cauchy matrix has many ones);
 * - other coefficients use a 64 Ki-entry table that multiplies two bytes at once (Uint16 lookups).
 */
import type { ErasureKernel } from './erasure-kernel.js';
import { gfMul } from './gf256.js';

/** 16-bit multiplication tables, built lazily per coefficient (128 KiB each; at most a handful are used). */
const wideTables = new Map<number, Uint16Array>();
function wideTable(c: number): Uint16Array {
  let t = wideTables.get(c);
  if (t) return t;
  const row = new Uint8Array(256);
  for (let v = 0; v < 256; v++) row[v] = gfMul(c, v);
  t = new Uint16Array(65536);
  // Each byte maps independently, so the table is correct whatever the platform's endianness.
  for (let hi = 0; hi < 256; hi++) {
    const h = row[hi]! << 8;
    const base = hi << 8;
    for (let lo = 0; lo < 256; lo++) t[base | lo] = h | row[lo]!;
  }
  wideTables.set(c, t);
  return t;
}

/** dst ^= c * src (or dst = c * src when `first`), element-wise. Lengths equal, a multiple of 8; offsets word-aligned. */
function mulAdd(dst: Uint8Array, src: Uint8Array, c: number, first: boolean): void {
  const len = src.length;
  if (c === 0) {
    if (first) dst.fill(0);
    return;
  }
  if (c === 1) {
    if (first) {
      dst.set(src);
      return;
    }
    const d = new Uint32Array(dst.buffer, dst.byteOffset, len >>> 2);
    const s = new Uint32Array(src.buffer, src.byteOffset, len >>> 2);
    for (let i = 0; i < d.length; i++) d[i]! ^= s[i]!;
    return;
  }
  const t = wideTable(c);
  const d = new Uint16Array(dst.buffer, dst.byteOffset, len >>> 1);
  const s = new Uint16Array(src.buffer, src.byteOffset, len >>> 1);
  if (first) for (let i = 0; i < d.length; i++) d[i] = t[s[i]!]!;
  else for (let i = 0; i < d.length; i++) d[i]! ^= t[s[i]!]!;
}

/** Word views need word-aligned offsets: a block that is not gets copied once. */
const wordAligned = (b: Uint8Array) => (b.byteOffset % 4 === 0 ? b : b.slice());

export const jsKernel: ErasureKernel = {
  name: 'js',
  apply(rows, ins, outs) {
    const aligned = ins.map(wordAligned);
    rows.forEach((row, j) => {
      const out = outs[j]!;
      const dst = wordAligned(out);
      for (let i = 0; i < aligned.length; i++) mulAdd(dst, aligned[i]!, row[i]!, i === 0);
      if (dst !== out) out.set(dst);
    });
  },
};
