/**
 * Seeded deterministic simulator for the SMR core: n ReplicaCores driven by the real ReplicaDriver + KvService over
 * a simulated network that drops, duplicates, delays (hence reorders) and partitions, with up to f Byzantine
 * replicas and closed-loop KV clients using the real ReplyCollector. Virtual time only; every random draw comes
 * from per-subsystem streams of one seed (sim-env.ts).
 *
 * Checks: agreement (correct replicas execute the same batch at every cid), integrity (only issued requests,
 * each at most once), client results linearizable against a sequential KV model (sim-check.ts: the agreed log is
 * the witness order; it must respect real time; read-only results must match some prefix within the op's
 * interval), liveness (after healing, every client op completes and correct replicas converge), and the core's own
 * assertions: anything a replica throws (an InvariantError, TC600) ends the run as a failure of its seed.
 *
 * A slice of the seeds (`signed`) runs the component with `clientAuth: signature`: clients sign every request with
 * real Ed25519 keys and replicas verify them with the same code as the real replica (request-auth.ts), refusing
 * MAC-only requests. The `inject` Byzantine replica, when it leads, slips an extra request for client c0 into the
 * batch it proposes: unsigned or signed with its own key (signed seeds), or with a MAC vector it could only compute
 * for itself (MAC seeds). Integrity fails if a correct replica ever executes it.
 */
import { createHash } from 'node:crypto';
import {
  attachAuth,
  decodeBatch,
  encodeBatch,
  encodeRequestBody,
  MAC_LEN,
  toHex,
} from '../../components/smr/protocol/codec.js';
import { ReplyCollector } from '../../components/smr/protocol/collector.js';
import { ReplicaCore } from '../../components/smr/protocol/core.js';
import { LeaderHint } from '../../components/smr/protocol/leader-hint.js';
import { MAX_PENDING_PER_CLIENT } from '../../components/smr/protocol/limits.js';
import type { CoreEnv, Msg } from '../../components/smr/protocol/types.js';
import { type DriverOutput, emptyOutput, ReplicaDriver } from '../../components/smr/replica-driver.js';
import { signRequest } from '../../components/smr/request-auth.js';
import { encodeKvOp, type KvOp, KvService, resultBytes } from '../../components/smr/services/kv.js';
import { encodeRecord, readSegment, replayRecords } from '../../components/smr/wal-codec.js';
import { WalRecorder } from '../../components/smr/wal-recorder.js';
import { checkLinearizable, type HistOp } from './sim-check.js';
import { CLIENT_SIGNING_KEYS, mac, makeEnv, pairKey, Rng, ROGUE_SIGNING_KEY } from './sim-env.js';

export { makeEnv, Rng, simRequest } from './sim-env.js';

// ------------------------------------------------------------------ configuration
export type Byzantine = 'silent' | 'equivocate' | 'wrong-replies' | 'replay' | 'forge' | 'censor' | 'inject';
/** Drawn for random seeds; `inject` is drawn separately (below) so earlier draws of every seed stay as they were. */
export const BYZANTINE: readonly Byzantine[] = ['silent', 'equivocate', 'wrong-replies', 'replay', 'forge', 'censor'];

export interface SimParams {
  n: number;
  f: number;
  clients: number;
  opsPerClient: number;
  keys: number;
  drop: number;
  dup: number;
  delayMin: number;
  delayMean: number;
  partitions: boolean;
  crashRestart: boolean;
  byzantine: Map<number, Byzantine>;
  faultTicks: number;
  livenessTicks: number;
  readOnlyShare: number;
  batchSize: number;
  checkpointPeriod: number;
  /** clientAuth: signature (clients sign with Ed25519; replicas refuse MAC-only requests). */
  signed: boolean;
  /**
   * Clients send ordered requests to the leader their replies name (protocol/leader-hint.ts) and to every
   * replica only on retransmission, as the real client does (components/smr/client.ts); otherwise to all.
   */
  directed: boolean;
  /**
   * Clients ask every replica to answer (flags bit2) only when they broadcast an ordered request or retransmit,
   * as the real client does; otherwise only a request's f+1 designated repliers answer (replica-driver.ts).
   * When false, every request asks every replica to answer.
   */
  designatedReplies: boolean;
  /**
   * Tick at which every replica stops cleanly and starts again (replica-store.ts: its checkpoint plus the stop
   * state of stop-state.ts), wherever each one is in the protocol; -1 for never.
   */
  groupRestartAt: number;
  /**
   * A crash-fault group as node.ts runs one (`faults: crash`): n = 2f+1 replicas running the core with f = 0, no
   * Byzantine replica, and replicas that restart from their write-ahead logs, alone (`replicaRestarts`) or all at
   * once (`groupRestartAt`).
   */
  crashFaults: boolean;
  /** Chance per tick, before healing, that one replica crashes and restarts from its write-ahead log. */
  replicaRestarts: number;
  /** A replica's log sync completes at a later tick (SYNC_CHANCE per tick), not at the end of the step. */
  syncLag: boolean;
}

