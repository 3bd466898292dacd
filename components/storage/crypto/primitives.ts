/**
 * The cryptographic primitives of DepSky, modernised (the seed, TClouds D2.2.1 ch. 6.3, used RSA-1024 signatures,
 * SHA-1 and publicly verifiable secret sharing, now all weak or needlessly slow): Ed25519 signatures and SHA-256 from node:crypto, AES-256-GCM with a fresh
 * key per write, and Shamir secret sharing over GF(256) from the audited `shamir-secret-sharing` package.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';

export function sha256(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function signEd25519(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  return edSign(null, message, privateKey);
}

export function verifyEd25519(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return edVerify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}

export const AES_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes that AES-GCM adds to a plaintext: IV in front, tag at the end. */
export const AEAD_OVERHEAD = IV_BYTES + TAG_BYTES;

export function generateSecretKey(): Uint8Array {
  return randomBytes(AES_KEY_BYTES);
}

/**
 * AES-256-GCM: returns iv || ciphertext || tag in one buffer (so the erasure code gets a single input and no
 * extra copy is made). `aad` binds the ciphertext to its data unit and version.
 */
export function encrypt(plain: Uint8Array, key: Uint8Array, aad: Uint8Array): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const out = new Uint8Array(plain.length + AEAD_OVERHEAD);
  out.set(iv, 0);
  // Encrypt in 4 MiB slices straight into `out`: one output buffer, no concat of a second full-size copy.
  const slice = 4 << 20;
  let at = IV_BYTES;
  for (let off = 0; off < plain.length; off += slice) {
    const part = cipher.update(plain.subarray(off, Math.min(plain.length, off + slice)));
    out.set(part, at);
    at += part.length;
  }
  const fin = cipher.final();
  out.set(fin, at);
  at += fin.length;
  out.set(cipher.getAuthTag(), at);
  return out;
}

/**
 * encrypt() into a caller-given sink: `write(bytes)` receives iv, ciphertext slices and the tag in order, so the
 * sealed value can land directly in its final place (DepSky-CA: the erasure-code data blocks). Returns the length.
 */
export function encryptTo(plain: Uint8Array, key: Uint8Array, aad: Uint8Array, write: (b: Uint8Array) => void): number {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  write(iv);
  const slice = 4 << 20;
  for (let off = 0; off < plain.length; off += slice)
    write(cipher.update(plain.subarray(off, Math.min(plain.length, off + slice))));
  write(cipher.final());
  write(cipher.getAuthTag());
  return plain.length + AEAD_OVERHEAD;
}

/**
 * decrypt() of a sealed value given as consecutive parts (DepSky-CA: the data blocks, no concatenation).
 * `length` is the sealed length; the parts may be longer (padding) and are read in order.
 */
export function decryptParts(
  parts: readonly Uint8Array[],
  length: number,
  key: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  if (length < AEAD_OVERHEAD) throw new Error('ciphertext too short');
  // Cut [start, end) of the virtual concatenation into views.
  const range = (start: number, end: number): Uint8Array[] => {
    const out: Uint8Array[] = [];
    let base = 0;
    for (const p of parts) {
      const a = Math.max(start, base);
      const b = Math.min(end, base + p.length);
      if (a < b) out.push(p.subarray(a - base, b - base));
      base += p.length;
      if (base >= end) break;
    }
    return out;
  };
  const join = (xs: Uint8Array[]) => (xs.length === 1 ? xs[0]! : Buffer.concat(xs));
  const iv = join(range(0, IV_BYTES));
  const tag = join(range(length - TAG_BYTES, length));
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const out = new Uint8Array(length - AEAD_OVERHEAD);
  let at = 0;
  const slice = 4 << 20;
  for (const part of range(IV_BYTES, length - TAG_BYTES)) {
    for (let off = 0; off < part.length; off += slice) {
      const d = decipher.update(part.subarray(off, Math.min(part.length, off + slice)));
      out.set(d, at);
      at += d.length;
    }
  }
  out.set(decipher.final(), at);
  return out;
}

/** Inverse of encrypt. Throws if the key, the AAD or any byte is wrong (GCM tag check). */
export function decrypt(sealed: Uint8Array, key: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < AEAD_OVERHEAD) throw new Error('ciphertext too short');
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const out = new Uint8Array(body.length);
  const slice = 4 << 20;
  let at = 0;
  for (let off = 0; off < body.length; off += slice) {
    const part = decipher.update(body.subarray(off, Math.min(body.length, off + slice)));
    out.set(part, at);
    at += part.length;
  }
  const fin = decipher.final();
  out.set(fin, at);
  return out;
}

/** Shamir: n shares of `secret`, any `threshold` of them rebuild it, fewer reveal nothing. */
export async function shareSecret(secret: Uint8Array, n: number, threshold: number): Promise<Uint8Array[]> {
  // The library checks `instanceof Uint8Array` across realms strictly; hand it a plain Uint8Array, not a Buffer.
  return split(new Uint8Array(secret), n, threshold);
}

export async function combineShares(shares: Uint8Array[]): Promise<Uint8Array> {
  return combine(shares.map((s) => new Uint8Array(s)));
}

