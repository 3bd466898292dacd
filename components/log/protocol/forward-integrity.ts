/**
 * Forward integrity in the Schneier-Kelsey style (TClouds D2.2.1, ch. 11, §11.2 and §11.3.2: hash chains and
 * evolving keys). Each core replica i holds a secret A_k for the segment k it seals next: it authenticates segment
 * k with HMAC(A_k, chain_k), then replaces A_k by A_{k+1} = H("evolve" || A_k) and erases A_k. Whoever takes the
 * replica over later holds only A_c for some c > k and cannot compute A_k (SHA-256 is one-way), so cannot
 * authenticate a changed segment k. A verifier that knows A_0 (rebuilt from its Shamir shares in storage) can.
 * The chain links every tree head to all earlier ones: chain_k = H("chain" || chain_{k-1} || head_k). Pure.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SECRET_BYTES = 32;
const GENESIS = Buffer.alloc(32);

export function evolve(secret: Uint8Array): Buffer {
  return createHash('sha256').update('tclouds-log evolve\n').update(secret).digest();
}

/** A_k from A_j (j <= k): evolving forwards is possible, backwards is not. */
export function secretAt(secret: Uint8Array, from: number, to: number): Buffer {
  let s: Buffer = Buffer.from(secret);
  for (let k = from; k < to; k++) s = evolve(s);
  return s;
}

/** The chain value before the first segment. */
export function genesisChain(): Buffer {
  return GENESIS;
}

export function chainNext(previous: Uint8Array, headBytes: Uint8Array): Buffer {
  return createHash('sha256').update('tclouds-log chain\n').update(previous).update(headBytes).digest();
}

/** The authenticator of segment `k` by the replica whose secret for k is `secret`. */
export function segmentMac(secret: Uint8Array, segment: number, chain: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`tclouds-log segment ${segment}\n`).update(chain).digest();
}

export function macMatches(secret: Uint8Array, segment: number, chain: Uint8Array, mac: Uint8Array): boolean {
  const want = segmentMac(secret, segment, chain);
  return mac.length === want.length && timingSafeEqual(want, mac);
}