export function drawParams(seed: number): SimParams {
  const r = new Rng(seed).fork(1);
  const big = r.chance(0.15);
  const n = big ? 7 : 4;
  const f = big ? 2 : 1;
  const nByz = r.int(0, f);
  const byzantine = new Map<number, Byzantine>();
  while (byzantine.size < nByz) byzantine.set(r.int(0, n - 1), r.pick(BYZANTINE));
  const params = {
    n,
    f,
    clients: r.int(1, 4),
    opsPerClient: r.int(3, 12),
    keys: r.int(1, 3),
    drop: r.chance(0.5) ? r.next() * 0.15 : 0,
    dup: r.chance(0.3) ? r.next() * 0.1 : 0,
    delayMin: r.int(0, 2),
    delayMean: 1 + r.next() * 4,
    partitions: r.chance(0.4),
    crashRestart: nByz < f && r.chance(0.3),
    byzantine,
    faultTicks: r.int(100, 400),
    livenessTicks: 3000,
    readOnlyShare: r.chance(0.5) ? 0.3 : 0,
    batchSize: r.int(1, 8),
    checkpointPeriod: r.int(2, 10),
    signed: false,
    directed: false,
    designatedReplies: false,
    groupRestartAt: -1,
    crashFaults: false,
    replicaRestarts: 0,
    syncLag: false,
  };
  // Drawn last, so every parameter above is what it was before signatures existed: a fifth of the seeds sign, and
  // a fifth of those with a Byzantine replica make it the injecting one.
  params.signed = r.chance(0.2);
  if (nByz > 0 && r.chance(0.2)) byzantine.set([...byzantine.keys()][0]!, 'inject');
  params.directed = r.chance(0.5);
  params.groupRestartAt = r.chance(0.25) ? r.int(20, Math.max(21, params.faultTicks - 1)) : -1;
  params.designatedReplies = r.chance(0.6);
  // Drawn after everything else, so the Byzantine seeds stay as they were: a fifth of the seeds are crash-fault
  // groups of 3 (5 when big) replicas, half of them restarting single replicas from their logs along the way.
  if (r.chance(0.2)) {
    params.crashFaults = true;
    params.n = big ? 5 : 3;
    params.f = 0;
    byzantine.clear();
    params.crashRestart = false;
    params.replicaRestarts = r.chance(0.5) ? 0.01 : 0;
    params.syncLag = r.chance(0.7);
    if (params.groupRestartAt < 0 && r.chance(0.3))
      params.groupRestartAt = r.int(20, Math.max(21, params.faultTicks - 1));
  }
  return params;
}

// ------------------------------------------------------------------ simulation
interface Packet {
  at: number;
  order: number;
  from: number;
  to: number;
  kind: 'msg' | 'req' | 'reply';
  msg?: Msg;
  bytes?: Uint8Array;
  reply?: { client: string; seq: number; readOnly: boolean; result: Uint8Array; regency: number };
}

export const PINNED: Omit<SimParams, 'byzantine' | 'signed'> = {
  n: 4,
  f: 1,
  clients: 3,
  opsPerClient: 8,
  keys: 2,
  drop: 0,
  dup: 0,
  delayMin: 0,
  delayMean: 1.5,
  partitions: false,
  crashRestart: false,
  faultTicks: 200,
  livenessTicks: 3000,
  readOnlyShare: 0.3,
  batchSize: 4,
  checkpointPeriod: 3,
  directed: false,
  designatedReplies: true,
  groupRestartAt: -1,
  crashFaults: false,
  replicaRestarts: 0,
  syncLag: false,
};

export interface SimResult {
  seed: number;
  ok: boolean;
  failures: string[];
  decided: number;
  completed: number;
  ticks: number;
  trace: string;
  params: string;
  /** Proposals the `inject` replica sent with a request its client never issued (0 without one). */
  injected: number;
  /** Request packets clients sent (one per replica reached): shows where `directed` clients send. */
  requestPackets: number;
  /** Reply packets replicas sent to clients: shows who answers with `designatedReplies`. */
  replyPackets: number;
}

const CLIENT_BASE = 1000;
/** With `syncLag`, the chance per tick that a replica's sync in progress completes. */
const SYNC_CHANCE = 0.5;
/** With `replicaRestarts`, the chance that a replica crashes right after a reply left ahead of its log's tail. */
const CRASH_IN_WINDOW = 0.2;
/** Client retransmission period, in ticks. */
const RETRANSMIT_TICKS = 25;

/** A failure inside a replica's step (a broken invariant, or any exception): the run stops and reports it. */
class ReplicaFailure extends Error {}

/**
 * `wal`: the replica's write-ahead log as the node keeps it (components/smr/wal.ts): the records of every step,
 * encoded, a new log from a BASE at each checkpoint, of which the first `durable` are on disk. Outputs wait as
 * components/smr/replica-durability.ts makes them wait: a step's peer messages for all of the log, its client
 * replies only for what WalRecorder.repliesNeedStep says, a leader's PROPOSE for nothing; `held` are those still
 * waiting, in order. A sync is started when something waits; it completes at once, or with `syncLag` at a later
 * tick (a chance per tick), so replies can leave while the messages of the same step still wait. A crash keeps a
 * drawn prefix of the log no shorter than `durable` and loses what was held.
 */
type Held = { pos: number; sends: DriverOutput['sends']; replies: DriverOutput['replies'] };
type Replica = {
  core: ReplicaCore;
  driver: ReplicaDriver;
  up: boolean;
  wal: { recorder: WalRecorder; log: Buffer[]; durable: number; held: Held[]; heldReplies: Held[]; syncing: boolean };
};

interface ClientState {
  name: string;
  seq: number;
  done: number;
  cur: {
    op: KvOp;
    ro: boolean;
    seq: number;
    bytes: Uint8Array;
    /** Whether `bytes` asks every replica to answer. */
    replyAll: boolean;
    collector: ReplyCollector;
    sentAt: number;
    hist: HistOp;
  } | null;
  idleUntil: number;
  /** Where ordered requests go when `directed` (the real client's rule). */
  hint: LeaderHint;
  broadcastUntil: number;
}

