/**
 * The normal case of Mod-SMaRt (TClouds D2.2.1, ch. 8; BFT-SMaRt): one consensus instance at a time, in the
 * installed regency. The leader PROPOSEs a batch; each replica checks it and WRITEs its hash; after a quorum (more
 * than (n+f)/2) of matching WRITEs it ACCEPTs, with a MAC vector so the ACCEPT can later prove the decision to
 * others; after a quorum of matching ACCEPTs it decides and executes. A crash-fault group (f = 0) skips the WRITE
 * round, as BFT-SMaRt's crash-fault mode does: PROPOSE, then ACCEPT, decided on a majority of ACCEPTs. Messages for later instances wait in the
 * out-of-context buffer until their instance starts.
 */
import { assert } from '../../../kernel/assert.js';
import { type Batch, type DecodedRequest, decodeBatch, encodeBatch } from './codec.js';
import type { ReplicaCore } from './core.js';
import { acceptBytes, type Instance, newInstance } from './instance.js';
import {
  MAX_BATCH_REQUESTS,
  MAX_TIMESTAMP_AHEAD_MS,
  OUT_OF_CONTEXT_INSTANCES,
  OUT_OF_CONTEXT_PER_REPLICA,
  VOTE_WINDOW_REGENCIES,
} from './limits.js';
import type { DecisionProof, Msg } from './types.js';

type VoteMsg = Extract<Msg, { t: 'PROPOSE' | 'WRITE' | 'ACCEPT' }>;

export class Consensus {
  /** The instance in progress; its cid is always lastDecided + 1 (one instance at a time). */
  instance: Instance = newInstance(0);
  /** `cid:regency` of this leader's last PROPOSE: a leader proposes once per instance and regency. */
  private proposedFor = '';
  /** Messages for the next few instances (OUT_OF_CONTEXT_INSTANCES), handled when each one starts. */
  private readonly outOfContext = new Map<number, { from: number; msg: VoteMsg }[]>();
  /** Decoded form of proposal values already checked (keyed by the value object; values are never mutated). */
  private readonly decoded = new WeakMap<Uint8Array, Batch>();
  /**
   * Batches this replica built as leader, decoded: its own PROPOSE skips decoding them again and re-checking
   * MACs it checked when the requests entered the pool (the other checks of validBatch still run).
   */
  private readonly built = new WeakMap<Uint8Array, Batch>();

  constructor(private readonly core: ReplicaCore) {}

  /** Starts instance `cid` with no votes (after a decision, a checkpoint install, or a restart). */
  startInstance(cid: number): void {
    this.instance = newInstance(cid);
  }

  /** A new regency: this replica has proposed nothing in it. */
  forgetProposal(): void {
    this.proposedFor = '';
  }

  /** Drops buffered messages of instances up to `cid` (a checkpoint install jumped past them). */
  dropOutOfContext(cid: number): void {
    for (const k of [...this.outOfContext.keys()]) if (k <= cid) this.outOfContext.delete(k);
  }

  // ---------------------------------------------------------------- proposing

  /** As the leader of an installed regency, proposes a batch for the instance in progress if it has none yet. */
  maybePropose(): void {
    const core = this.core;
    const regency = core.leaderChange.regency;
    if (core.leader() !== core.me || core.leaderChange.active || core.stateTransfer.active || core.recovering) return;
    const key = `${this.instance.cid}:${regency}`;
    if (
      this.proposedFor === key ||
      this.instance.cid === core.leaderChange.syncCid ||
      this.instance.proposals.has(regency)
    ) {
      this.maybeProposeEarly();
      return;
    }
    if (core.pool.size === 0) return;
    this.proposedFor = key;
    const value = this.buildBatch();
    const msg: Msg = { t: 'PROPOSE', cid: this.instance.cid, reg: regency, value };
    core.send('all', msg);
    this.onPropose(core.me, msg);
  }

  /**
   * Early proposal: once this leader has ACCEPTed its value for the current instance (the value every correct
   * replica can decide in this regency), it sends the PROPOSE of the next instance right away instead of after
   * deciding, so the next batch does not wait one more message delay. Only the PROPOSE is early: every replica
   * (the leader too, through its own buffer) handles it only after deciding the current instance, with the
   * usual checks against the decided state, so at most one instance is being decided at any time. The batch
   * skips the requests of the current one and its timestamp moves past it; if the current instance ends with
   * another value (a leader change), the PROPOSE belongs to an old regency and is ignored.
   */
  private maybeProposeEarly(): void {
    const core = this.core;
    const regency = core.leaderChange.regency;
    const instance = this.instance;
    const next = instance.cid + 1;
    const key = `${next}:${regency}`;
    if (this.proposedFor === key || core.pool.size === 0 || !instance.accepted.has(regency)) return;
    const hash = instance.proposals.get(regency);
    const current = hash === undefined ? undefined : instance.values.get(hash);
    const batch = current && this.decoded.get(current);
    if (!batch || instance.valHash !== hash) return;
    const value = this.buildNextBatch(batch);
    if (!value) return;
    this.proposedFor = key;
    const msg: Msg = { t: 'PROPOSE', cid: next, reg: regency, value };
    core.send('all', msg);
    const list = this.outOfContext.get(next) ?? [];
    list.push({ from: core.me, msg });
    this.outOfContext.set(next, list);
  }

