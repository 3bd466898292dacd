/**
 * The SMR replica core: Mod-SMaRt over VP-Consensus, as a pure state machine (protocol-cores.md (a)).
 *
 * `step(input)` takes one event (tick, client request, peer message, snapshot) and returns actions (sends,
 * executions, checkpoints, restores). No clock, no I/O, no randomness: time is the tick count, the leader's
 * batch timestamp and seed come from tick inputs, and crypto is injected (CoreEnv). One consensus instance runs
 * at a time (SMR-10): cid = lastDecided + 1.
 *
 * Normal case: the leader of the regency PROPOSEs a batch; replicas check it and WRITE its hash; after more than
 * (n+f)/2 matching WRITEs they ACCEPT (with a MAC vector so the ACCEPT can later serve as a decision proof);
 * after more than (n+f)/2 matching ACCEPTs they decide and execute.
 * Leader change: request timers (forward, then STOP), STOPs joined by anyone who sees more than f and installed
 * with more than 2f, STOPDATA (a MAC-vectored collect) to the new leader, SYNC with the collects and the value
 * chosen by the sound/bind rule (leader-change.ts); followers re-check the collects and resume at WRITE.
 * Checkpoints every `checkpointPeriod` decisions; state transfer installs log entries and checkpoints that f+1
 * replicas report identically.
 */
import { type Batch, bytesEqual, type DecodedRequest, decodeBatch, decodeRequest, encodeBatch, utf8 } from './codec.js';
import {
  type CollectState,
  chooseValue,
  decodeCollect,
  EMPTY_STATE,
  encodeCollect,
  type SyncChoice,
} from './leader-change.js';
import type { Action, CoreConfig, CoreEnv, DecisionProof, Input, Msg, SignedCollect } from './types.js';

interface Pending {
  seq: number;
  bytes: Uint8Array;
  /** The request decoded and verified on arrival (a leader's own batch is built from these). */
  req: DecodedRequest;
  since: number;
  fwd: boolean;
}

/** The pooled request of a client's queue with sequence number `seq`, if any. */
function pendingAt(q: readonly Pending[], seq: number): Pending | undefined {
  for (const p of q) if (p.seq === seq) return p;
  return undefined;
}

export interface Instance {
  cid: number;
  proposals: Map<number, string>;
  values: Map<string, Uint8Array>;
  writes: Map<number, Map<number, string>>;
  accepts: Map<number, Map<number, { hash: string; proof: Uint8Array }>>;
  wrote: Set<number>;
  accepted: Set<number>;
  valTs: number;
  valHash: string | null;
  val: Uint8Array | null;
  ws: Map<string, number>;
}

/** A replica's state that must survive a clean stop (stop-state.ts), besides its checkpoint. */
export interface DurableState {
  lastDecided: number;
  /** Decisions after the last checkpoint, oldest first. */
  decisions: { cid: number; value: Uint8Array }[];
  /** Proof of the last decision, when there is one; checked again before use. */
  lastProof: DecisionProof | null;
  regency: number;
  /** Votes and values of the instance in progress (what STOPDATA reports in a leader change). */
  inst: Instance;
}

interface StoredStopData {
  signed: SignedCollect;
  cid: number;
  state: CollectState;
  last: DecisionProof | null;
}

const HIGH_MARK = 4;
const MAX_BATCH_REQUESTS = 4096;
const MAX_FWD = 256;
/** How far ahead of our regency a STOPDATA addressed to us as its leader is kept (bounded by sender anyway). */
const EARLY_REGENCIES = 8;
const STATE_LOG_BYTES = 4 * 1024 * 1024;

