/**
 * A replica's copy of a sealed segment: the segment, its Ed25519 signature of the tree head and its
 * forward-integrity MAC with the secret for that segment (A_{k+1}: A_0 never stays with the replica, see
 * persister.ts). Pure (Ed25519 signing is deterministic).
 */
import { type KeyObject, sign } from 'node:crypto';
import { segmentMac } from './forward-integrity.js';
import { headSignedBytes, type SealedSegment, type SegmentCopy } from './segment.js';

/** The index of the evolving secret that authenticates segment k. */
export const secretIndexOf = (segment: number): number => segment + 1;

export function authenticateSegment(
  s: SealedSegment,
  o: { replica: number; log: string; secret: Uint8Array; signKey: KeyObject },
): SegmentCopy {
  const mac = segmentMac(o.secret, s.segment, Buffer.from(s.head.chain, 'hex')).toString('hex');
  const sig = sign(null, headSignedBytes(o.log, s.head), o.signKey).toString('base64');
  return { v: 1, replica: o.replica, ...s, sig, mac };
}
