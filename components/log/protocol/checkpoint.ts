/**
 * A verifier's checkpoint (`log verify --checkpoint FILE`): where a verification got to, so the next one checks only
 * the segments sealed since. It needs no key of the verifier's own and no trust in whoever keeps the file: it holds
 * a tree head with the Ed25519 signatures of f+1 core replicas (the same ones storage holds), and the right edge of
 * the Merkle tree (protocol/frontier.ts), which must give exactly the signed root. A forged or altered checkpoint
 * fails one or the other; an old genuine one only makes the next verification check more. Pure.
 */
import { type KeyObject, verify as verifySignature } from 'node:crypto';
import { z } from 'zod';
import { Frontier } from './frontier.js';
import { headSignedBytes, type TreeHead, TreeHeadSchema } from './segment.js';

export const CHECKPOINT_VERSION = 1;

export const CheckpointSchema = z.strictObject({
  version: z.literal(CHECKPOINT_VERSION),
  log: z.string().min(1),
  head: TreeHeadSchema,
  signatures: z.array(z.strictObject({ replica: z.int().min(0), sig: z.string().min(1) })).min(1),
  frontier: z.strictObject({ size: z.int().min(0), hashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)) }),
});
export type VerifyCheckpoint = z.infer<typeof CheckpointSchema>;

const ones = (n: number): number => n.toString(2).replace(/0/g, '').length;

/** Why a checkpoint cannot be built on, or undefined when f+1 replicas signed its head and its frontier gives it. */
export function checkpointProblem(
  cp: VerifyCheckpoint,
  o: { log: string; f: number; keys: readonly KeyObject[] },
): string | undefined {
  if (cp.log !== o.log) return `it is a checkpoint of log ${cp.log}, not ${o.log}`;
  const signed = headSignedBytes(o.log, cp.head);
  const good = new Set<number>();
  for (const s of cp.signatures) {
    const key = o.keys[s.replica];
    if (key && verifySignature(null, signed, key, Buffer.from(s.sig, 'base64'))) good.add(s.replica);
  }
  if (good.size < o.f + 1) {
    return `its tree head carries valid signatures of ${good.size} core replicas; f+1=${o.f + 1} are needed`;
  }
  const { size, hashes } = cp.frontier;
  if (size !== cp.head.size || hashes.length !== ones(size)) return 'its tree edge does not fit its tree size';
  if (Frontier.from(cp.frontier).root().toString('hex') !== cp.head.root) {
    return 'its tree edge does not give the signed root';
  }
  return undefined;
}

/** The checkpoint after a verification that accepted `head`, vouched for by the replicas' signatures `sigs`. */
export function makeCheckpoint(
  log: string,
  head: TreeHead,
  sigs: { replica: number; sig: string }[],
  frontier: { size: number; hashes: Buffer[] },
): VerifyCheckpoint {
  return {
    version: CHECKPOINT_VERSION,
    log,
    head,
    signatures: sigs,
    frontier: { size: frontier.size, hashes: frontier.hashes.map((h) => h.toString('hex')) },
  };
}