const clientName = (c: number) => `c${c}`;

/** Request timeout of the simulated replicas, in ticks. */
const REQUEST_TIMEOUT_TICKS = 12;

/**
 * One seeded run: replicas, network, Byzantine decoration, clients and the checks, advanced tick by tick. Every
 * random draw comes from its subsystem's stream (network, workload, Byzantine, faults), in a fixed order, so a seed
 * replays exactly.
 */
class Simulation {
  private readonly netRng: Rng;
  private readonly wlRng: Rng;
  private readonly byzRng: Rng;
  private readonly faultRng: Rng;
  /** How much of the unsynced tail of a log survives a crash (a stream of its own: other draws stay as they were). */
  private readonly logRng: Rng;
  /** Replicas to crash and restart from their logs at the next tick (see persist). */
  private readonly crashSoon = new Set<number>();
  readonly failures: string[] = [];
  private readonly traceHash = createHash('sha256');
  readonly replicas: Replica[];
  /**
   * A crashed replica restarts without its votes (no durable log): amnesia counts against the f budget, so
   * crashed replicas are excluded from the correct set like Byzantine ones.
   */
  private readonly crashed = new Set<number>();
  // Canonical execution history and per-replica progress.
  private readonly canon = new Map<number, string>();
  readonly canonBatches = new Map<number, readonly { client: string; seq: number }[]>();
  /**
   * Who executed each canonical batch. A replica that restarts from a log cut before some of its decisions takes
   * those executions back: nobody else saw them (its messages and replies that showed them waited for the log), so
   * a batch no remaining replica executed is no longer canonical, and the instance may be decided again. Replies
   * are still checked against the final canonical log (checkLinearizable), so a decision that was lost after a
   * reply showed it is still caught.
   */
  private readonly canonBy = new Map<number, Set<number>>();
  private readonly executedBy: Map<string, number>[];
  private readonly lastCid: number[];
  // Network: packets bucketed by delivery tick; inside a tick they are delivered in send order.
  private readonly queue = new Map<number, Packet[]>();
  queued = 0;
  private order = 0;
  now = 0;
  healed = false;
  private partition: Set<number> | null = null;
  // Byzantine behaviour (decorates the honest replica's output; signs only with its own keys).
  private readonly sent: Msg[][];
  private readonly byzEnv = new Map<number, CoreEnv>();
  /** Proposals the `inject` replica sent with a request its client never issued. */
  injected = 0;
  // Clients.
  private readonly issued = new Set<string>();
  readonly history: HistOp[] = [];
  requestPackets = 0;
  replyPackets = 0;
  readonly clients: ClientState[];

  constructor(
    readonly seed: number,
    readonly p: SimParams,
  ) {
    const root = new Rng(seed);
    this.netRng = root.fork(2);
    this.wlRng = root.fork(3);
    this.byzRng = root.fork(4);
    this.faultRng = root.fork(5);
    this.logRng = root.fork(6);
    this.replicas = Array.from({ length: p.n }, (_, i) => this.mkReplica(i));
    this.executedBy = this.replicas.map(() => new Map<string, number>());
    this.lastCid = this.replicas.map(() => -1);
    this.sent = this.replicas.map(() => []);
    for (const i of p.byzantine.keys()) this.byzEnv.set(i, makeEnv(i, p.n));
    this.clients = Array.from({ length: p.clients }, (_, c) => ({
      name: clientName(c),
      seq: 0,
      done: 0,
      cur: null,
      idleUntil: this.wlRng.int(0, 5),
      hint: new LeaderHint(p.n, p.f),
      broadcastUntil: Number.POSITIVE_INFINITY,
    }));
  }

  fail(m: string): void {
    if (this.failures.length < 10) this.failures.push(m);
  }

  correct(i: number): boolean {
    return !this.p.byzantine.has(i) && !this.crashed.has(i);
  }

  traceDigest(): string {
    return this.traceHash.digest('hex');
  }

  private mkReplica(i: number, recovering = false): Replica {
    const p = this.p;
    const env = makeEnv(i, p.n, p.signed);
    const core = new ReplicaCore(
      {
        n: p.n,
        f: p.f,
        me: i,
        batchSize: p.batchSize,
        checkpointPeriod: p.checkpointPeriod,
        requestTimeout: REQUEST_TIMEOUT_TICKS,
        maxPendingPerClient: MAX_PENDING_PER_CLIENT,
        maxPending: 1024,
        recovering,
      },
      env,
    );
    const recorder = new WalRecorder(core);
    const wal = {
      recorder,
      log: [encodeRecord(recorder.base())],
      durable: 1,
      held: [] as Held[],
      heldReplies: [] as Held[],
      syncing: false,
    };
    return { core, driver: new ReplicaDriver(core, new KvService(), env), up: true, wal };
  }

