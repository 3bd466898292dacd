/**
 * Inputs, actions, messages and injected crypto of the SMR replica core: the whole contract between the pure core
 * and whatever drives it (the node, the simulator).
 * Messages are plain objects; the host serialises them. Hashes are hex strings so they can key Maps.
 */
import type { DecodedRequest } from './codec.js';

export type Msg =
  | { t: 'PROPOSE'; cid: number; reg: number; value: Uint8Array }
  | { t: 'WRITE'; cid: number; reg: number; hash: string }
  | { t: 'ACCEPT'; cid: number; reg: number; hash: string; proof: Uint8Array }
  /** Requests forwarded to the leader after a first request-timer expiry. */
  | { t: 'FWD'; reqs: Uint8Array[] }
  | { t: 'STOP'; reg: number; reqs: Uint8Array[] }
  /** `collect` is canonical JSON bytes (see collect.ts), `auth` a MAC vector over it by the sender. */
  | { t: 'STOPDATA'; reg: number; collect: Uint8Array; auth: Uint8Array; last: DecisionProof | null }
  | { t: 'SYNC'; reg: number; cid: number; last: DecisionProof | null; collects: SignedCollect[]; value: Uint8Array }
  /** "My regency is reg": answers a STOP for a regency the sender is already past, so it can catch up. */
  | { t: 'REG'; reg: number }
  /** Periodic heartbeat: installed regency and last decided cid. */
  | { t: 'HB'; reg: number; cid: number }
  /** Proof of our last decision, sent to a peer whose heartbeat shows it one instance behind. */
  | { t: 'DECIDED'; proof: DecisionProof }
  | { t: 'STREQ'; from: number; attempt: number }
  | {
      t: 'STATE';
      upTo: number;
      reg: number;
      ckpt: { cid: number; hash: string; bytes: Uint8Array | null } | null;
      log: { cid: number; value: Uint8Array }[];
    };

export interface DecisionProof {
  cid: number;
  reg: number;
  value: Uint8Array;
  /** ACCEPTs (with their MAC vectors) that decided `value`. */
  accepts: { from: number; proof: Uint8Array }[];
}

export interface SignedCollect {
  from: number;
  collect: Uint8Array;
  auth: Uint8Array;
}

export type Input =
  /** Periodic tick; `now` is the host's wall clock (ms), only used by the leader for batch timestamps. */
  | { type: 'tick'; now: number; entropy: number }
  /** `req`, when given, must be decodeRequest(bytes): the host already decoded it (saves a decode per request). */
  | { type: 'request'; bytes: Uint8Array; req?: DecodedRequest }
  /** Several client requests that arrived together: pooled first, then one proposal for all (fuller batches). */
  | { type: 'requests'; items: { bytes: Uint8Array; req?: DecodedRequest }[] }
  | { type: 'message'; from: number; msg: Msg }
  /** The service snapshot the host took for a `checkpoint` action. */
  | { type: 'snapshot'; cid: number; bytes: Uint8Array };

export type Action =
  | { type: 'send'; to: number | 'all'; msg: Msg }
  | { type: 'execute'; cid: number; regency: number; timestamp: number; seed: number; requests: DecodedRequest[] }
  | { type: 'checkpoint'; cid: number }
  /** Replace the service state with this snapshot (state transfer); service state is then at `cid`. */
  | { type: 'restore'; cid: number; bytes: Uint8Array }
  | { type: 'log'; level: 'info' | 'warn'; msg: string; fields: Record<string, unknown> };

/** Pure crypto injected by the host (real HMACs) or the simulator (deterministic keys). */
export interface CoreEnv {
  digest(bytes: Uint8Array): string;
  /** Does the request's authenticator entry for this replica verify? */
  verifyRequest(req: DecodedRequest): boolean;
  /** MAC vector by this replica over bytes (entry j for replica j). */
  vector(bytes: Uint8Array): Uint8Array;
  /** Does `from`'s vector entry for this replica verify over bytes? */
  checkVector(from: number, bytes: Uint8Array, vector: Uint8Array): boolean;
}

export interface CoreConfig {
  n: number;
  f: number;
  me: number;
  batchSize: number;
  checkpointPeriod: number;
  /** Ticks a request may wait before being forwarded to the leader; twice that starts a leader change. */
  requestTimeout: number;
  /** Max pending requests held per client and in total (bounded queues). */
  maxPendingPerClient: number;
  maxPending: number;
  /**
   * The replica restarted without its vote history (no durable log). It must not propose as leader until it
   * installs a regency after the restart: proposing again in the regency it led before would equivocate.
   */
  recovering?: boolean;
}

export const quorum = {
  /**
   * More than (n+f)/2, with integer division and a strict comparison: n = 4, f = 1 needs 3 votes. Any two such
   * quorums share more than f replicas, so at least one correct replica, which never votes for two values.
   */
  isQuorum: (count: number, n: number, f: number): boolean => count > Math.floor((n + f) / 2),
  size: (n: number, f: number): number => Math.floor((n + f) / 2) + 1,
  /**
   * Identical replies a client needs for an unordered (read-only) request: all n. Why not BFT-SMaRt's
   * floor((n+f)/2)+1: an ordered write completes on f+1 identical replies, so only one correct replica may have
   * executed it when its client returns; the other n-f-1 correct replicas and f Byzantine ones (n-1 in all) can
   * still answer a later read with the old value. Only a read quorum that includes every replica is sure to include
   * one that executed the write. BFT-SMaRt avoids this by completing writes on floor((n+f)/2)+1 replies too; we
   * keep f+1 for writes (half the reply traffic, see replica-driver.ts) and pay on reads, which fall back to
   * ordered when any replica is slow or disagrees. The simulator found stale reads with the smaller quorum.
   */
  readOnly: (n: number, _f: number): number => n,
};

export function validateGroup(n: number, f: number): string | undefined {
  if (!Number.isInteger(n) || !Number.isInteger(f) || f < 0 || n < 1) return `invalid group n=${n} f=${f}`;
  if (n < 3 * f + 1) return `n=${n} replicas cannot tolerate f=${f} Byzantine faults (need n >= 3f+1 = ${3 * f + 1})`;
  return undefined;
}