  /** A batch of pooled requests for the instance in progress (possibly empty: a new leader's SYNC needs one). */
  buildBatch(): Uint8Array {
    const picked = this.core.pool.pick(this.core.config.batchSize);
    return this.encodeBatch(picked.bytes, picked.requests, this.instance.cid, 0);
  }

  /** A batch for the instance after the one deciding `after`, without its requests; undefined when none is left. */
  private buildNextBatch(after: Batch): Uint8Array | undefined {
    const picked = this.core.pool.pick(this.core.config.batchSize, after);
    if (picked.bytes.length === 0) return undefined;
    return this.encodeBatch(picked.bytes, picked.requests, this.instance.cid + 1, after.timestamp);
  }

  /** The timestamp moves past the last executed one (and `after`'s), the seed mixes fresh entropy with the cid. */
  private encodeBatch(bytes: Uint8Array[], requests: DecodedRequest[], cid: number, after: number): Uint8Array {
    const core = this.core;
    const ts = Math.max(core.decisions.lastTimestamp + 1, after + 1, core.wallClock);
    const seed = (core.entropy ^ Math.imul(cid + 1, 2654435761)) >>> 0;
    const value = encodeBatch(ts, seed, bytes);
    this.built.set(value, { timestamp: ts, seed, requests });
    return value;
  }

  /**
   * A proposal is good if it decodes, its timestamp moves forward (and not too far past our clock) and every
   * request is ordered, new and authentic. Anything else is the leader's fault: the caller starts a leader change.
   */
  validBatch(value: Uint8Array): Batch | undefined {
    const core = this.core;
    const own = this.built.get(value);
    const batch = own ?? decodeBatch(value);
    if (!batch || batch.requests.length > MAX_BATCH_REQUESTS) return undefined;
    if (batch.timestamp <= core.decisions.lastTimestamp) return undefined;
    if (core.wallClock > 0 && batch.timestamp > core.wallClock + MAX_TIMESTAMP_AHEAD_MS) return undefined;
    const seen = new Map<string, number>();
    for (const r of batch.requests) {
      if (r.readOnly) return undefined;
      const last = seen.get(r.client) ?? core.decisions.executedSeq(r.client);
      if (r.seq <= last) return undefined;
      // A request already in our pool was verified on arrival: same bytes, no second MAC check (CPU per request).
      if (!own && !core.pool.pooledCopy(r) && !core.env.verifyRequest(r)) return undefined;
      seen.set(r.client, r.seq);
    }
    return batch;
  }

  // ---------------------------------------------------------------- votes

  /** A PROPOSE, WRITE or ACCEPT from a peer (or our own, replayed from the buffer). */
  onVote(from: number, msg: VoteMsg): void {
    if (!Number.isInteger(msg.cid) || !Number.isInteger(msg.reg) || msg.reg < 0) return;
    const core = this.core;
    core.leaderChange.hint(from, msg.reg);
    // Read after the hint: installing a regency may have moved the instance on.
    const cid = this.instance.cid;
    if (msg.cid > cid) {
      core.stateTransfer.noteAhead(from, msg.cid);
      if (msg.cid <= cid + OUT_OF_CONTEXT_INSTANCES) {
        const list = this.outOfContext.get(msg.cid) ?? [];
        if (list.length < OUT_OF_CONTEXT_PER_REPLICA * core.n) list.push({ from, msg });
        this.outOfContext.set(msg.cid, list);
      }
      return;
    }
    if (msg.cid < cid) return;
    if (msg.t === 'PROPOSE') this.onPropose(from, msg);
    else if (msg.t === 'WRITE') this.onWrite(from, msg);
    else this.onAccept(from, msg);
  }