  /**
   * After a step: what it promised goes to the replica's log; its messages and replies leave now or wait for a
   * sync (see Replica). Executions are observations, checked at once.
   */
  private persist(i: number, out: DriverOutput): void {
    const wal = this.replicas[i]!.wal;
    const before = wal.log.length;
    let repliesNeedStep = true;
    if (wal.recorder.checkpointMoved) {
      // The node deletes older segments only once the new BASE is durable; here the BASE syncs at once.
      wal.log = [encodeRecord(wal.recorder.base())];
      this.syncDone(i, true);
    } else {
      for (const r of wal.recorder.records()) wal.log.push(encodeRecord(r));
      repliesNeedStep = wal.recorder.repliesNeedStep;
    }
    const sends = out.sends.filter((x) => x.msg.t !== 'PROPOSE');
    const repliesAt = repliesNeedStep ? wal.log.length : before;
    if (!this.p.syncLag) {
      // The sync completes at once: everything leaves now, in the step's order (as before syncs could lag).
      if ((sends.length > 0 && wal.log.length > wal.durable) || (out.replies.length > 0 && repliesAt > wal.durable)) {
        wal.durable = wal.log.length;
      }
      this.deliverOut(i, out);
      return;
    }
    this.deliverOut(i, { ...out, sends: out.sends.filter((x) => x.msg.t === 'PROPOSE'), replies: [] });
    this.hold(i, wal.held, { pos: wal.log.length, sends, replies: [] });
    this.hold(i, wal.heldReplies, { pos: repliesAt, sends: [], replies: out.replies });
    // The window a lazily written decision opens: a reply has left while this replica's log is not all durable.
    // Crash there sometimes (this replica, or the whole group), so the simulator looks into it on purpose.
    if (out.replies.length > 0 && wal.log.length > wal.durable && this.p.replicaRestarts > 0) {
      if (!this.healed && this.logRng.chance(CRASH_IN_WINDOW)) this.crashSoon.add(i);
    }
    if ((wal.held[0]?.pos ?? 0) > wal.durable || (wal.heldReplies[0]?.pos ?? 0) > wal.durable) wal.syncing = true;
  }

  private hold(i: number, queue: Held[], h: Held): void {
    if (h.sends.length === 0 && h.replies.length === 0) return;
    const wal = this.replicas[i]!.wal;
    if (queue.length === 0 && h.pos <= wal.durable) this.deliverOut(i, { ...emptyOutput(), ...h });
    else queue.push(h);
  }

  /** Replica `i`'s sync completed: everything appended is durable, and what waited for it leaves, in order. */
  private syncDone(i: number, rotated = false): void {
    const wal = this.replicas[i]!.wal;
    const held = [...wal.heldReplies, ...wal.held];
    wal.durable = wal.log.length;
    wal.syncing = false;
    wal.held = [];
    wal.heldReplies = [];
    // A rotation replaced the log: positions of the old one are all covered.
    for (const h of held) if (rotated || h.pos <= wal.durable) this.deliverOut(i, { ...emptyOutput(), ...h });
  }

  /**
   * Runs one step of replica `i` and hands its output on. Anything the replica throws ends the run: an
   * InvariantError is a bug the simulator found, and so is any other exception (the seed replays it).
   */
  private stepReplica(i: number, fn: (out: DriverOutput) => void): void {
    const out = emptyOutput();
    try {
      fn(out);
    } catch (e) {
      const err = e as Error & { code?: string; details?: unknown };
      const details = err.details === undefined ? '' : ` ${JSON.stringify(err.details)}`;
      throw new ReplicaFailure(
        `replica ${i} at tick ${this.now}: ${err.name} ${err.code ?? ''} ${err.message}${details}`.replace(
          / {2}/g,
          ' ',
        ),
        { cause: e },
      );
    }
    this.persist(i, out);
  }

  // ---------------------------------------------------------------- network

  private push(pk: Packet): void {
    const b = this.queue.get(pk.at);
    if (b) b.push(pk);
    else this.queue.set(pk.at, [pk]);
    this.queued++;
  }

  private delay(): number {
    return this.p.delayMin + Math.floor(-Math.log(1 - this.netRng.next()) * this.p.delayMean);
  }

  enqueue(pk: Omit<Packet, 'at' | 'order'>): void {
    const p = this.p;
    if (!this.healed) {
      if (this.netRng.chance(p.drop)) return;
      if (this.partition) {
        const a = pk.kind === 'msg' ? pk.from : pk.kind === 'req' ? -1 : pk.from;
        const b = pk.kind === 'reply' ? -1 : pk.to;
        if (a >= 0 && b >= 0 && this.partition.has(a) !== this.partition.has(b)) return;
      }
      if (this.netRng.chance(p.dup)) this.push({ ...pk, at: this.now + 1 + this.delay(), order: this.order++ });
    }
    this.push({ ...pk, at: this.now + 1 + this.delay(), order: this.order++ });
  }

  /** Delivers the packets due at this tick, in send order. */
  private deliverDue(): void {
    const due = this.queue.get(this.now) ?? [];
    this.queue.delete(this.now);
    this.queued -= due.length;
    for (const pk of due) {
      if (pk.kind === 'reply') {
        this.onReply(pk.to - CLIENT_BASE, pk.from, pk.reply!);
        continue;
      }
      const rep = this.replicas[pk.to]!;
      if (!rep.up) continue;
      this.stepReplica(pk.to, (out) => {
        if (pk.kind === 'req') rep.driver.clientRequest(pk.bytes!, out);
        else rep.driver.input({ type: 'message', from: pk.from, msg: pk.msg! }, out);
      });
    }
  }

  // ---------------------------------------------------------------- Byzantine replicas

  private sendFrom(from: number, to: number | 'all', msg: Msg): void {
    const p = this.p;
    const targets = to === 'all' ? this.replicas.map((_, j) => j).filter((j) => j !== from) : [to];
    const b = p.byzantine.get(from);
    // One injected batch for every follower: they agree on it, so only their request check can stop it.
    const injectedMsg =
      b === 'inject' && msg.t === 'PROPOSE' ? { ...msg, value: this.injectRequest(msg.value, from) } : msg;
    for (const t of targets) {
      let m = injectedMsg;
      if (b === 'silent') return;
      if ((b === 'equivocate' || b === 'censor') && msg.t === 'PROPOSE') {
        m = { ...msg, value: mutateBatch(msg.value, b, t, this.byzRng, clientName(0)) };
      }
      this.enqueue({ kind: 'msg', from, to: t, msg: m });
    }
    if (b === 'replay') this.sent[from]!.push(msg);
  }

