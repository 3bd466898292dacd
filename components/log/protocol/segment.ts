/**
 * Tree heads and segments: the units the core seals and every replica stores, and the bytes that are signed,
 * MACed and chained. A segment copy holds the entries of one segment (identical on every replica), the tree head
 * after its last entry, and the authenticators of the replica that wrote the copy. Pure.
 */
import { z } from 'zod';

/** The state of the whole log after a segment: signed by core replicas (f+1 of them make it valid). */
export interface TreeHead {
  /** Entries in the log (the tree size). */
  size: number;
  /** RFC 9162 Merkle tree root (hex). */
  root: string;
  /** Agreed time of the seal (ms since the epoch). */
  time: number;
  /** The segment this head closes. */
  segment: number;
  /** Chain value over this head and all earlier ones (hex). */
  chain: string;
}

export const TreeHeadSchema = z.strictObject({
  size: z.int().min(0),
  root: z.string().regex(/^[0-9a-f]{64}$/),
  time: z.number(),
  segment: z.int().min(0),
  chain: z.string().regex(/^[0-9a-f]{64}$/),
});

/** The bytes chained into chain_k: the head without its own chain value. */
export function headChainInput(h: Omit<TreeHead, 'chain'>): Buffer {
  return Buffer.from(JSON.stringify({ size: h.size, root: h.root, time: h.time, segment: h.segment }));
}

/** What a replica signs: the whole head, for one log of one stack (a head cannot be moved to another log). */
export function headSignedBytes(log: string, h: TreeHead): Buffer {
  return Buffer.from(
    `tclouds-log tree-head v1\n${log}\n${JSON.stringify({ size: h.size, root: h.root, time: h.time, segment: h.segment, chain: h.chain })}`,
  );
}

/** What the core seals (the same on every replica). */
export interface SealedSegment {
  segment: number;
  /** Sequence number of its first entry. */
  first: number;
  /** Canonical entry texts (protocol/entry.ts). */
  entries: string[];
  head: TreeHead;
}

/** One replica's stored copy of a segment. */
export interface SegmentCopy extends SealedSegment {
  v: 1;
  replica: number;
  /** Ed25519 signature of headSignedBytes by the replica's key (base64). */
  sig: string;
  /** Forward-integrity MAC with the replica's evolving secret for this segment (hex). */
  mac: string;
}

export const SegmentCopySchema = z.strictObject({
  v: z.literal(1),
  replica: z.int().min(0),
  segment: z.int().min(0),
  first: z.int().min(0),
  entries: z.array(z.string()),
  head: TreeHeadSchema,
  sig: z.string(),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});

/** Data unit names in the log's buckets (zero-padded so a listing sorts in log order). */
export function segmentUnit(segment: number, replica: number): string {
  return `seg-${String(segment).padStart(10, '0')}-r${replica}`;
}
export function seedUnit(replica: number): string {
  return `fi-seed-r${replica}`;
}
export const SEGMENT_UNIT = /^seg-(\d{10})-r(\d+)$/;

export function encodeCopy(c: SegmentCopy): Uint8Array {
  return Buffer.from(JSON.stringify(c));
}

/** A copy as stored, or a reason it is not one. */
export function decodeCopy(bytes: Uint8Array): SegmentCopy | string {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return 'not JSON';
  }
  const r = SegmentCopySchema.safeParse(o);
  if (!r.success) return `not a segment copy (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`;
  return r.data as SegmentCopy;
}
