/**
 * Pairwise symmetric keys derived from X25519 keys (no key material is ever sent or stored).
 *
 * static key  = HKDF-SHA256(ECDH(own private, peer public), salt "tclouds/v1", info "<purpose>|<stack>|<idA>|<idB>")
 * with the two ids sorted, so both ends derive the same key and keys differ per stack and per purpose
 * ("channel" for transport frames, "vector" for MAC vectors over requests, ACCEPTs and collects).
 * Session keys of one connection = HKDF(static channel key, salt transcript, info "i2r" / "r2i"), where the
 * transcript names the initiator and the responder, in that order, and both nonces (`handshakeTranscript`): fresh
 * per connection (replayed frames from an old connection do not verify), per direction (a frame reflected back to
 * its sender does not verify) and bound to who dialled whom (the two connections of a reflection, A dialling B and
 * "B" dialling A, derive different keys although the pair's static key is the same).
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

/**
 * What both ends of a handshake authenticate: `u16 len | initiator id | u16 len | responder id | nonceI | nonceR`.
 * Ids are length-prefixed so no two (initiator, responder) pairs give the same bytes.
 */
export function handshakeTranscript(initiator: string, responder: string, nonceI: Buffer, nonceR: Buffer): Buffer {
  const i = Buffer.from(initiator, 'utf8');
  const r = Buffer.from(responder, 'utf8');
  const out = Buffer.allocUnsafe(2 + i.length + 2 + r.length + nonceI.length + nonceR.length);
  let o = out.writeUInt16BE(i.length, 0);
  o += i.copy(out, o);
  o = out.writeUInt16BE(r.length, o);
  o += r.copy(out, o);
  o += nonceI.copy(out, o);
  nonceR.copy(out, o);
  return out;
}

export function sessionKeys(staticKey: Buffer, transcript: Buffer): { i2r: Buffer; r2i: Buffer } {
  return {
    i2r: Buffer.from(hkdfSync('sha256', staticKey, transcript, 'i2r', 32)),
    r2i: Buffer.from(hkdfSync('sha256', staticKey, transcript, 'r2i', 32)),
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
