/**
 * HMAC-SHA256 (RFC 2104 / FIPS 198-1) for many short messages under a fixed key.
 *
 * Why not only node:crypto: every createHmac() call costs about 2 µs of object set-up and native-call overhead,
 * whatever the message length, and the SMR hot path MACs every request once per replica (the client's MAC vector)
 * and checks it at every replica: for a 40-byte request that overhead was a quarter of the client's CPU per
 * request (bench/smr.ts profile). This class hashes the key pads once (the inner and outer midstates) and runs
 * the two remaining SHA-256 compressions of a short message in JavaScript, about 0.8 µs for a 1-block request.
 * Longer messages, where native hashing wins, go to node:crypto with a KeyObject made once. Both paths produce
 * the standard HMAC-SHA256; test/runtime/hmac-sha256.test.ts checks the RFC 4231 vectors and random inputs
 * against node:crypto on both sides of the threshold.
 *
 * Side channels: the compression uses only additions, rotations and bitwise operations on the secret state, no
 * secret-dependent branches or table indexes, and callers compare tags with timingSafeEqual.
 */
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** At or below this many bytes the JavaScript path is faster than a native call (measured on Node 20, x64). */
const JS_MAX_BYTES = 256;

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// Scratch space shared by all keys: JavaScript runs one call at a time and no call yields.
const W = new Int32Array(64);
const state = new Int32Array(8);
const block = new Uint8Array(64);
/** The outer hash's only block: the inner digest (bytes 0..31), then padding for a 96-byte message (fixed). */
const outerBlock = new Uint8Array(64);
outerBlock[32] = 0x80;
outerBlock[62] = 0x03;

/** One SHA-256 compression of the 64 bytes of `b` at `off` into `st`. */
function compress(st: Int32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const o = off + i * 4;
    W[i] = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = st[0]!;
  let b1 = st[1]!;
  let c = st[2]!;
  let d = st[3]!;
  let e = st[4]!;
  let f = st[5]!;
  let g = st[6]!;
  let h = st[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b1) ^ (a & c) ^ (b1 & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b1;
    b1 = a;
    a = (t1 + t2) | 0;
  }
  st[0] = (st[0]! + a) | 0;
  st[1] = (st[1]! + b1) | 0;
  st[2] = (st[2]! + c) | 0;
  st[3] = (st[3]! + d) | 0;
  st[4] = (st[4]! + e) | 0;
  st[5] = (st[5]! + f) | 0;
  st[6] = (st[6]! + g) | 0;
  st[7] = (st[7]! + h) | 0;
}

function putState(st: Int32Array, out: Uint8Array, off: number, words = 8): void {
  for (let i = 0; i < words; i++) {
    const v = st[i]!;
    out[off + i * 4] = v >>> 24;
    out[off + i * 4 + 1] = v >>> 16;
    out[off + i * 4 + 2] = v >>> 8;
    out[off + i * 4 + 3] = v;
  }
}

export class HmacSha256Key {
  private readonly inner = new Int32Array(IV);
  private readonly outer = new Int32Array(IV);
  private readonly native: KeyObject;

  /** `key`: the raw key bytes (any length; keys over 64 bytes are hashed first, as RFC 2104 says). */
  constructor(key: Uint8Array) {
    this.native = createSecretKey(key);
    const k = key.length > 64 ? createHash('sha256').update(key).digest() : key;
    const ipad = new Uint8Array(64).fill(0x36);
    const opad = new Uint8Array(64).fill(0x5c);
    for (let i = 0; i < k.length; i++) {
      ipad[i]! ^= k[i]!;
      opad[i]! ^= k[i]!;
    }
    compress(this.inner, ipad, 0);
    compress(this.outer, opad, 0);
  }

  /**
   * The tag of `msg`, written to `out` at `offset` (a new Buffer when `out` is omitted): all 32 bytes, or its first
   * `length` bytes (a multiple of 4: truncated HMAC, RFC 2104 section 5).
   */
  mac(msg: Uint8Array, out?: Uint8Array, offset = 0, length = 32): Uint8Array {
    return this.macOf(msg, 0, msg.length, out, offset, length);
  }

  /**
   * The tag of `src[start, end)`, as `mac` (no view of the message is made: a request's authenticated bytes are a
   * prefix of the request, and a client MACs a body it is building in place).
   */
  macOf(src: Uint8Array, start: number, end: number, out?: Uint8Array, offset = 0, length = 32): Uint8Array {
    if (!(length > 0 && length <= 32 && length % 4 === 0)) throw new RangeError(`tag length ${length}`);
    if (!(start >= 0 && start <= end && end <= src.length)) throw new RangeError(`message range ${start}..${end}`);
    const dest = out ?? Buffer.allocUnsafe(length);
    const n = end - start;
    if (n > JS_MAX_BYTES) {
      const tag = createHmac('sha256', this.native).update(src.subarray(start, end)).digest();
      dest.set(tag.subarray(0, length), offset);
      return dest;
    }
    // Inner hash: midstate after ipad, then msg, 0x80, zeros, 64-bit big-endian bit length of ipad || msg.
    state.set(this.inner);
    let o = start;
    for (; o + 64 <= end; o += 64) compress(state, src, o);
    // The last block, written byte by byte (cheaper than fill + set + a view for a block this size).
    const rest = end - o;
    for (let i = 0; i < rest; i++) block[i] = src[o + i]!;
    block[rest] = 0x80;
    if (rest >= 56) {
      for (let i = rest + 1; i < 64; i++) block[i] = 0;
      compress(state, block, 0);
      for (let i = 0; i < 56; i++) block[i] = 0;
    } else for (let i = rest + 1; i < 56; i++) block[i] = 0;
    const bits = (64 + n) * 8; // < 2^32 here (n <= JS_MAX_BYTES)
    block[56] = 0;
    block[57] = 0;
    block[58] = 0;
    block[59] = 0;
    block[60] = bits >>> 24;
    block[61] = bits >>> 16;
    block[62] = bits >>> 8;
    block[63] = bits;
    compress(state, block, 0);
    // Outer hash: midstate after opad, then the 32-byte inner digest; 96 bytes in all = 768 bits. Bytes 32..63 of
    // the outer block are that fixed padding, set once.
    putState(state, outerBlock, 0);
    state.set(this.outer);
    compress(state, outerBlock, 0);
    putState(state, dest, offset, length >>> 2);
    return dest;
  }
}