function newInstance(cid: number): Instance {
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

export function acceptBytes(cid: number, reg: number, hash: string): Uint8Array {
  return utf8.encode(`ACCEPT|${cid}|${reg}|${hash}`);
}

/** checkpoint = u32 metaLen | meta JSON {ts, clients:[[id,seq]...]} | service snapshot */
export function encodeCheckpoint(clients: Map<string, number>, ts: number, service: Uint8Array): Uint8Array {
  const meta = utf8.encode(JSON.stringify({ ts, clients: [...clients.entries()].sort() }));
  const out = new Uint8Array(4 + meta.length + service.length);
  new DataView(out.buffer).setUint32(0, meta.length);
  out.set(meta, 4);
  out.set(service, 4 + meta.length);
  return out;
}

export function decodeCheckpoint(
  b: Uint8Array,
): { clients: Map<string, number>; ts: number; service: Uint8Array } | undefined {
  try {
    const len = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
    const meta = JSON.parse(utf8.decode(b.subarray(4, 4 + len))) as { ts: number; clients: [string, number][] };
    return { clients: new Map(meta.clients), ts: meta.ts, service: b.subarray(4 + len) };
  } catch {
    return undefined;
  }
}

export class ReplicaCore {
  readonly n: number;
  readonly f: number;
  readonly me: number;
  private readonly half: number;
  private out: Action[] = [];

  regency = 0;
  /** Installed a regency and waiting for (or, as leader, building) its SYNC. */
  lcActive = false;
  stopSentFor = 0;
  private stopLevel = new Map<number, number>();
  private regHints = new Map<number, number>();
  private regReplied = new Map<number, number>();
  private lcStart = 0;
  private lcTimeout: number;
  private stopData = new Map<number, StoredStopData>();
  /** STOPDATA for a regency we lead but have not installed yet, one per sender (onStopData). */
  private earlyStopData = new Map<number, Extract<Msg, { t: 'STOPDATA' }>>();
  private lastSync: Extract<Msg, { t: 'SYNC' }> | null = null;
  private pendingSync: Extract<Msg, { t: 'SYNC' }> | null = null;
  /** cid whose value the SYNC of the current regency fixed: no free PROPOSE for it. */
  private syncCid = -1;

  lastDecided = -1;
  private inst: Instance = newInstance(0);
  private prev: { state: CollectState; proof: DecisionProof | null } | null = null;
  private proposedFor = '';

  private pool = new Map<string, Pending[]>();
  /** Decoded form of proposal values already checked (keyed by the value object; values are never mutated). */
  private decoded = new WeakMap<Uint8Array, Batch>();
  /**
   * Batches this replica built as leader, decoded: its own PROPOSE skips decoding them again and re-checking
   * MACs it checked when the requests entered the pool (the other checks of validBatch still run).
   */
  private built = new WeakMap<Uint8Array, Batch>();
  private poolSize = 0;
  private rr = 0;
  clientSeq = new Map<string, number>();
  private lastTimestamp = 0;

  private now = 0;
  private wall = 0;
  private entropy = 0;

  checkpoint: { cid: number; hash: string; bytes: Uint8Array } | null = null;
  private pendingCkpt = new Map<number, { clients: Map<string, number>; ts: number }>();
  private log: { cid: number; value: Uint8Array }[] = [];

  private ooc = new Map<number, { from: number; msg: Msg }[]>();
  private ahead = new Map<number, number>();
  private aheadSince = -1;
  private st: { replies: Map<number, Extract<Msg, { t: 'STATE' }>>; since: number; attempt: number } | null = null;
  private stAttempt = 0;
  private lastHeartbeat = 0;
  private recovering: boolean;
  private reqTimeout: number;

  constructor(
    readonly cfg: CoreConfig,
    private readonly env: CoreEnv,
  ) {
    this.n = cfg.n;
    this.f = cfg.f;
    this.me = cfg.me;
    this.half = Math.floor((cfg.n + cfg.f) / 2);
    this.lcTimeout = cfg.requestTimeout;
    this.recovering = cfg.recovering === true;
    this.reqTimeout = cfg.requestTimeout;
  }

  leader(reg = this.regency): number {
    return reg % this.n;
  }

  get pending(): number {
    return this.poolSize;
  }

  get stateTransferActive(): boolean {
    return this.st !== null;
  }

  step(input: Input): Action[] {
    this.out = [];
    switch (input.type) {
      case 'tick':
        this.onTick(input.now, input.entropy);
        break;
      case 'request':
        this.onRequestBytes(input.bytes, input.req);
        this.maybePropose();
        break;
      case 'requests':
        for (const it of input.items) this.onRequestBytes(it.bytes, it.req);
        this.maybePropose();
        break;
      case 'message':
        if (input.from >= 0 && input.from < this.n && input.from !== this.me) this.onMessage(input.from, input.msg);
        break;
      case 'snapshot':
        this.onSnapshot(input.cid, input.bytes);
        break;
    }
    return this.out;
  }

  // ---------------------------------------------------------------- requests

  private onRequestBytes(bytes: Uint8Array, decoded?: DecodedRequest): boolean {
    const req = decoded ?? decodeRequest(bytes);
    if (!req || req.readOnly) return false;
    // Stale copies (retransmissions of ordered requests) are dropped before the authenticator check, which costs
    // far more than this lookup when clients sign (Ed25519).
    if (req.seq <= (this.clientSeq.get(req.client) ?? 0) || !this.env.verifyRequest(req)) return false;
    return this.addToPool(req);
  }

  private addToPool(req: DecodedRequest): boolean {
    if (req.seq <= (this.clientSeq.get(req.client) ?? 0)) return false;
    let q = this.pool.get(req.client);
    if (q && pendingAt(q, req.seq)) return false;
    if ((q?.length ?? 0) >= this.cfg.maxPendingPerClient || this.poolSize >= this.cfg.maxPending) return false;
    if (!q) {
      q = [];
      this.pool.set(req.client, q);
    }
    const entry = { seq: req.seq, bytes: req.bytes, req, since: this.now, fwd: false };
    let i = q.length;
    while (i > 0 && q[i - 1]!.seq > req.seq) i--;
    q.splice(i, 0, entry);
    this.poolSize++;
    return true;
  }

  /**
   * Drops a client's pooled requests that are now executed. An emptied queue stays in the pool: a closed-loop
   * client's queue empties and refills once per instance, and deleting and re-adding its entry every time made
   * the map shrink and grow (rehashing) under load. Empty queues are swept once they are most of the pool.
   */
  private prunePool(client: string): void {
    const q = this.pool.get(client);
    if (!q || q.length === 0) return;
    const last = this.clientSeq.get(client) ?? 0;
    let k = 0;
    while (k < q.length && q[k]!.seq <= last) k++;
    if (k === 0) return;
    if (k === q.length) q.length = 0;
    else if (k === 1) q.shift();
    else q.splice(0, k);
    this.poolSize -= k;
    if (q.length === 0 && this.pool.size > 2 * (this.poolSize + 1024)) {
      for (const [c, queue] of this.pool) if (queue.length === 0) this.pool.delete(c);
    }
  }

  /**
   * Fair batch: round-robin over clients, each client's requests in seq order, starting client rotates.
   * `after` (early proposal, see maybePropose) holds the batch still being decided: its requests are skipped and
   * the timestamp moves past it. Returns undefined when no request is left to propose.
   */
  private buildBatch(after?: Batch): Uint8Array | undefined {
    // Queues and a cursor per queue in arrays: this runs for every batch over every client with pending
    // requests, and map lookups per picked request were a share of the leader's CPU.
    const queues: Pending[][] = [];
    for (const q of this.pool.values()) if (q.length > 0) queues.push(q);
    const picked: Uint8Array[] = [];
    const pickedReqs: DecodedRequest[] = [];
    if (queues.length > 0) {
      const cursor = new Array<number>(queues.length).fill(0);
      if (after) {
        const skip = new Map<string, number>();
        for (const r of after.requests) skip.set(r.client, Math.max(skip.get(r.client) ?? 0, r.seq));
        queues.forEach((q, j) => {
          const done = skip.get(q[0]!.req.client);
          if (done === undefined) return;
          let i = 0;
          while (i < q.length && q[i]!.seq <= done) i++;
          cursor[j] = i;
        });
      }
      const start = this.rr++ % queues.length;
      let progress = true;
      while (picked.length < this.cfg.batchSize && progress) {
        progress = false;
        for (let k = 0; k < queues.length && picked.length < this.cfg.batchSize; k++) {
          const j = (start + k) % queues.length;
          const q = queues[j]!;
          const i = cursor[j]!;
          if (i < q.length) {
            picked.push(q[i]!.bytes);
            pickedReqs.push(q[i]!.req);
            cursor[j] = i + 1;
            progress = true;
          }
        }
      }
    }
    if (after && picked.length === 0) return undefined;
    const ts = Math.max(this.lastTimestamp + 1, (after?.timestamp ?? 0) + 1, this.wall);
    const cid = after ? this.inst.cid + 1 : this.inst.cid;
    const seed = (this.entropy ^ Math.imul(cid + 1, 2654435761)) >>> 0;
    const value = encodeBatch(ts, seed, picked);
    this.built.set(value, { timestamp: ts, seed, requests: pickedReqs });
    return value;
  }

  /** A proposal is good if it decodes, its timestamp moves forward and every request is authentic and new. */
  private validBatch(value: Uint8Array): Batch | undefined {
    const own = this.built.get(value);
    const b = own ?? decodeBatch(value);
    if (!b || b.requests.length > MAX_BATCH_REQUESTS) return undefined;
    if (b.timestamp <= this.lastTimestamp) return undefined;
    if (this.wall > 0 && b.timestamp > this.wall + 600_000) return undefined;
    const seen = new Map<string, number>();
    for (const r of b.requests) {
      if (r.readOnly) return undefined;
      const last = seen.get(r.client) ?? this.clientSeq.get(r.client) ?? 0;
      if (r.seq <= last) return undefined;
      // A request already in our pool was verified on arrival: same bytes, no second MAC check (CPU per request).
      if (!own && !this.pooledCopy(r) && !this.env.verifyRequest(r)) return undefined;
      seen.set(r.client, r.seq);
    }
    return b;
  }

  /** Whether `r` is, byte for byte, a request in our pool (checked on arrival). */
  private pooledCopy(r: DecodedRequest): boolean {
    const q = this.pool.get(r.client);
    const p = q && pendingAt(q, r.seq);
    return p ? bytesEqual(p.bytes, r.bytes) : false;
  }

  private maybePropose(): void {
    if (this.leader() !== this.me || this.lcActive || this.st || this.recovering) return;
    const key = `${this.inst.cid}:${this.regency}`;
    if (this.proposedFor === key || this.inst.cid === this.syncCid || this.inst.proposals.has(this.regency)) {
      this.maybeProposeEarly();
      return;
    }
    if (this.poolSize === 0) return;
    this.proposedFor = key;
    const value = this.buildBatch()!;
    const msg: Msg = { t: 'PROPOSE', cid: this.inst.cid, reg: this.regency, value };
    this.send('all', msg);
    this.onPropose(this.me, msg);
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
    const inst = this.inst;
    const next = inst.cid + 1;
    const key = `${next}:${this.regency}`;
    if (this.proposedFor === key || this.poolSize === 0 || !inst.accepted.has(this.regency)) return;
    const hash = inst.proposals.get(this.regency);
    const current = hash === undefined ? undefined : inst.values.get(hash);
    const batch = current && this.decoded.get(current);
    if (!batch || inst.valHash !== hash) return;
    const value = this.buildBatch(batch);
    if (!value) return;
    this.proposedFor = key;
    const msg: Msg = { t: 'PROPOSE', cid: next, reg: this.regency, value };
    this.send('all', msg);
    const list = this.ooc.get(next) ?? [];
    list.push({ from: this.me, msg });
    this.ooc.set(next, list);
  }

  // ---------------------------------------------------------------- messages

  private send(to: number | 'all', msg: Msg): void {
    this.out.push({ type: 'send', to, msg });
  }

  private onMessage(from: number, msg: Msg): void {
    switch (msg.t) {
      case 'PROPOSE':
      case 'WRITE':
      case 'ACCEPT':
        if (!Number.isInteger(msg.cid) || !Number.isInteger(msg.reg) || msg.reg < 0) return;
        this.hint(from, msg.reg);
        if (msg.cid > this.inst.cid) {
          this.noteAhead(from, msg.cid);
          if (msg.cid <= this.inst.cid + HIGH_MARK) {
            const list = this.ooc.get(msg.cid) ?? [];
            if (list.length < 4 * this.n) list.push({ from, msg });
            this.ooc.set(msg.cid, list);
          }
          return;
        }
        if (msg.cid < this.inst.cid) return;
        if (msg.t === 'PROPOSE') this.onPropose(from, msg);
        else if (msg.t === 'WRITE') this.onWrite(from, msg);
        else this.onAccept(from, msg);
        return;
      case 'FWD':
        if (!Array.isArray(msg.reqs)) return;
        for (const r of msg.reqs.slice(0, MAX_FWD)) if (r instanceof Uint8Array) this.onRequestBytes(r);
        this.maybePropose();
        return;
      case 'STOP': {
        this.onStop(from, msg);
        return;
      }
      case 'STOPDATA': {
        this.onStopData(from, msg);
        return;
      }
      case 'SYNC': {
        this.onSync(from, msg);
        return;
      }
      case 'REG':
        if (Number.isInteger(msg.reg)) this.hint(from, msg.reg);
        return;
      case 'HB':
        if (!Number.isInteger(msg.reg) || !Number.isInteger(msg.cid)) return;
        this.hint(from, msg.reg);
        this.noteAhead(from, msg.cid + 1);
        if (msg.cid === this.lastDecided - 1 && this.prev?.proof)
          this.send(from, { t: 'DECIDED', proof: this.prev.proof });
        return;
      case 'DECIDED':
        if (msg.proof?.cid === this.lastDecided + 1 && this.checkProof(msg.proof)) this.adopt(msg.proof);
        return;
      case 'STREQ': {
        this.onStateRequest(from, msg);
        return;
      }
      case 'STATE': {
        this.onState(from, msg);
        return;
      }
    }
  }

  private onPropose(from: number, m: Extract<Msg, { t: 'PROPOSE' }>): void {
    if (m.reg !== this.regency || this.lcActive || from !== this.leader(m.reg)) return;
    if (m.cid === this.syncCid || this.inst.proposals.has(m.reg) || !(m.value instanceof Uint8Array)) return;
    const hash = this.env.digest(m.value);
    // Only the first PROPOSE of the leader in a regency counts (an equivocating leader gets one value per replica).
    this.inst.proposals.set(m.reg, hash);
    const batch = this.validBatch(m.value);
    if (!batch) {
      this.logEvent('warn', 'invalid proposal from leader; starting leader change', { leader: from, cid: m.cid });
      this.startLeaderChange([]);
      return;
    }
    this.decoded.set(m.value, batch);
    this.inst.values.set(hash, m.value);
    this.doWrite(m.reg, hash);
  }

  private doWrite(reg: number, hash: string): void {
    const inst = this.inst;
    if (inst.wrote.has(reg)) return;
    inst.wrote.add(reg);
    inst.ws.set(hash, Math.max(inst.ws.get(hash) ?? -1, reg));
    const cid = inst.cid;
    this.send('all', { t: 'WRITE', cid, reg, hash });
    this.recordWrite(this.me, reg, hash);
  }

  private inVoteWindow(reg: number): boolean {
    return reg >= this.regency - 2 && reg <= this.regency + 2;
  }

  private onWrite(from: number, m: Extract<Msg, { t: 'WRITE' }>): void {
    if (typeof m.hash !== 'string' || !this.inVoteWindow(m.reg)) return;
    this.recordWrite(from, m.reg, m.hash);
  }

  private recordWrite(from: number, reg: number, hash: string): void {
    let votes = this.inst.writes.get(reg);
    if (!votes) {
      votes = new Map();
      this.inst.writes.set(reg, votes);
    }
    if (!votes.has(from)) votes.set(from, hash);
    this.checkAccept(reg, hash);
  }

  private checkAccept(reg: number, hash: string): void {
    const inst = this.inst;
    if (reg !== this.regency || this.lcActive || inst.accepted.has(reg)) return;
    const value = inst.values.get(hash);
    if (!value || inst.proposals.get(reg) !== hash) return;
    let count = 0;
    for (const h of inst.writes.get(reg)?.values() ?? []) if (h === hash) count++;
    if (count <= this.half) return;
    inst.accepted.add(reg);
    inst.valTs = reg;
    inst.valHash = hash;
    inst.val = value;
    const proof = this.env.vector(acceptBytes(inst.cid, reg, hash));
    const cid = inst.cid;
    this.send('all', { t: 'ACCEPT', cid, reg, hash, proof });
    this.recordAccept(this.me, reg, hash, proof);
    if (this.inst === inst) this.maybePropose();
  }

  private onAccept(from: number, m: Extract<Msg, { t: 'ACCEPT' }>): void {
    if (typeof m.hash !== 'string' || !(m.proof instanceof Uint8Array) || !this.inVoteWindow(m.reg)) return;
    if (!this.env.checkVector(from, acceptBytes(m.cid, m.reg, m.hash), m.proof)) return;
    this.recordAccept(from, m.reg, m.hash, m.proof);
  }

  private recordAccept(from: number, reg: number, hash: string, proof: Uint8Array): void {
    let votes = this.inst.accepts.get(reg);
    if (!votes) {
      votes = new Map();
      this.inst.accepts.set(reg, votes);
    }
    if (!votes.has(from)) votes.set(from, { hash, proof });
    this.checkDecide(reg, hash);
  }

  private checkDecide(reg: number, hash: string): void {
    const votes = this.inst.accepts.get(reg);
    if (!votes) return;
    const accepts: { from: number; proof: Uint8Array }[] = [];
    for (const [from, v] of votes) if (v.hash === hash) accepts.push({ from, proof: v.proof });
    if (accepts.length <= this.half) return;
    // Deciding needs the value itself (we may have missed the PROPOSE; then a later message or catch-up gives it).
    const value = this.inst.values.get(hash);
    if (!value) return;
    this.decide(value, { cid: this.inst.cid, reg, value, accepts });
  }

  // ---------------------------------------------------------------- decision and execution

  private decide(value: Uint8Array, proof: DecisionProof | null): void {
    const inst = this.inst;
    const cid = inst.cid;
    // The batch was decoded when its PROPOSE was checked; decisions adopted from proofs, SYNCs or state transfer
    // are decoded here.
    const batch = this.decoded.get(value) ??
      decodeBatch(value) ?? { timestamp: this.lastTimestamp, seed: 0, requests: [] };
    // The value stays in the log until the next checkpoint; its decoded form (hundreds of small objects per batch)
    // must not: kept alive by the WeakMaps, a checkpoint period of them filled the old generation and GC took a
    // fifth of a follower's CPU.
    this.decoded.delete(value);
    this.built.delete(value);
    const run: DecodedRequest[] = [];
    for (const r of batch.requests) {
      if (r.readOnly) continue;
      if (r.seq <= (this.clientSeq.get(r.client) ?? 0)) continue;
      this.clientSeq.set(r.client, r.seq);
      run.push(r);
    }
    for (const r of run) this.prunePool(r.client);
    this.lastTimestamp = Math.max(this.lastTimestamp, batch.timestamp);
    this.out.push({
      type: 'execute',
      cid,
      regency: this.regency,
      timestamp: batch.timestamp,
      seed: batch.seed,
      requests: run,
    });
    this.log.push({ cid, value });
    this.lastDecided = cid;
    this.prev = {
      state: { valTs: inst.valTs, valHash: inst.valHash, val: inst.val, ws: inst.ws },
      proof,
    };
    if ((cid + 1) % this.cfg.checkpointPeriod === 0) {
      this.pendingCkpt.set(cid, { clients: new Map(this.clientSeq), ts: this.lastTimestamp });
      this.out.push({ type: 'checkpoint', cid });
    }
    this.inst = newInstance(cid + 1);
    this.lcTimeout = this.cfg.requestTimeout;
    // Progress: let an inflated request timeout decay back slowly.
    if (this.reqTimeout > this.cfg.requestTimeout) this.reqTimeout--;
    const buffered = this.ooc.get(cid + 1);
    for (const k of [...this.ooc.keys()]) if (k <= cid + 1) this.ooc.delete(k);
    if (buffered) for (const { from, msg } of buffered) this.onMessage(from, msg);
    this.maybePropose();
  }

  private onSnapshot(cid: number, bytes: Uint8Array): void {
    const meta = this.pendingCkpt.get(cid);
    if (!meta) return;
    this.pendingCkpt.delete(cid);
    const ck = encodeCheckpoint(meta.clients, meta.ts, bytes);
    this.checkpoint = { cid, hash: this.env.digest(ck), bytes: ck };
    this.log = this.log.filter((e) => e.cid > cid);
  }

  // ---------------------------------------------------------------- timers

  private onTick(now: number, entropy: number): void {
    this.now++;
    this.wall = now;
    this.entropy = entropy >>> 0;
    const T = this.reqTimeout;
    const fwd: Uint8Array[] = [];
    const stale: Uint8Array[] = [];
    for (const q of this.pool.values()) {
      const p = q[0];
      if (!p) continue;
      const age = this.now - p.since;
      if (age >= 2 * T) stale.push(p.bytes);
      else if (age >= T && !p.fwd) {
        p.fwd = true;
        fwd.push(p.bytes);
      }
    }
    if (fwd.length > 0 && this.leader() !== this.me)
      this.send(this.leader(), { t: 'FWD', reqs: fwd.slice(0, MAX_FWD) });
    if (stale.length > 0 && !this.lcActive && this.stopSentFor <= this.regency) {
      this.logEvent('warn', 'request timeout; starting leader change', {
        regency: this.regency,
        requests: stale.length,
      });
      // Eventual synchrony: the bound is unknown, so every timeout-driven change doubles the request timeout.
      this.reqTimeout = Math.min(this.reqTimeout * 2, this.cfg.requestTimeout * 16);
      this.startLeaderChange(stale.slice(0, 64));
    }
    // A leader change that does not complete moves on to the next regency, with a doubling timeout.
    if ((this.lcActive || this.stopSentFor > this.regency) && this.now - this.lcStart > this.lcTimeout) {
      this.lcTimeout = Math.min(this.lcTimeout * 2, this.cfg.requestTimeout * 32);
      this.startLeaderChange([]);
    }
    // Lagging: more than f replicas are working on later instances for a while -> state transfer.
    let aheadCount = 0;
    for (const c of this.ahead.values()) if (c > this.inst.cid) aheadCount++;
    if (aheadCount > this.f) {
      if (this.aheadSince < 0) this.aheadSince = this.now;
      else if (this.now - this.aheadSince >= 3) this.requestState();
    } else this.aheadSince = -1;
    // Heartbeat: lets an idle replica that missed decisions or a regency notice it (then it catches up).
    if (this.now - this.lastHeartbeat >= 2 * this.cfg.requestTimeout) {
      this.lastHeartbeat = this.now;
      this.send('all', { t: 'HB', reg: this.regency, cid: this.lastDecided });
    }
    if (this.st && this.now - this.st.since > this.cfg.requestTimeout) {
      this.st = null;
      this.requestState();
    }
  }

  private noteAhead(from: number, cid: number): void {
    if ((this.ahead.get(from) ?? -1) < cid) this.ahead.set(from, cid);
  }

  // ---------------------------------------------------------------- leader change

  private startLeaderChange(reqs: Uint8Array[]): void {
    this.sendStop(Math.max(this.regency, this.stopSentFor) + 1, reqs);
  }

  private sendStop(reg: number, reqs: Uint8Array[]): void {
    if (this.stopSentFor >= reg) return;
    this.stopSentFor = reg;
    this.lcStart = this.now;
    this.send('all', { t: 'STOP', reg, reqs });
    this.evaluateStops();
  }

  private onStop(from: number, m: Extract<Msg, { t: 'STOP' }>): void {
    if (!Number.isInteger(m.reg) || m.reg < 0) return;
    if (Array.isArray(m.reqs)) for (const r of m.reqs.slice(0, 64)) if (r instanceof Uint8Array) this.onRequestBytes(r);
    if (m.reg <= this.regency) {
      // The sender is behind our regency: tell it once, so it can catch up (f+1 such hints move it).
      if ((this.regReplied.get(from) ?? -1) < this.regency) {
        this.regReplied.set(from, this.regency);
        this.send(from, { t: 'REG', reg: this.regency });
      }
      return;
    }
    if ((this.stopLevel.get(from) ?? -1) < m.reg) this.stopLevel.set(from, m.reg);
    this.evaluateStops();
  }

  /** A STOP for r supports every regency <= r. Join the (f+1)-th highest level, install the (2f+1)-th. */
  private evaluateStops(): void {
    const levels: number[] = [this.stopSentFor];
    for (const [from, l] of this.stopLevel) if (from !== this.me) levels.push(l);
    levels.sort((a, b) => b - a);
    const join = levels[this.f] ?? -1;
    if (join > Math.max(this.regency, this.stopSentFor)) this.sendStop(join, []);
    const install = levels[2 * this.f] ?? -1;
    if (install > this.regency) this.install(install);
  }

  /** f+1 replicas show they are in regency >= r: at least one correct replica installed it, so we may too. */
  private hint(from: number, reg: number): void {
    if (reg <= this.regency) return;
    if ((this.regHints.get(from) ?? -1) < reg) this.regHints.set(from, reg);
    const levels = [...this.regHints.values()].sort((a, b) => b - a);
    const r = levels[this.f] ?? -1;
    if (r > this.regency) this.install(r);
  }

  private install(reg: number): void {
    this.logEvent('info', 'installing regency', { regency: reg, leader: this.leader(reg) });
    this.regency = reg;
    this.recovering = false;
    if (this.stopSentFor < reg) this.stopSentFor = reg;
    this.lcActive = true;
    this.lcStart = this.now;
    this.stopData.clear();
    this.lastSync = null;
    this.syncCid = -1;
    this.proposedFor = '';
    for (const q of this.pool.values()) for (const p of q) p.since = this.now;
    const inst = this.inst;
    const collect = encodeCollect({
      reg,
      cid: inst.cid,
      valTs: inst.valTs,
      valHash: inst.valHash,
      val: inst.val,
      ws: inst.ws,
    });
    const msg: Msg = {
      t: 'STOPDATA',
      reg,
      collect,
      auth: this.env.vector(collect),
      last: this.prev?.proof ?? null,
    };
    if (this.leader(reg) === this.me) {
      this.onStopData(this.me, msg);
      for (const [from, early] of [...this.earlyStopData]) {
        if (early.reg <= reg) this.earlyStopData.delete(from);
        if (early.reg === reg) this.onStopData(from, early);
      }
    } else this.send(this.leader(reg), msg);
    if (this.pendingSync && this.pendingSync.reg === reg) {
      const s = this.pendingSync;
      this.pendingSync = null;
      this.onSync(this.leader(reg), s);
    }
  }

  private checkProof(p: DecisionProof | null | undefined): boolean {
    if (!p || !Number.isInteger(p.cid) || !(p.value instanceof Uint8Array) || !Array.isArray(p.accepts)) return false;
    const bytes = acceptBytes(p.cid, p.reg, this.env.digest(p.value));
    const ok = new Set<number>();
    for (const a of p.accepts) {
      if (!a || !Number.isInteger(a.from) || a.from < 0 || a.from >= this.n || ok.has(a.from)) continue;
      if (a.proof instanceof Uint8Array && this.env.checkVector(a.from, bytes, a.proof)) ok.add(a.from);
    }
    return ok.size > this.half;
  }

  private onStopData(from: number, m: Extract<Msg, { t: 'STOPDATA' }>): void {
    if (
      Number.isInteger(m.reg) &&
      m.reg > this.regency &&
      m.reg <= this.regency + EARLY_REGENCIES &&
      this.leader(m.reg) === this.me &&
      from !== this.me
    ) {
      // A follower installed the regency before we did (its STOPs reached it first): keep its STOPDATA for when we
      // install it. It is sent once; dropping it left a new leader one collect short for the whole regency (the
      // simulator found groups that changed leader for thousands of ticks so, with one silent replica).
      const held = this.earlyStopData.get(from);
      if (!held || held.reg < m.reg) this.earlyStopData.set(from, m);
      return;
    }
    if (m.reg !== this.regency || this.leader() !== this.me) return;
    if (!this.lcActive) {
      // Late joiner: it missed our SYNC; send it again.
      if (this.lastSync && from !== this.me) this.send(from, this.lastSync);
      return;
    }
    if (this.stopData.has(from) || !(m.collect instanceof Uint8Array) || !(m.auth instanceof Uint8Array)) return;
    if (!this.env.checkVector(from, m.collect, m.auth)) return;
    const c = decodeCollect(m.collect, this.env.digest);
    if (!c || c.reg !== m.reg) return;
    this.stopData.set(from, {
      signed: { from, collect: m.collect, auth: m.auth },
      cid: c.cid,
      state: c,
      last: this.checkProof(m.last) ? m.last : null,
    });
    this.tryLead();
  }

  /** Collect states for instance `cid` from stored collects (see leader-change.ts for why any subset is safe). */
  private statesFor(cid: number, entries: { cid: number; state: CollectState }[]): CollectState[] {
    const out: CollectState[] = [];
    for (const e of entries) {
      if (e.cid === cid) out.push(e.state);
      else if (e.cid < cid) out.push(EMPTY_STATE);
    }
    return out;
  }

  private tryLead(): void {
    // Catch up with decisions others can prove.
    let progress = true;
    while (progress) {
      progress = false;
      for (const sd of this.stopData.values()) {
        if (sd.last && sd.last.cid === this.lastDecided + 1) {
          this.adopt(sd.last);
          progress = true;
        }
      }
    }
    for (const sd of this.stopData.values()) {
      if (sd.last && sd.last.cid > this.lastDecided) {
        this.requestState();
        return;
      }
    }
    const C = this.lastDecided + 1;
    const entries = [...this.stopData.values()];
    const choice = chooseValue(this.statesFor(C, entries), this.n, this.f);
    if (choice.kind === 'unsound') return;
    const value = choice.kind === 'bound' ? choice.value : this.buildBatch()!;
    const sync: Extract<Msg, { t: 'SYNC' }> = {
      t: 'SYNC',
      reg: this.regency,
      cid: C,
      last: this.prev?.proof ?? null,
      collects: entries.filter((e) => e.cid <= C).map((e) => e.signed),
      value,
    };
    this.logEvent('info', 'new leader synchronising', { regency: this.regency, cid: C, choice: choice.kind });
    this.lastSync = sync;
    this.send('all', sync);
    this.applySync(sync, choice);
  }

  private adopt(p: DecisionProof): void {
    const hash = this.env.digest(p.value);
    this.inst.values.set(hash, p.value);
    this.decide(p.value, p);
  }

  private onSync(from: number, m: Extract<Msg, { t: 'SYNC' }>): void {
    if (!Number.isInteger(m.reg) || !Number.isInteger(m.cid) || from !== this.leader(m.reg)) return;
    if (m.reg > this.regency) {
      this.hint(from, m.reg);
      if (m.reg > this.regency && m.reg <= this.regency + 2) this.pendingSync = m;
      return;
    }
    if (m.reg < this.regency || !this.lcActive) return;
    if (!(m.value instanceof Uint8Array) || !Array.isArray(m.collects)) return;
    if (m.cid === this.lastDecided + 2 && m.last?.cid === this.lastDecided + 1 && this.checkProof(m.last))
      this.adopt(m.last);
    if (m.cid > this.lastDecided + 1) {
      this.pendingSync = m;
      this.requestState();
      return;
    }
    if (m.cid <= this.lastDecided) {
      this.finishSync(m.cid);
      return;
    }
    // Re-check the leader's work: only collects whose MAC-vector entry for us verifies count.
    const entries: { cid: number; state: CollectState }[] = [];
    const seen = new Set<number>();
    for (const sc of m.collects) {
      if (!sc || !Number.isInteger(sc.from) || seen.has(sc.from) || sc.from < 0 || sc.from >= this.n) continue;
      if (!(sc.collect instanceof Uint8Array) || !(sc.auth instanceof Uint8Array)) continue;
      if (!this.env.checkVector(sc.from, sc.collect, sc.auth)) continue;
      const c = decodeCollect(sc.collect, this.env.digest);
      if (!c || c.reg !== m.reg) continue;
      seen.add(sc.from);
      entries.push({ cid: c.cid, state: c });
    }
    const choice = chooseValue(this.statesFor(m.cid, entries), this.n, this.f);
    const hash = this.env.digest(m.value);
    const good =
      (choice.kind === 'bound' && choice.hash === hash) || (choice.kind === 'unbound' && this.validBatch(m.value));
    if (!good) {
      this.logEvent('warn', 'SYNC from new leader does not check; next leader change', {
        regency: m.reg,
        choice: choice.kind,
      });
      this.startLeaderChange([]);
      return;
    }
    this.applySync(m, choice);
  }

  private finishSync(cid: number): void {
    this.lcActive = false;
    this.syncCid = cid;
    this.lcStart = this.now;
    this.pendingSync = null;
    for (const q of this.pool.values()) for (const p of q) p.since = this.now;
  }

  private applySync(m: Extract<Msg, { t: 'SYNC' }>, _choice: SyncChoice): void {
    this.finishSync(m.cid);
    const hash = this.env.digest(m.value);
    this.inst.proposals.set(m.reg, hash);
    this.inst.values.set(hash, m.value);
    this.doWrite(m.reg, hash);
    // Votes of this regency may have arrived before the SYNC.
    this.checkAccept(m.reg, hash);
    this.checkDecide(m.reg, hash);
  }

  // ---------------------------------------------------------------- state transfer

  private requestState(): void {
    if (this.st) return;
    this.stAttempt++;
    this.st = { replies: new Map(), since: this.now, attempt: this.stAttempt };
    this.logEvent('info', 'state transfer requested', { from: this.lastDecided + 1 });
    this.send('all', { t: 'STREQ', from: this.lastDecided + 1, attempt: this.stAttempt });
  }

  private onStateRequest(from: number, m: Extract<Msg, { t: 'STREQ' }>): void {
    if (!Number.isInteger(m.from) || !Number.isInteger(m.attempt) || m.from > this.lastDecided) return;
    const logStart = this.log[0]?.cid ?? this.lastDecided + 1;
    let ckpt: Extract<Msg, { t: 'STATE' }>['ckpt'] = null;
    let log = this.log.filter((e) => e.cid >= m.from);
    if (m.from < logStart) {
      if (!this.checkpoint) return;
      let designated = (from + 1 + m.attempt) % this.n;
      if (designated === from) designated = (designated + 1) % this.n;
      ckpt = {
        cid: this.checkpoint.cid,
        hash: this.checkpoint.hash,
        bytes: designated === this.me ? this.checkpoint.bytes : null,
      };
      log = this.log.filter((e) => e.cid > this.checkpoint!.cid);
    }
    // Bounded reply (frames have a size limit): the requester installs what f+1 agree on and asks again.
    const capped: typeof log = [];
    let bytes = ckpt?.bytes?.length ?? 0;
    for (const e of log) {
      if (capped.length > 0 && bytes + e.value.length > STATE_LOG_BYTES) break;
      capped.push(e);
      bytes += e.value.length;
    }
    this.send(from, { t: 'STATE', upTo: this.lastDecided, reg: this.regency, ckpt, log: capped });
  }

  private onState(from: number, m: Extract<Msg, { t: 'STATE' }>): void {
    if (!this.st || !Number.isInteger(m.upTo) || !Array.isArray(m.log)) return;
    if (Number.isInteger(m.reg)) this.hint(from, m.reg);
    if (!this.st) return;
    this.st.replies.set(from, m);
    let progressed = false;
    for (;;) {
      const next = this.lastDecided + 1;
      const byHash = new Map<string, { count: number; value: Uint8Array }>();
      for (const r of this.st.replies.values()) {
        const e = r.log.find((x) => x && x.cid === next);
        if (!e || !(e.value instanceof Uint8Array)) continue;
        const h = this.env.digest(e.value);
        const g = byHash.get(h) ?? { count: 0, value: e.value };
        g.count++;
        byHash.set(h, g);
      }
      const agreed = [...byHash.values()].find((g) => g.count > this.f);
      if (agreed) {
        this.inst.values.set(this.env.digest(agreed.value), agreed.value);
        this.decide(agreed.value, null);
        progressed = true;
        continue;
      }
      if (this.installCheckpoint()) {
        progressed = true;
        continue;
      }
      break;
    }
    if (!this.st) return;
    const ups = [...this.st.replies.values()].map((r) => r.upTo).sort((a, b) => b - a);
    if (progressed && (ups[this.f] === undefined || this.lastDecided < ups[this.f]!)) {
      // Partial (size-capped) replies: continue from where we are now.
      this.st = { replies: new Map(), since: this.now, attempt: this.st.attempt };
      this.send('all', { t: 'STREQ', from: this.lastDecided + 1, attempt: this.st.attempt });
      return;
    }
    const target = ups[this.f];
    if (target !== undefined && this.lastDecided >= target) {
      this.st = null;
      this.ahead.clear();
      this.aheadSince = -1;
      this.logEvent('info', 'state transfer complete', { lastDecided: this.lastDecided, progressed });
      if (this.pendingSync) {
        const s = this.pendingSync;
        this.pendingSync = null;
        this.onSync(this.leader(s.reg), s);
      }
      if (this.lcActive && this.leader() === this.me) this.tryLead();
      this.maybePropose();
    }
  }

  private installCheckpoint(): boolean {
    if (!this.st) return false;
    const groups = new Map<string, { cid: number; hash: string; count: number; bytes: Uint8Array | null }>();
    for (const r of this.st.replies.values()) {
      const c = r.ckpt;
      if (!c || !Number.isInteger(c.cid) || c.cid <= this.lastDecided || typeof c.hash !== 'string') continue;
      const key = `${c.cid}:${c.hash}`;
      const g = groups.get(key) ?? { cid: c.cid, hash: c.hash, count: 0, bytes: null };
      g.count++;
      if (c.bytes instanceof Uint8Array && !g.bytes && this.env.digest(c.bytes) === c.hash) g.bytes = c.bytes;
      groups.set(key, g);
    }
    const best = [...groups.values()].filter((g) => g.count > this.f && g.bytes).sort((a, b) => b.cid - a.cid)[0];
    if (!best?.bytes) return false;
    const ck = decodeCheckpoint(best.bytes);
    if (!ck) return false;
    this.clientSeq = ck.clients;
    for (const c of [...this.pool.keys()]) this.prunePool(c);
    this.lastTimestamp = ck.ts;
    this.lastDecided = best.cid;
    this.checkpoint = { cid: best.cid, hash: best.hash, bytes: best.bytes };
    this.log = [];
    this.prev = null;
    this.inst = newInstance(best.cid + 1);
    for (const k of [...this.ooc.keys()]) if (k <= best.cid) this.ooc.delete(k);
    this.out.push({ type: 'restore', cid: best.cid, bytes: ck.service });
    this.logEvent('info', 'installed checkpoint from state transfer', { cid: best.cid });
    return true;
  }

  /** What a clean stop saves besides the checkpoint (components/smr/stop-state.ts). */
  exportDurable(): DurableState {
    return {
      lastDecided: this.lastDecided,
      decisions: this.log.slice(),
      lastProof: this.prev?.proof ?? null,
      regency: this.regency,
      inst: this.inst,
    };
  }

  /**
   * At start, after restoreLocal (or with no checkpoint): comes back as the replica that stopped. Re-executes the
   * decisions saved since the checkpoint (decisions are final: re-executing the run that continues lastDecided
   * rebuilds the state), with the proof of the last one, then takes back the regency and the votes on the instance
   * in progress, so the next leader change sees them. When the decisions do not all replay (a checkpoint that did
   * not match them), the votes are not restored: the replica stays as after a crash and catches up by state
   * transfer. Either way it stays `recovering` (proposes nothing until a new regency is installed).
   */
  importDurable(d: DurableState): Action[] {
    this.out = [];
    for (const e of d.decisions) {
      if (e.cid !== this.lastDecided + 1 || !(e.value instanceof Uint8Array)) continue;
      this.inst = newInstance(e.cid);
      const p = d.lastProof;
      const proof = p && p.cid === e.cid && bytesEqual(p.value, e.value) && this.checkProof(p) ? p : null;
      this.decide(e.value, proof);
    }
    // The last decision may be the checkpoint itself (none after it to replay): keep its proof all the same. Peers
    // that had not decided it when the group stopped can only adopt it from that proof (the next leader's SYNC
    // carries it): state transfer needs f+1 replicas at that checkpoint, and this may be the only one (the
    // simulator found a group stuck so, with one silent Byzantine replica).
    const p = d.lastProof;
    if (!this.prev && p && p.cid === this.lastDecided && p.cid === d.lastDecided && this.checkProof(p)) {
      this.prev = { state: EMPTY_STATE, proof: p };
    }
    if (this.lastDecided === d.lastDecided && d.inst?.cid === this.lastDecided + 1) {
      this.inst = d.inst;
      if (d.regency > this.regency) this.regency = d.regency;
    }
    return this.out;
  }

  /**
   * Restart from this replica's own last checkpoint (written by the host). Returns the service snapshot to
   * restore, or undefined when the bytes do not decode. What came after the checkpoint comes back from the stop
   * state of a clean stop (importDurable) or, after a crash, from peers by state transfer; if more than f replicas
   * crashed at once, it is lost (no write-ahead log in this release).
   */
  restoreLocal(cid: number, bytes: Uint8Array): Uint8Array | undefined {
    const ck = decodeCheckpoint(bytes);
    if (!ck || !Number.isInteger(cid) || cid < 0 || this.lastDecided !== -1) return undefined;
    this.clientSeq = ck.clients;
    this.lastTimestamp = ck.ts;
    this.lastDecided = cid;
    this.checkpoint = { cid, hash: this.env.digest(bytes), bytes };
    this.inst = newInstance(cid + 1);
    return ck.service;
  }

  private logEvent(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void {
    this.out.push({ type: 'log', level, msg, fields: { replica: this.me, ...fields } });
  }

  health(): Record<string, unknown> {
    return {
      leader: this.leader(),
      regency: this.regency,
      lastDecided: this.lastDecided,
      checkpoint: this.checkpoint?.cid ?? -1,
      pending: this.poolSize,
      leaderChange: this.lcActive,
      stateTransfer: this.st !== null,
    };
  }
}