  /** A request for c0 that c0 never issued (its next seqs: executing it would also swallow c0's real request). */
  private injectRequest(value: Uint8Array, from: number): Uint8Array {
    const p = this.p;
    const batch = decodeBatch(value);
    if (!batch) return value;
    this.injected++;
    const seq = (this.clients[0]?.seq ?? 0) + 1 + this.byzRng.int(0, 2);
    const body = encodeRequestBody(clientName(0), seq, false, encodeKvOp({ op: 'put', key: 'k0', value: 'INJECTED' }));
    const how = this.byzRng.int(0, 2);
    const req =
      p.signed && how === 0
        ? signRequest(body, ROGUE_SIGNING_KEY) // a signature, but not c0's
        : p.signed && how === 1
          ? signRequest(body, CLIENT_SIGNING_KEYS[0]!).fill(0, body.length + 1) // c0's layout, zeroed signature
          : attachAuth(
              body,
              // The only MAC entry it can compute is its own: the pair key of c0 and this replica.
              Array.from({ length: p.n }, (_, j) =>
                j === from ? mac(pairKey(clientName(0), `r${from}`), body) : new Uint8Array(MAC_LEN).fill(j),
              ),
            );
    return encodeBatch(batch.timestamp, batch.seed, [...batch.requests.map((r) => r.bytes), req]);
  }

  /** What a Byzantine replica sends on its own each tick: replays of its old messages, or forged junk. */
  private byzantineNoise(i: number): void {
    const b = this.p.byzantine.get(i)!;
    const rng = this.byzRng;
    if (b === 'replay' && this.sent[i]!.length > 0 && rng.chance(0.3)) {
      const m = rng.pick(this.sent[i]!);
      this.enqueue({ kind: 'msg', from: i, to: rng.int(0, this.p.n - 1), msg: m });
    }
    if (b === 'forge' && rng.chance(0.3)) {
      const to = rng.int(0, this.p.n - 1);
      if (to === i) return;
      this.enqueue({ kind: 'msg', from: i, to, msg: rng.pick(this.forgeries(i)) });
    }
  }

  /** The junk a forging replica picks from (drawn in this order, so a seed replays). */
  private forgeries(i: number): Msg[] {
    const p = this.p;
    const rng = this.byzRng;
    const env = this.byzEnv.get(i)!;
    const core = this.replicas[i]!.core;
    const cid = core.lastDecided + rng.int(0, 3);
    const reg = core.regency + rng.int(0, 2);
    const junk = new Uint8Array(rng.int(0, 40)).map(() => rng.int(0, 255));
    const forgedReq = attachAuth(
      encodeRequestBody(
        clientName(0),
        1 + rng.int(0, 50),
        false,
        encodeKvOp({ op: 'put', key: 'k0', value: 'FORGED' }),
      ),
      Array.from({ length: p.n }, () => (junk.subarray(0, 0).length === 0 ? new Uint8Array(MAC_LEN).fill(7) : junk)),
    );
    const hash = toHex(junk);
    return [
      { t: 'PROPOSE', cid, reg, value: junk },
      { t: 'WRITE', cid, reg, hash },
      { t: 'ACCEPT', cid, reg, hash, proof: env.vector(junk) },
      { t: 'ACCEPT', cid, reg, hash, proof: new Uint8Array(p.n * MAC_LEN) },
      { t: 'STOP', reg: core.regency + rng.int(1, 1000), reqs: [forgedReq] },
      { t: 'STOPDATA', reg, collect: junk, auth: env.vector(junk), last: null },
      { t: 'SYNC', reg, cid, last: null, collects: [], value: junk },
      { t: 'FWD', reqs: [forgedReq, junk] },
      { t: 'STREQ', from: 0, attempt: rng.int(0, 5) },
      {
        t: 'STATE',
        upTo: cid + 5,
        reg: reg + 3,
        ckpt: { cid: cid + 2, hash, bytes: junk },
        log: [{ cid: core.lastDecided + 1, value: junk }],
      },
      { t: 'REG', reg: reg + rng.int(1, 50) },
    ];
  }

  // ---------------------------------------------------------------- what replicas do: sends, replies, executions

  private deliverOut(i: number, out: DriverOutput): void {
    const p = this.p;
    for (const s of out.sends) this.sendFrom(i, s.to, s.msg);
    for (const r of out.replies) {
      let result = r.result;
      if (p.byzantine.get(i) === 'wrong-replies') result = resultBytes({ ok: true, value: `WRONG-${i}` });
      if (p.byzantine.get(i) === 'silent') continue;
      const c = Number(r.client.slice(1));
      // The regency the replica reports (clients follow the leader f+1 of them name); a lying replica inflates it.
      const regency = p.byzantine.get(i) === 'wrong-replies' ? 1_000_000 + i : this.replicas[i]!.core.regency;
      if (Number.isInteger(c)) {
        this.replyPackets++;
        this.enqueue({ kind: 'reply', from: i, to: CLIENT_BASE + c, reply: { ...r, result, regency } });
      }
    }
    if (!this.correct(i)) return;
    for (const e of out.executed) this.checkExecuted(i, e);
  }