  private onPropose(from: number, msg: Extract<Msg, { t: 'PROPOSE' }>): void {
    const core = this.core;
    const leaderChange = core.leaderChange;
    if (msg.reg !== leaderChange.regency || leaderChange.active || from !== core.leader(msg.reg)) return;
    if (msg.cid === leaderChange.syncCid || this.instance.proposals.has(msg.reg)) return;
    if (!(msg.value instanceof Uint8Array)) return;
    const hash = core.env.digest(msg.value);
    // Only the first PROPOSE of the leader in a regency counts (an equivocating leader gets one value per replica).
    this.instance.proposals.set(msg.reg, hash);
    const batch = this.validBatch(msg.value);
    if (!batch) {
      core.logEvent('warn', 'invalid proposal from leader; starting leader change', { leader: from, cid: msg.cid });
      leaderChange.start([]);
      return;
    }
    assert(
      from === core.leader(msg.reg) && msg.reg === leaderChange.regency && msg.cid === this.instance.cid,
      'a proposal taken as valid comes from the leader of the installed regency, for the instance in progress',
      { from, reg: msg.reg, regency: leaderChange.regency, cid: msg.cid, instance: this.instance.cid },
    );
    this.decoded.set(msg.value, batch);
    this.instance.values.set(hash, msg.value);
    this.write(msg.reg, hash);
  }

  /**
   * Sends this replica's WRITE for `hash` in regency `reg` (once per regency) and counts it. With no Byzantine
   * replica to tolerate (f = 0: a crash-fault group) there is no WRITE round: the value goes straight to ACCEPT, as
   * in BFT-SMaRt's crash-fault mode (Paxos: PROPOSE, then ACCEPT by a majority). The write set still records the
   * value, because a new leader's collect (collect.ts) reads it.
   */
  write(reg: number, hash: string): void {
    const instance = this.instance;
    if (instance.wrote.has(reg)) return;
    instance.wrote.add(reg);
    instance.ws.set(hash, Math.max(instance.ws.get(hash) ?? -1, reg));
    if (!this.core.byzantine) {
      this.checkAccept(reg, hash);
      return;
    }
    const cid = instance.cid;
    this.core.send('all', { t: 'WRITE', cid, reg, hash });
    this.recordWrite(this.core.me, reg, hash);
  }

  private inVoteWindow(reg: number): boolean {
    const regency = this.core.leaderChange.regency;
    return reg >= regency - VOTE_WINDOW_REGENCIES && reg <= regency + VOTE_WINDOW_REGENCIES;
  }

  private onWrite(from: number, msg: Extract<Msg, { t: 'WRITE' }>): void {
    if (typeof msg.hash !== 'string' || !this.inVoteWindow(msg.reg)) return;
    this.recordWrite(from, msg.reg, msg.hash);
  }

  private recordWrite(from: number, reg: number, hash: string): void {
    let votes = this.instance.writes.get(reg);
    if (!votes) {
      votes = new Map();
      this.instance.writes.set(reg, votes);
    }
    if (!votes.has(from)) votes.set(from, hash);
    this.checkVoters(votes.size, 'WRITE', reg);
    this.checkAccept(reg, hash);
  }

  /**
   * After a quorum of WRITEs for the value proposed in our regency: ACCEPT it (once per regency). Without
   * Byzantine faults, as soon as this replica has taken the proposal (its own WRITE, never sent): the WRITE
   * quorum only stops an equivocating leader from getting two values accepted in one regency, and a crash-faulty
   * leader proposes once per instance and regency (a restarted one proposes nothing more in that regency).
   */
  checkAccept(reg: number, hash: string): void {
    const core = this.core;
    const instance = this.instance;
    if (reg !== core.leaderChange.regency || core.leaderChange.active || instance.accepted.has(reg)) return;
    const value = instance.values.get(hash);
    if (!value || instance.proposals.get(reg) !== hash) return;
    if (core.byzantine) {
      let count = 0;
      for (const h of instance.writes.get(reg)?.values() ?? []) if (h === hash) count++;
      if (!core.isQuorum(count)) return;
    } else if (!instance.wrote.has(reg)) return;
    instance.accepted.add(reg);
    instance.valTs = reg;
    instance.valHash = hash;
    instance.val = value;
    const proof = core.env.vector(acceptBytes(instance.cid, reg, hash));
    const cid = instance.cid;
    core.send('all', { t: 'ACCEPT', cid, reg, hash, proof });
    this.recordAccept(core.me, reg, hash, proof);
    if (this.instance === instance) this.maybePropose();
  }

  private onAccept(from: number, msg: Extract<Msg, { t: 'ACCEPT' }>): void {
    if (typeof msg.hash !== 'string' || !(msg.proof instanceof Uint8Array) || !this.inVoteWindow(msg.reg)) return;
    if (!this.core.env.checkVector(from, acceptBytes(msg.cid, msg.reg, msg.hash), msg.proof)) return;
    this.recordAccept(from, msg.reg, msg.hash, msg.proof);
  }

