/**
 * Pairwise symmetric keys derived from X25519 keys (no key material is ever sent or stored).
 *
 * static key  = HKDF-SHA256(ECDH(own private, peer public), salt "tclouds/v1", info "<purpose>|<stack>|<idA>|<idB>")
 * with the two ids sorted, so both ends derive the same key and keys differ per stack and per purpose
 * ("channel" for transport frames, "vector" for MAC vectors over requests, ACCEPTs and collects).
 * Session keys of one connection = HKDF(static channel key, salt nonceI||nonceR, info "i2r" / "r2i"):
 * fresh per connection (replayed frames from an old connection do not verify) and per direction (a frame
 * reflected back to its sender does not verify).
 */
import { createHmac, createSecretKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import { publicKeyFromString } from './keys.js';

export function pairKey(
  privateKey: KeyObject,
  peerPublicKey: string,
  purpose: 'channel' | 'vector',
  stack: string,
  idA: string,
  idB: string,
): Buffer {
  const shared = diffieHellman({ privateKey, publicKey: publicKeyFromString(peerPublicKey, `public key of ${idB}`) });
  const [lo, hi] = idA < idB ? [idA, idB] : [idB, idA];
  return Buffer.from(hkdfSync('sha256', shared, 'tclouds/v1', `${purpose}|${stack}|${lo}|${hi}`, 32));
}

export function sessionKeys(staticKey: Buffer, nonceI: Buffer, nonceR: Buffer): { i2r: Buffer; r2i: Buffer } {
  const salt = Buffer.concat([nonceI, nonceR]);
  return {
    i2r: Buffer.from(hkdfSync('sha256', staticKey, salt, 'i2r', 32)),
    r2i: Buffer.from(hkdfSync('sha256', staticKey, salt, 'r2i', 32)),
  };
}

/**
 * HMAC-SHA256 over the concatenation of parts. Hot paths pass a KeyObject made once with `secretKey()`:
 * createHmac with a KeyObject skips re-importing the raw key on every call (about 30% cheaper per MAC).
 */
export function hmac(key: Buffer | KeyObject, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** A derived key as a KeyObject, for keys used for many MACs (frame and request authentication). */
export function secretKey(key: Buffer): KeyObject {
  return createSecretKey(key);
}