  /** Agreement and integrity of one execution by correct replica `i`. */
  private checkExecuted(i: number, e: DriverOutput['executed'][number]): void {
    if (e.timestamp === -1) {
      // State transfer installed a checkpoint at e.cid: the replica jumps there.
      this.lastCid[i] = e.cid;
      return;
    }
    if (e.cid !== this.lastCid[i]! + 1) this.fail(`replica ${i} executed cid ${e.cid} after ${this.lastCid[i]}`);
    this.lastCid[i] = e.cid;
    const key = `${e.timestamp}|${e.requests.map((r) => `${r.client}:${r.seq}`).join(',')}`;
    const c = this.canon.get(e.cid);
    if (c === undefined) {
      this.canon.set(e.cid, key);
      this.canonBatches.set(e.cid, e.requests);
      this.canonBy.set(e.cid, new Set([i]));
    } else if (c === key) this.canonBy.get(e.cid)?.add(i);
    else this.fail(`agreement: replica ${i} executed a different batch at cid ${e.cid}: ${key} vs canonical ${c}`);
    for (const r of e.requests) {
      const k = `${r.client}:${r.seq}`;
      if (this.executedBy[i]!.has(k)) this.fail(`integrity: replica ${i} executed ${k} twice`);
      this.executedBy[i]!.set(k, e.cid);
      if (!this.issued.has(k)) this.fail(`integrity: replica ${i} executed ${k} that no client issued`);
    }
    this.traceHash.update(`${i}:${e.cid}:${key};`);
  }

  // ---------------------------------------------------------------- clients

  private buildReq(cl: ClientState, op: KvOp, ro: boolean, seq: number, replyAll: boolean): Uint8Array {
    const p = this.p;
    const body = encodeRequestBody(cl.name, seq, ro, encodeKvOp(op), false, replyAll);
    if (p.signed) return signRequest(body, CLIENT_SIGNING_KEYS[Number(cl.name.slice(1))]!);
    return attachAuth(
      body,
      Array.from({ length: p.n }, (_, j) => mac(pairKey(cl.name, `r${j}`), body)),
    );
  }

  /**
   * Sends the client's current request. First sends of ordered requests go to the hinted leader only when
   * `directed`; everything else to all. With `designatedReplies`, an ordered request asks every replica to answer
   * only when it is broadcast after a retransmission (or by a client that is not `directed`, as the real one never
   * is) and is rebuilt so for its retransmissions; without, every request asks.
   */
  private sendCur(c: number, retransmit = false): void {
    const p = this.p;
    const cl = this.clients[c]!;
    const cur = cl.cur!;
    if (retransmit) cl.broadcastUntil = this.now + 10 * RETRANSMIT_TICKS;
    const directed = p.directed && !cur.ro && this.now >= cl.broadcastUntil;
    const replyAll = !cur.ro && (!p.designatedReplies || (p.directed && !directed) || retransmit);
    if (replyAll && !cur.replyAll) {
      cur.bytes = this.buildReq(cl, cur.op, cur.ro, cur.seq, true);
      cur.replyAll = true;
    }
    const bytes = cur.bytes;
    if (directed) {
      this.requestPackets++;
      this.enqueue({ kind: 'req', from: CLIENT_BASE + c, to: cl.hint.leader, bytes });
      return;
    }
    this.requestPackets += p.n;
    for (let j = 0; j < p.n; j++) this.enqueue({ kind: 'req', from: CLIENT_BASE + c, to: j, bytes });
  }

  /** Client `c`'s next operation: a get (sometimes read-only), put, delete or cas on one of the keys. */
  private issue(c: number): void {
    const p = this.p;
    const rng = this.wlRng;
    const cl = this.clients[c]!;
    const key = `k${rng.int(0, p.keys - 1)}`;
    const kind = rng.int(0, 9);
    let op: KvOp;
    let ro = false;
    if (kind < 3) {
      op = { op: 'get', key };
      ro = rng.chance(p.readOnlyShare * 2);
    } else if (kind < 7) op = { op: 'put', key, value: `${cl.name}-${cl.seq + 1}` };
    else if (kind < 8) op = { op: 'delete', key };
    else
      op = {
        op: 'cas',
        key,
        expected: rng.chance(0.5) ? null : `c0-${rng.int(1, 5)}`,
        value: `${cl.name}-cas-${cl.seq + 1}`,
      };
    const seq = ro ? cl.seq : cl.seq + 1;
    if (!ro) {
      cl.seq = seq;
      this.issued.add(`${cl.name}:${seq}`);
    }
    this.start(c, op, ro, seq);
  }

  /** Records the operation in the history and sends it. */
  private start(c: number, op: KvOp, ro: boolean, seq: number): void {
    const cl = this.clients[c]!;
    const hist: HistOp = {
      client: cl.name,
      op,
      readOnly: ro,
      invoke: this.now,
      respond: -1,
      seq: ro ? undefined : seq,
    };
    this.history.push(hist);
    const bytes = this.buildReq(cl, op, ro, seq, false);
    cl.cur = {
      op,
      ro,
      seq,
      bytes,
      replyAll: false,
      collector: new ReplyCollector(this.p.n, this.p.f, seq, ro),
      sentAt: this.now,
      hist,
    };
    this.sendCur(c);
  }

  private onReply(c: number, from: number, r: NonNullable<Packet['reply']>): void {
    const cl = this.clients[c]!;
    const cur = cl.cur;
    if (cl.hint.observe(from, r.regency)) cl.broadcastUntil = 0;
    if (!cur || r.readOnly !== cur.ro || r.seq !== cur.seq) return;
    const st = cur.collector.add(from, r.seq, r.result);
    if (st.kind === 'done') {
      if (!cur.ro && cl.broadcastUntil === Number.POSITIVE_INFINITY) cl.broadcastUntil = 0;
      cur.hist.respond = this.now;
      cur.hist.result = new TextDecoder().decode(st.result);
      cl.cur = null;
      cl.done++;
      cl.idleUntil = this.now + this.wlRng.int(0, 3);
    } else if (st.kind === 'conflict') {
      if (cur.ro) this.reissueOrdered(c);
      else cur.collector = new ReplyCollector(this.p.n, this.p.f, cur.seq, false);
    }
  }