  private recordAccept(from: number, reg: number, hash: string, proof: Uint8Array): void {
    let votes = this.instance.accepts.get(reg);
    if (!votes) {
      votes = new Map();
      this.instance.accepts.set(reg, votes);
    }
    if (!votes.has(from)) votes.set(from, { hash, proof });
    this.checkVoters(votes.size, 'ACCEPT', reg);
    this.checkDecide(reg, hash);
  }

  /** Votes are kept per sender, and senders are replicas of the group (the core refuses any other index). */
  private checkVoters(voters: number, kind: string, reg: number): void {
    assert(voters <= this.core.n, 'a regency never has more voters than replicas', {
      kind,
      reg,
      voters,
      n: this.core.n,
      cid: this.instance.cid,
    });
  }

  /** After a quorum of ACCEPTs for a value we hold: decide it, with those ACCEPTs as its proof. */
  checkDecide(reg: number, hash: string): void {
    const votes = this.instance.accepts.get(reg);
    if (!votes) return;
    const accepts: { from: number; proof: Uint8Array }[] = [];
    for (const [from, v] of votes) if (v.hash === hash) accepts.push({ from, proof: v.proof });
    if (!this.core.isQuorum(accepts.length)) return;
    // Deciding needs the value itself (we may have missed the PROPOSE; then a later message or catch-up gives it).
    const value = this.instance.values.get(hash);
    if (!value) return;
    this.decide(value, { cid: this.instance.cid, reg, value, accepts });
  }

  /** Decides the instance in progress with the value a checked proof carries (a peer's, a SYNC's, a STOPDATA's). */
  adopt(p: DecisionProof): void {
    assert(p.cid === this.instance.cid, 'an adopted proof decides the instance in progress', {
      proof: p.cid,
      instance: this.instance.cid,
    });
    this.instance.values.set(this.core.env.digest(p.value), p.value);
    this.decide(p.value, p);
  }

  // ---------------------------------------------------------------- decision and execution

  /**
   * Decides the instance in progress: executes its batch (requests each client has not had executed yet), logs
   * the decision, asks for a checkpoint every `checkpointPeriod` instances, and starts the next instance with the
   * messages that were waiting for it. `proof` is null when the decision came from state transfer or a restart.
   */
  decide(value: Uint8Array, proof: DecisionProof | null): void {
    const core = this.core;
    const decisions = core.decisions;
    const instance = this.instance;
    const cid = instance.cid;
    assert(cid === decisions.lastDecided + 1, 'the instance in progress follows the last decided one', {
      cid,
      lastDecided: decisions.lastDecided,
    });
    assert(proof === null || proof.cid === cid, 'a decision proof is for the instance it decides', {
      cid,
      proof: proof?.cid,
    });
    // The batch was decoded when its PROPOSE was checked; decisions adopted from proofs, SYNCs or state transfer
    // are decoded here. A decided value was checked by at least one correct replica (a quorum accepted it, or f+1
    // replicas report it), so one that does not decode is a bug, never a peer's doing.
    const batch = this.decoded.get(value) ?? decodeBatch(value);
    assert(batch !== undefined, 'a decided value decodes as a batch', { cid, bytes: value.length });
    // The value stays in the log until the next checkpoint; its decoded form (hundreds of small objects per batch)
    // must not: kept alive by the WeakMaps, a checkpoint period of them filled the old generation and GC took a
    // fifth of a follower's CPU.
    this.decoded.delete(value);
    this.built.delete(value);
    const run: DecodedRequest[] = [];
    for (const r of batch.requests) {
      if (r.readOnly) continue;
      if (r.seq <= decisions.executedSeq(r.client)) continue;
      decisions.executed.set(r.client, r.seq);
      run.push(r);
    }
    for (const r of run) core.pool.prune(r.client);
    decisions.lastTimestamp = Math.max(decisions.lastTimestamp, batch.timestamp);
    const regency = core.leaderChange.regency;
    core.emit({ type: 'execute', cid, regency, timestamp: batch.timestamp, seed: batch.seed, requests: run });
    const state = { valTs: instance.valTs, valHash: instance.valHash, val: instance.val, ws: instance.ws };
    decisions.record(cid, value, state, proof);
    if ((cid + 1) % core.config.checkpointPeriod === 0) {
      decisions.expectSnapshot(cid);
      core.emit({ type: 'checkpoint', cid });
    }
    this.startInstance(cid + 1);
    core.leaderChange.onDecided();
    const buffered = this.outOfContext.get(cid + 1);
    for (const k of [...this.outOfContext.keys()]) if (k <= cid + 1) this.outOfContext.delete(k);
    if (buffered) for (const { from, msg } of buffered) this.onVote(from, msg);
    this.maybePropose();
  }
}
