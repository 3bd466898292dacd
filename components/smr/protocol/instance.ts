/**
 * One consensus instance of VP-Consensus (TClouds D2.2.1, ch. 8; BFT-SMaRt): what this replica has seen and done
 * in it, per regency, and the decision proofs that end one.
 *
 * The field names of Instance are written to disk: a clean stop saves the instance in progress (stop-state.ts,
 * v8-serialised), so renaming a field would make the next start misread the file. `valTs`, `valHash`, `val` and
 * `ws` keep the names of epoch consensus (Cachin, "Yet another visit to Paxos"), which collect.ts explains.
 */
import { utf8 } from './codec.js';
import { type CoreEnv, type DecisionProof, quorum } from './types.js';

export interface Instance {
  cid: number;
  /** Regency -> hash of the first value its leader proposed (or its SYNC fixed): one per regency counts. */
  proposals: Map<number, string>;
  /** Hash -> value, for every value this replica has checked or that a SYNC or a proof fixed. */
  values: Map<string, Uint8Array>;
  /** Regency -> sender -> hash of its WRITE. */
  writes: Map<number, Map<number, string>>;
  /** Regency -> sender -> hash of its ACCEPT and the MAC vector over it (kept: ACCEPTs prove a decision). */
  accepts: Map<number, Map<number, { hash: string; proof: Uint8Array }>>;
  /** Regencies in which this replica has sent its WRITE. */
  wrote: Set<number>;
  /** Regencies in which this replica has sent its ACCEPT. */
  accepted: Set<number>;
  /** The regency of this replica's last ACCEPT (-1: none), and the value and hash it accepted then. */
  valTs: number;
  valHash: string | null;
  val: Uint8Array | null;
  /** Write set: every value hash this replica wrote, with the highest regency it wrote it in. */
  ws: Map<string, number>;
}

export function newInstance(cid: number): Instance {
  return {
    cid,
    proposals: new Map(),
    values: new Map(),
    writes: new Map(),
    accepts: new Map(),
    wrote: new Set(),
    accepted: new Set(),
    valTs: -1,
    valHash: null,
    val: null,
    ws: new Map(),
  };
}

/** The bytes an ACCEPT's MAC vector covers: the vector then proves, to its receivers, that the sender accepted. */
export function acceptBytes(cid: number, reg: number, hash: string): Uint8Array {
  return utf8.encode(`ACCEPT|${cid}|${reg}|${hash}`);
}

/**
 * Whether `p` proves a decision to this replica: a quorum of distinct replicas of the group whose ACCEPT MAC-vector
 * entry for us verifies over the value's hash. Anything malformed (it may come from a Byzantine peer) is simply not
 * a proof.
 */
export function isDecisionProof(p: DecisionProof | null | undefined, env: CoreEnv, n: number, f: number): boolean {
  if (!p || !Number.isInteger(p.cid) || !(p.value instanceof Uint8Array) || !Array.isArray(p.accepts)) return false;
  const bytes = acceptBytes(p.cid, p.reg, env.digest(p.value));
  const ok = new Set<number>();
  for (const a of p.accepts) {
    if (!a || !Number.isInteger(a.from) || a.from < 0 || a.from >= n || ok.has(a.from)) continue;
    if (a.proof instanceof Uint8Array && env.checkVector(a.from, bytes, a.proof)) ok.add(a.from);
  }
  return quorum.isQuorum(ok.size, n, f);
}