  private reissueOrdered(c: number): void {
    const cl = this.clients[c]!;
    const cur = cl.cur!;
    // The unordered read may not have taken effect anywhere: it becomes an ordered request with a new seq.
    cur.hist.respond = -2;
    const seq = cl.seq + 1;
    cl.seq = seq;
    this.issued.add(`${cl.name}:${seq}`);
    this.start(c, cur.op, false, seq);
  }

  /** Clients issue and retransmit; returns whether every client is done with its operations. */
  private runClients(): boolean {
    let allDone = true;
    this.clients.forEach((cl, c) => {
      if (cl.cur) {
        allDone = false;
        if (this.now - cl.cur.sentAt >= RETRANSMIT_TICKS) {
          cl.cur.sentAt = this.now;
          if (cl.cur.ro) this.reissueOrdered(c);
          else this.sendCur(c, true);
        }
      } else if (cl.done < this.p.opsPerClient) {
        allDone = false;
        if (this.now >= cl.idleUntil) this.issue(c);
      }
    });
    return allDone;
  }

  // ---------------------------------------------------------------- faults

  /**
   * Crash and start of the whole group at once: each replica keeps only its write-ahead log (the checkpoint of its
   * last BASE and the records after it: decisions since, regency, STOP level, votes in progress), replayed as
   * node.ts replays it; messages in flight to it are delivered to the new replica. Replicas crash wherever they
   * are, so some may have decided an instance that others had only accepted: agreement and linearizability must
   * survive that.
   */
  private restartGroup(): void {
    for (let i = 0; i < this.p.n; i++) if (!this.crashed.has(i)) this.restartFromLog(i);
  }

  /**
   * Replica `i` crashes and starts again from its write-ahead log: a drawn prefix of it, no shorter than what its
   * outputs waited for (the rest may not have reached the disk), replayed as node.ts replays it.
   */
  private restartFromLog(i: number): void {
    const old = this.replicas[i]!;
    // Half the time nothing past what had to be durable survives: the case a lazily written record must survive.
    const rng = this.logRng;
    const keep = rng.chance(0.5) ? old.wal.durable : rng.int(old.wal.durable, old.wal.log.length);
    const replayed = replayRecords(readSegment(Buffer.concat(old.wal.log.slice(0, keep))).records);
    if (!replayed) {
      this.fail(`replica ${i}: its write-ahead log does not replay`);
      return;
    }
    // A decision record is written lazily (nothing waits for it): a cut log may end before the last decisions.
    const lost = keep < old.wal.log.length;
    if (
      lost ? replayed.state.lastDecided > old.core.lastDecided : replayed.state.lastDecided !== old.core.lastDecided
    ) {
      this.fail(`replica ${i}: its log ends at ${replayed.state.lastDecided}, it had decided ${old.core.lastDecided}`);
    }
    for (let cid = replayed.state.lastDecided + 1; cid <= old.core.lastDecided; cid++) {
      const by = this.canonBy.get(cid);
      by?.delete(i);
      if (by?.size !== 0) continue;
      this.canon.delete(cid);
      this.canonBatches.delete(cid);
      this.canonBy.delete(cid);
    }
    const ck = replayed.checkpoint;
    const saved = replayed.state;
    const fresh = this.mkReplica(i, true);
    let from = -1;
    if (ck) {
      const svc = fresh.core.restoreLocal(ck.cid, ck.bytes);
      if (!svc) this.fail(`replica ${i}: its own checkpoint ${ck.cid} does not restore`);
      else {
        fresh.driver.restore(svc);
        from = ck.cid;
      }
    }
    this.lastCid[i] = from;
    for (const [k, cid] of this.executedBy[i]!) if (cid > from) this.executedBy[i]!.delete(k);
    this.replicas[i] = { ...fresh, up: old.up };
    this.stepReplica(i, (out) => fresh.driver.resume(saved, out));
    // What the replica resumed from was on disk: the node starts its new segment with a BASE of it and keeps the
    // old segments until that BASE is durable, so a second crash cannot lose it.
    this.syncDone(i);
    if (fresh.core.lastDecided !== saved.lastDecided) {
      this.fail(`replica ${i}: resumed at ${fresh.core.lastDecided}, it had decided ${saved.lastDecided}`);
    }
  }

  /** Before healing: partitions, a group restart, crashes, and replicas coming back up, as the seed draws them. */
  private injectFaults(): void {
    const p = this.p;
    const rng = this.faultRng;
    if (p.partitions && rng.chance(0.02)) {
      this.partition = rng.chance(0.4) ? null : new Set([rng.int(0, p.n - 1)]);
    }
    if (this.now === p.groupRestartAt) this.restartGroup();
    if (p.replicaRestarts > 0 && rng.chance(p.replicaRestarts)) this.restartFromLog(rng.int(0, p.n - 1));
    for (const i of this.crashSoon) {
      if (this.logRng.chance(0.5)) this.restartGroup();
      else this.restartFromLog(i);
    }
    this.crashSoon.clear();
    if (p.crashRestart && rng.chance(0.01)) {
      const i = rng.int(0, p.n - 1);
      if (!p.byzantine.has(i) && (this.crashed.has(i) || this.crashed.size < p.f - p.byzantine.size)) {
        this.crashed.add(i);
        // Crash: volatile state is lost; the replica restarts empty and catches up by state transfer.
        this.replicas[i] = { ...this.mkReplica(i, true), up: false };
        this.lastCid[i] = -1;
        this.executedBy[i]!.clear();
      }
    } else if (rng.chance(0.02)) {
      for (const r of this.replicas) r.up = true;
    }
  }

