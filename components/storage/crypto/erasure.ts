/**
 * Systematic Reed-Solomon erasure code over GF(2^8): k data blocks + (n-k) parity blocks, any k of the n rebuild
 * the data (DepSky-CA uses k = f+1, so each cloud stores about 1/(f+1) of the ciphertext).
 *
 * Why our own module: the maintained npm Reed-Solomon packages are either native addons (need a compiler, which
 * `npm ci --ignore-scripts` setups do not have), WASM builds with a copy per call, or error-correcting codes for
 * QR/byte streams (not erasure codes with per-block layout). This file is ~200 lines, pure TypeScript, and fast
 * enough (bench/storage.ts: encode speed vs the 300 MB/s target).
 *
 * Speed tricks:
 * - The parity matrix is a Cauchy matrix normalised so that its first row and first column are all ones
 *   (scaling rows/columns of a Cauchy matrix keeps every square submatrix invertible, so the code stays MDS).
 *   A coefficient of 1 is a plain XOR, done with 32-bit words; for n=4, f=1 three of the four coefficients are 1.
 * - Other coefficients use a 64 Ki-entry table that multiplies two bytes at once (Uint16 lookups).
 * - Block sizes are padded to a multiple of 8 bytes so that word views always line up.
 */

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
(() => {
  // Generator 2 over the AES-unrelated polynomial x^8+x^4+x^3+x^2+1 (0x11d), the usual RS field.
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
})();

export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a]! + LOG[b]!]!;
}

export function gfInv(a: number): number {
  if (a === 0) throw new Error('GF(256): inverse of 0');
  return EXP[255 - LOG[a]!]!;
}

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

/** dst ^= c * src, element-wise. Both lengths equal and a multiple of 8; byteOffsets multiples of 4. */
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

/** (n-k) x k parity coefficients: Cauchy matrix 1/(x_j ^ y_i), normalised to ones in row 0 and column 0. */
const matrices = new Map<string, number[][]>();
function parityMatrix(n: number, k: number): number[][] {
  const key = `${n}/${k}`;
  const cached = matrices.get(key);
  if (cached) return cached;
  const m = n - k;
  const c: number[][] = [];
  for (let j = 0; j < m; j++) {
    const row: number[] = [];
    for (let i = 0; i < k; i++) row.push(gfInv((k + j) ^ i));
    c.push(row);
  }
  for (let i = 0; i < k; i++) {
    const s = gfInv(c[0]![i]!);
    for (let j = 0; j < m; j++) c[j]![i] = gfMul(c[j]![i]!, s);
  }
  for (let j = 1; j < m; j++) {
    const s = gfInv(c[j]![0]!);
    for (let i = 0; i < k; i++) c[j]![i] = gfMul(c[j]![i]!, s);
  }
  matrices.set(key, c);
  return c;
}

function checkParams(n: number, k: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 1 || n < k || n > 255) {
    throw new RangeError(`erasure code: need 1 <= k <= n <= 255, got n=${n} k=${k}`);
  }
}

/** Size of each of the n blocks for `length` bytes of data: ceil(length/k), rounded up to a multiple of 8 (min 8). */
export function blockSize(length: number, k: number): number {
  const raw = Math.ceil(length / k);
  return Math.max(8, Math.ceil(raw / 8) * 8);
}

/**
 * Encode `data` into n blocks of equal size. Blocks 0..k-1 are the data itself (zero-padded; they may be views of
 * `data`, so do not modify `data` while the blocks are in use); k..n-1 are parity.
 * The original length is not stored here: callers keep it (DepSky-CA keeps it in the signed metadata).
 */
export function encode(data: Uint8Array, n: number, k: number): Uint8Array[] {
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
  const c = parityMatrix(n, k);
  for (let j = 0; j < n - k; j++) {
    const p = parity.subarray(j * size, (j + 1) * size);
    for (let i = 0; i < k; i++) mulAdd(p, blocks[i]!, c[j]![i]!, i === 0);
    blocks.push(p);
  }
  return blocks;
}

/**
 * Fill the parity blocks in place: `blocks` holds n views of equal size (a multiple of 8, word-aligned), the first
 * k already holding the data. Lets callers place blocks where they will be sent (e.g. after a header) with no copy.
 */
export function encodeParity(blocks: Uint8Array[], n: number, k: number): void {
  checkParams(n, k);
  if (blocks.length !== n) throw new RangeError(`erasure code: expected ${n} blocks, got ${blocks.length}`);
  const size = blocks[0]!.length;
  for (const b of blocks) {
    if (b.length !== size || size % 8 !== 0 || b.byteOffset % 4 !== 0) {
      throw new RangeError('erasure code: blocks must have one size, a multiple of 8, and be word-aligned');
    }
  }
  const c = parityMatrix(n, k);
  for (let j = 0; j < n - k; j++) {
    for (let i = 0; i < k; i++) mulAdd(blocks[k + j]!, blocks[i]!, c[j]![i]!, i === 0);
  }
}

/** Invert a k x k matrix over GF(256) (Gauss-Jordan). Throws if singular (cannot happen for an MDS generator). */
function invert(a: number[][]): number[][] {
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
function generatorRow(b: number, n: number, k: number): number[] {
  if (b < k) return Array.from({ length: k }, (_, i) => (i === b ? 1 : 0));
  return parityMatrix(n, k)[b - k]!;
}

/**
 * Rebuild the original `length` bytes from any k present blocks (missing ones are undefined). Blocks must all have
 * the encoder's block size; callers verify each block's digest first, so a present block is a correct block.
 */
export function decode(blocks: readonly (Uint8Array | undefined)[], n: number, k: number, length: number): Uint8Array {
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
  const missingData: number[] = [];
  for (let i = 0; i < k; i++) {
    const at = present.indexOf(i);
    if (at >= 0) out.set(blocks[i]!, i * size);
    else missingData.push(i);
  }
  if (missingData.length > 0) {
    // Blocks whose byte offset is not word-aligned are copied once so that the word views in mulAdd work.
    const aligned = present.map((b) => {
      const blk = blocks[b]!;
      return blk.byteOffset % 4 === 0 ? blk : blk.slice();
    });
    const inv = invert(present.map((b) => generatorRow(b, n, k)));
    for (const i of missingData) {
      const dst = out.subarray(i * size, (i + 1) * size);
      for (let r = 0; r < k; r++) mulAdd(dst, aligned[r]!, inv[i]![r]!, r === 0);
    }
  }
  return out.subarray(0, length);
}
