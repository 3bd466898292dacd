/**
 * The coefficient matrices of the systematic Reed-Solomon code (see erasure.ts): the parity rows of the generator,
 * and for decoding, the rows that rebuild missing data blocks from the blocks at hand (inverted once per erasure
 * pattern and cached). Pure arithmetic: both kernels (JavaScript and WebAssembly) apply the same matrices.
 */
import { gfInv, gfMul } from './gf256.js';

/** Largest n: block indices and Cauchy points must be distinct field elements. */
export const MAX_BLOCKS = 255;
/** Decode matrices kept (one per erasure pattern seen): a handful in practice (n <= 10 clouds). */
const DECODE_CACHE_ENTRIES = 64;

export type Matrix = readonly (readonly number[])[];

export function checkParams(n: number, k: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 1 || n < k || n > MAX_BLOCKS) {
    throw new RangeError(`erasure code: need 1 <= k <= n <= ${MAX_BLOCKS}, got n=${n} k=${k}`);
  }
}

/**
 * (n-k) x k parity coefficients: Cauchy matrix 1/(x_j ^ y_i), normalised to ones in row 0 and column 0 (scaling
 * rows and columns of a Cauchy matrix keeps every square submatrix invertible, so the code stays MDS; a 1 is a plain
 * XOR in the JavaScript kernel). Stored objects depend on these exact values: never change them.
 */
const parityCache = new Map<string, number[][]>();
export function parityMatrix(n: number, k: number): Matrix {
  const key = `${n}/${k}`;
  const cached = parityCache.get(key);
  if (cached) return cached;
  const m = n - k;
  const c: number[][] = [];
  for (let j = 0; j < m; j++) {
    const row: number[] = [];
    for (let i = 0; i < k; i++) row.push(gfInv((k + j) ^ i));
    c.push(row);
  }
  // n = k (no parity) leaves nothing to normalise.
  for (let i = 0; i < k && m > 0; i++) {
    const s = gfInv(c[0]![i]!);
    for (let j = 0; j < m; j++) c[j]![i] = gfMul(c[j]![i]!, s);
  }
  for (let j = 1; j < m; j++) {
    const s = gfInv(c[j]![0]!);
    for (let i = 0; i < k; i++) c[j]![i] = gfMul(c[j]![i]!, s);
  }
  parityCache.set(key, c);
  return c;
}

/** Invert a k x k matrix over GF(256) (Gauss-Jordan). Throws if singular (cannot happen for an MDS generator). */
function invert(a: Matrix): number[][] {
  const k = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: k }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < k; col++) {
    let piv = col;
    while (piv < k && m[piv]![col] === 0) piv++;
    if (piv === k) throw new Error('erasure code: singular decode matrix');
    [m[col], m[piv]] = [m[piv]!, m[col]!];
    const inv = gfInv(m[col]![col]!);
    for (let j = 0; j < 2 * k; j++) m[col]![j] = gfMul(m[col]![j]!, inv);
    for (let r = 0; r < k; r++) {
      if (r === col || m[r]![col] === 0) continue;
      const factor = m[r]![col]!;
      for (let j = 0; j < 2 * k; j++) m[r]![j]! ^= gfMul(factor, m[col]![j]!);
    }
  }
  return m.map((row) => row.slice(k));
}

/** Row of the systematic generator matrix for block index `b`. */
function generatorRow(b: number, n: number, k: number): readonly number[] {
  if (b < k) return Array.from({ length: k }, (_, i) => (i === b ? 1 : 0));
  return parityMatrix(n, k)[b - k]!;
}

const decodeCache = new Map<string, Matrix>();

/**
 * Rows that rebuild the data blocks `missing` from the k blocks `present` (block indices, ascending): row r gives
 * missing[r] as a combination of the present blocks. Cached per erasure pattern, oldest pattern evicted first.
 */
export function decodeMatrix(n: number, k: number, present: readonly number[], missing: readonly number[]): Matrix {
  const key = `${n}/${k}/${present.join(',')}`;
  let inv = decodeCache.get(key);
  if (!inv) {
    inv = invert(present.map((b) => generatorRow(b, n, k)));
    if (decodeCache.size >= DECODE_CACHE_ENTRIES) decodeCache.delete(decodeCache.keys().next().value!);
    decodeCache.set(key, inv);
  }
  const rows = inv;
  return missing.map((i) => rows[i]!);
}
