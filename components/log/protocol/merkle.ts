/**
 * The Merkle tree over every log entry, in the shape of RFC 9162 (Certificate Transparency v2), section 2.1:
 * leaf hash SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right), the tree of n leaves split at the
 * largest power of two below n. Inclusion proofs (PATH) and consistency proofs (SUBPROOF) are built and checked
 * with the RFC's algorithms, so a reviewer can check them with any CT tooling and without any key. Pure.
 */
import { createHash, hash } from 'node:crypto';

export const HASH_BYTES = 32;

/**
 * One-shot hashing (crypto.hash) over one scratch buffer: half the cost of a createHash chain per call, and the
 * tree hashes every entry once and makes about one node per entry, so this is most of what appending and
 * verifying cost. The scratch buffers are safe to reuse: hashing is synchronous.
 */
let leafScratch = Buffer.alloc(1024);
const nodeScratch = Buffer.alloc(1 + 2 * HASH_BYTES);
nodeScratch[0] = 1;

export function leafHash(entry: Uint8Array): Buffer {
  if (entry.length + 1 > leafScratch.length) leafScratch = Buffer.alloc(2 * (entry.length + 1));
  leafScratch[0] = 0;
  leafScratch.set(entry, 1);
  return hash('sha256', leafScratch.subarray(0, entry.length + 1), 'buffer');
}

/**
 * The leaf hash of an entry given as text: U+0000 encodes as the single byte 0x00 in UTF-8, so hashing
 * "\u0000" + text is SHA-256(0x00 || utf8(text)) without encoding the text into a buffer first.
 */
export function leafHashOfText(text: string): Buffer {
  return hash('sha256', `\u0000${text}`, 'buffer');
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_BYTES);
  return sha256(nodeScratch);
}

const sha256 = (b: Uint8Array): Buffer => hash('sha256', b, 'buffer');
/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 2.1.1). */
export const EMPTY_ROOT = createHash('sha256').digest();

/** Largest power of two strictly below n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/**
 * Every complete subtree hash of an append-only tree, level by level (level 0: leaf hashes). Appending is O(1)
 * amortised, the root of any earlier size and any proof cost O(log n) hashes: the incomplete right edge is rebuilt
 * from complete subtrees on demand.
 */
export class MerkleTree {
  /** levels[l] holds the complete subtrees of 2^l leaves, 32 bytes each, packed. */
  private readonly levels: Buffer[] = [Buffer.alloc(HASH_BYTES * 1024)];
  private readonly counts: number[] = [0];

  get size(): number {
    return this.counts[0] as number;
  }

  appendLeafHash(h: Uint8Array): void {
    let level = 0;
    let hash: Uint8Array = h;
    for (;;) {
      const index = this.push(level, hash);
      if (index % 2 === 0) return;
      // The pair's two hashes are adjacent in the level buffer: copy both into the scratch in one call.
      (this.levels[level] as Buffer).copy(nodeScratch, 1, (index - 1) * HASH_BYTES, (index + 1) * HASH_BYTES);
      hash = sha256(nodeScratch);
      level++;
    }
  }

  append(entry: Uint8Array): void {
    this.appendLeafHash(leafHash(entry));
  }

  appendText(entry: string): void {
    this.appendLeafHash(leafHashOfText(entry));
  }

  /**
   * The right edge of the tree (protocol/frontier.ts): the complete subtrees' hashes, largest first, one per 1 bit
   * of the size. Each is stored already, so this costs no hashing.
   */
  frontierHashes(): Buffer[] {
    const out: Buffer[] = [];
    let offset = 0;
    for (let level = this.levels.length - 1; level >= 0; level--) {
      const width = 2 ** level;
      if (offset + width > this.size) continue;
      out.push(Buffer.from(this.node(level, offset / width)));
      offset += width;
    }
    return out;
  }

  /** The leaf hash of entry `index`. */
  leaf(index: number): Buffer {
    return this.node(0, index);
  }

  /** MTH of the first `size` leaves (RFC 9162 2.1.1). */
  root(size = this.size): Buffer {
    if (size === 0) return EMPTY_ROOT;
    return this.range(0, size);
  }

  /** Inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162 2.1.3.1, PATH). */
  inclusionProof(index: number, size = this.size): Buffer[] {
    const out: Buffer[] = [];
    this.path(index, 0, size, out);
    return out;
  }

  /** Consistency proof between the trees of `first` and `second` leaves (RFC 9162 2.1.4.1, SUBPROOF). */
  consistencyProof(first: number, second = this.size): Buffer[] {
    const out: Buffer[] = [];
    if (first > 0 && first < second) this.subproof(first, 0, second, true, out);
    return out;
  }

  private push(level: number, h: Uint8Array): number {
    if (this.levels.length <= level) {
      this.levels.push(Buffer.alloc(HASH_BYTES * 512));
      this.counts.push(0);
    }
    let buf = this.levels[level] as Buffer;
    const index = this.counts[level] as number;
    if ((index + 1) * HASH_BYTES > buf.length) {
      const grown = Buffer.alloc(buf.length * 2);
      buf.copy(grown);
      this.levels[level] = grown;
      buf = grown;
    }
    buf.set(h, index * HASH_BYTES);
    this.counts[level] = index + 1;
    return index;
  }

  private node(level: number, index: number): Buffer {
    const buf = this.levels[level] as Buffer;
    return buf.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
  }

  /** MTH(D[lo:hi]) where lo is a multiple of the largest power of two <= hi - lo (always so in the RFC recursions). */
  private range(lo: number, hi: number): Buffer {
    const n = hi - lo;
    if (isPowerOfTwo(n)) return this.node(Math.log2(n), lo / n);
    const k = splitPoint(n);
    return nodeHash(this.range(lo, lo + k), this.range(lo + k, hi));
  }

  private path(m: number, lo: number, hi: number, out: Buffer[]): void {
    const n = hi - lo;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      this.path(m, lo, lo + k, out);
      out.push(this.range(lo + k, hi));
    } else {
      this.path(m - k, lo + k, hi, out);
      out.push(this.range(lo, lo + k));
    }
  }

  private subproof(m: number, lo: number, hi: number, whole: boolean, out: Buffer[]): void {
    const n = hi - lo;
    if (m === n) {
      if (!whole) out.push(this.range(lo, hi));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.subproof(m, lo, lo + k, whole, out);
      out.push(this.range(lo + k, hi));
    } else {
      this.subproof(m - k, lo + k, hi, false, out);
      out.push(this.range(lo, lo + k));
    }
  }
}

const odd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/** RFC 9162 2.1.3.2: does `proof` show that `leaf` (a leaf hash) is entry `index` of the tree with `root`? */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(root));
}

/** RFC 9162 2.1.4.2: is the tree (`first`, `firstRoot`) a prefix of the tree (`second`, `secondRoot`)? */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  if (first > second) return false;
  if (first === 0) return proof.length === 0;
  if (first === second) return proof.length === 0 && eq(firstRoot, secondRoot);
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return eq(fr, firstRoot) && eq(sr, secondRoot) && sn === 0;
}