  // ---------------------------------------------------------------- the run

  /** Runs until every client is done and correct replicas agree, or the liveness budget is spent. */
  run(): { decidedAtHeal: number } {
    const p = this.p;
    const end = p.faultTicks + p.livenessTicks;
    let decidedAtHeal = -1;
    for (this.now = 0; this.now < end; this.now++) {
      if (!this.healed && this.now >= p.faultTicks) {
        this.healed = true;
        this.partition = null;
        for (const r of this.replicas) r.up = true;
        decidedAtHeal = Math.max(...this.replicas.map((r) => r.core.lastDecided));
      }
      if (!this.healed) this.injectFaults();
      this.deliverDue();
      this.tickReplicas();
      const allDone = this.runClients();
      if (this.healed && allDone && this.converged()) break;
    }
    return { decidedAtHeal };
  }

  private tickReplicas(): void {
    for (let i = 0; i < this.p.n; i++) {
      const rep = this.replicas[i]!;
      if (!rep.up) continue;
      if (rep.wal.syncing && this.logRng.chance(SYNC_CHANCE)) this.syncDone(i);
      const tick = { type: 'tick' as const, now: 1_000_000 + this.now * 10, entropy: (this.seed ^ this.now) >>> 0 };
      this.stepReplica(i, (out) => rep.driver.input(tick, out));
      if (this.p.byzantine.has(i)) this.byzantineNoise(i);
    }
  }

  /** Every correct replica has decided as far as the furthest one, with nothing in flight (or for a while). */
  private converged(): boolean {
    const good = this.replicas.map((_, i) => i).filter((i) => this.correct(i));
    const top = Math.max(...good.map((i) => this.replicas[i]!.core.lastDecided));
    // An accepted, undecided instance may hold a write a client saw answered before a crash (its decision record
    // not yet written; a restarted replica pools its requests again): the run goes on until they are executed.
    const agreed = good.every(
      (i) => this.replicas[i]!.core.lastDecided === top && this.replicas[i]!.core.pending === 0,
    );
    return agreed && (this.queued === 0 || this.now > this.p.faultTicks + 400);
  }

  /** The liveness failure when the run used its whole budget. */
  livenessFailure(decidedAtHeal: number): string {
    const p = this.p;
    const pending = this.clients
      .filter((c) => c.cur || c.done < p.opsPerClient)
      .map((c) => `${c.name}(${c.done}/${p.opsPerClient})`);
    const good = this.replicas.map((_, i) => i).filter((i) => this.correct(i));
    const state = (i: number) => {
      const core = this.replicas[i]!.core;
      return `${i}:${core.lastDecided}/reg${core.regency}${core.leaderChangeActive ? 'LC' : ''}${core.stateTransferActive ? 'ST' : ''}`;
    };
    return (
      `liveness: not converged ${p.livenessTicks} ticks after healing; clients ${pending.join(' ') || 'done'}; ` +
      `decided ${good.map(state).join(' ')} (at heal ${decidedAtHeal})`
    );
  }
}

export function runSim(seed: number, override: Partial<SimParams> = {}): SimResult {
  const p = { ...drawParams(seed), ...override };
  const sim = new Simulation(seed, p);
  try {
    const { decidedAtHeal } = sim.run();
    if (sim.now >= p.faultTicks + p.livenessTicks) sim.fail(sim.livenessFailure(decidedAtHeal));
    checkLinearizable(sim.history, sim.canonBatches, (m) => sim.fail(m));
  } catch (e) {
    if (!(e instanceof ReplicaFailure)) throw e;
    sim.fail(e.message);
  }
  return {
    seed,
    ok: sim.failures.length === 0,
    failures: sim.failures,
    decided: Math.max(...sim.replicas.map((r) => r.core.lastDecided)),
    completed: sim.history.filter((h) => h.respond >= 0).length,
    ticks: sim.now,
    trace: sim.traceDigest(),
    params: JSON.stringify({ ...p, byzantine: [...p.byzantine.entries()] }),
    injected: sim.injected,
    requestPackets: sim.requestPackets,
    replyPackets: sim.replyPackets,
  };
}

/** Byzantine leader: a different (still valid) batch per recipient, or the batch without one client's requests. */
function mutateBatch(
  value: Uint8Array,
  how: 'equivocate' | 'censor',
  to: number,
  rng: Rng,
  victim: string,
): Uint8Array {
  // The leader's own batch always decodes; the mutation keeps it valid so that replicas must catch the lie by voting.
  const batch = decodeBatch(value);
  if (!batch) return value;
  const reqs = batch.requests.map((r) => r.bytes);
  let keep = reqs;
  if (how === 'censor') keep = batch.requests.filter((r) => r.client !== victim).map((r) => r.bytes);
  else if (to % 2 === 1) keep = rng.chance(0.5) ? reqs.slice(0, Math.max(0, reqs.length - 1)) : [...reqs].reverse();
  const ts = batch.timestamp + (how === 'equivocate' && to % 2 === 1 ? 1 : 0);
  return encodeBatch(ts, batch.seed, keep);
}