/**
 * SHA-256 of each buffer, hashed in 4 MiB slices that yield to the event loop in between, so that I/O started
 * just before (the puts of the same buffers) keeps moving while this thread hashes.
 */
export async function sha256HexYielding(buffers: readonly Uint8Array[]): Promise<string[]> {
  const yieldNow = () => new Promise<void>((r) => setImmediate(r));
  await yieldNow();
  const out: string[] = [];
  const slice = 4 << 20;
  for (const b of buffers) {
    const h = createHash('sha256');
    for (let off = 0; off < b.length; off += slice) {
      h.update(b.subarray(off, Math.min(b.length, off + slice)));
      if (off + slice < b.length) await yieldNow();
    }
    out.push(h.digest('hex'));
  }
  return out;
}

/** Bytes AES-GCM adds to a segment (the tag; the nonce is derived from the segment index, not stored). */
export const SEGMENT_AEAD_OVERHEAD = TAG_BYTES;

/**
 * Free the output node:crypto gave for one slice, once it was copied where it belongs. Each is garbage at once, as
 * many bytes as the segment, and a collector frees them late: on Node 24 a thread opening segments held 180 MB of
 * them against 80 MB freed here. ArrayBuffer.prototype.transfer(0) detaches the buffer and frees its memory now;
 * Node 20 has no transfer, and there they wait for the collector. Only a whole buffer (never a view of a pool).
 * The digest thread's source (digest-thread.ts) does the same.
 */
export function dropOutput(b: Uint8Array): void {
  const ab = b.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  if (typeof ab.transfer !== 'function' || b.byteOffset !== 0 || b.byteLength !== ab.byteLength || b.byteLength === 0)
    return;
  try {
    ab.transfer(0);
  } catch {
    // Only an optimisation: the collector frees it later.
  }
}

/** Bytes the sealing of a segment hands over per call: large enough to amortise the call, small enough to stay in cache. */
const SEAL_SLICE_BYTES = 256 << 10;

/**
 * Seal one streamed CA segment straight into `out` (ciphertext || tag, `plain.length` + SEGMENT_AEAD_OVERHEAD
 * bytes; the same bytes as WebCrypto's AES-GCM with this nonce and AAD). On the calling thread, in slices that stay
 * in cache: no copy of the plaintext and no fresh output buffer per segment. The cipher thread's twins of this and
 * openSegment (digest-thread.ts's worker source, plain JavaScript that cannot import this module) are held to the
 * same bytes by test/storage/digest-thread.test.ts.
 */
export function sealSegmentInto(
  plain: Uint8Array,
  key: KeyObject,
  nonce: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
): void {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  let at = 0;
  for (let off = 0; off < plain.length; off += SEAL_SLICE_BYTES) {
    const part = cipher.update(plain.subarray(off, Math.min(plain.length, off + SEAL_SLICE_BYTES)));
    out.set(part, at);
    at += part.length;
    dropOutput(part);
  }
  const fin = cipher.final();
  out.set(fin, at);
  out.set(cipher.getAuthTag(), at + fin.length);
}

/**
 * Open one streamed CA segment (ciphertext || tag, sealed by sealSegmentInto or WebCrypto AES-GCM) given as
 * consecutive parts (the data blocks of the erasure code, possibly padded): returns the plaintext, or throws if
 * any byte, the key, the nonce or the AAD is wrong. The plaintext goes into `out` when given (at least
 * sealedLength - SEGMENT_AEAD_OVERHEAD bytes; it holds unverified bytes if this throws), else into a new buffer.
 */
export function openSegment(
  parts: readonly Uint8Array[],
  sealedLength: number,
  key: Uint8Array | KeyObject,
  nonce: Uint8Array,
  aad: Uint8Array,
  out?: Uint8Array,
): Uint8Array {
  if (sealedLength < TAG_BYTES) throw new Error('sealed segment too short');
  const bodyLength = sealedLength - TAG_BYTES;
  const tagParts: Uint8Array[] = [];
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  const plain = out?.subarray(0, bodyLength) ?? new Uint8Array(bodyLength);
  if (plain.length < bodyLength) throw new RangeError('openSegment: output too small');
  let base = 0;
  let at = 0;
  for (const p of parts) {
    // This part's share of the body is [0, bodyEnd), of the tag [bodyEnd, tagEnd); the rest is padding.
    const bodyEnd = Math.min(p.length, Math.max(0, bodyLength - base));
    for (let off = 0; off < bodyEnd; off += SEAL_SLICE_BYTES) {
      const d = decipher.update(p.subarray(off, Math.min(bodyEnd, off + SEAL_SLICE_BYTES)));
      plain.set(d, at);
      at += d.length;
      dropOutput(d);
    }
    const tagEnd = Math.min(p.length, Math.max(0, sealedLength - base));
    if (tagEnd > bodyEnd) tagParts.push(p.subarray(bodyEnd, tagEnd));
    base += p.length;
    if (base >= sealedLength) break;
  }
  decipher.setAuthTag(tagParts.length === 1 ? tagParts[0]! : Buffer.concat(tagParts));
  const fin = decipher.final();
  plain.set(fin, at);
  at += fin.length;
  if (at !== bodyLength) throw new Error('sealed segment truncated');
  return plain;
}
