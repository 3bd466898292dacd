/**
 * Seeded deterministic simulator for the SMR core (protocol-cores.md (c)): n ReplicaCores driven by the real
 * ReplicaDriver + KvService over a simulated network that drops, duplicates, delays (hence reorders) and
 * partitions, with up to f Byzantine replicas and closed-loop KV clients using the real ReplyCollector.
 * Virtual time only; every random draw comes from per-subsystem streams of one seed.
 *
 * Checks: agreement (correct replicas execute the same batch at every cid), integrity (only issued requests,
 * each at most once), client results linearizable against a sequential KV model (the agreed log is the witness
 * order; it must respect real time; read-only results must match some prefix within the op's interval), and
 * liveness (after healing, every client op completes and correct replicas converge).
 *
 * A slice of the seeds (`signed`) runs the component with `clientAuth: signature`: clients sign every request with
 * real Ed25519 keys and replicas verify them with the same code as the real replica (request-auth.ts), refusing
 * MAC-only requests. The `inject` Byzantine replica, when it leads, slips an extra request for client c0 into the
 * batch it proposes: unsigned or signed with its own key (signed seeds), or with a MAC vector it could only compute
 * for itself (MAC seeds). Integrity fails if a correct replica ever executes it.
 */
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import {
  attachAuth,
  bytesEqual,
  type DecodedRequest,
  decodeBatch,
  encodeBatch,
  encodeRequestBody,
  MAC_LEN,
  macEntry,
  signedBytes,
  toHex,
} from '../../components/smr/protocol/codec.js';
import { ReplyCollector } from '../../components/smr/protocol/collector.js';
import { ReplicaCore } from '../../components/smr/protocol/core.js';
import { LeaderHint } from '../../components/smr/protocol/leader-hint.js';
import type { CoreEnv, Msg } from '../../components/smr/protocol/types.js';
import { type DriverOutput, emptyOutput, ReplicaDriver } from '../../components/smr/replica-driver.js';
import { ClientSigners, requestVerifier, signRequest } from '../../components/smr/request-auth.js';
import { applyKv, encodeKvOp, type KvOp, KvService, resultBytes } from '../../components/smr/services/kv.js';
import { signingPublicKeyOf } from '../../runtime/keys.js';

// ------------------------------------------------------------------ PRNG (splitmix32 streams)
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  fork(tag: number): Rng {
    return new Rng((Math.imul(this.s ^ tag, 0x27d4eb2d) + tag) >>> 0);
  }
}

// ------------------------------------------------------------------ deterministic crypto
/** Cheap keyed hash (two FNV-1a lanes): a Byzantine wrapper only ever gets its own keys, so it cannot forge. */
function mac(key: string, bytes: Uint8Array): Uint8Array {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    a = Math.imul(a ^ key.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ key.charCodeAt(i), 0x5bd1e995);
  }
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193);
    b = Math.imul(b ^ bytes[i]!, 0x5bd1e995) ^ (b >>> 15);
  }
  const out = new Uint8Array(MAC_LEN);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, a >>> 0);
  dv.setUint32(4, b >>> 0);
  dv.setUint32(8, (a ^ (b << 7)) >>> 0);
  return out;
}
const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
const digestCache = new WeakMap<Uint8Array, string>();
function digest(b: Uint8Array): string {
  const c = digestCache.get(b);
  if (c) return c;
  const h = createHash('sha256').update(b).digest('hex');
  digestCache.set(b, h);
  return h;
}

/**
 * Ed25519 signing keys of the simulated clients c0..c7, derived from fixed seeds (Ed25519 signatures are
 * deterministic, so a replayed seed gives the same bytes). Made once: key generation is not what is under test.
 */
const MAX_CLIENTS = 8;
const CLIENT_SIGNING_KEYS: KeyObject[] = Array.from({ length: MAX_CLIENTS }, (_, c) =>
  createPrivateKey({
    key: Buffer.concat([
      Buffer.from('302e020100300506032b657004220420', 'hex'),
      createHash('sha256').update(`tclouds-sim-client-c${c}`).digest(),
    ]),
    format: 'der',
    type: 'pkcs8',
  }),
);
const SIGNERS = new ClientSigners(
  Object.fromEntries(CLIENT_SIGNING_KEYS.map((k, c) => [`c${c}`, signingPublicKeyOf(k)])),
);
/** A key no client registered: what a Byzantine replica can sign with. */
const ROGUE_SIGNING_KEY = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), new Uint8Array(32).fill(0x42)]),
  format: 'der',
  type: 'pkcs8',
});

const SIGNATURE_CHECKS = new Map<string, boolean>();

/** A MAC request from simulated client `client` for an n-replica group (what the sim's clients send). */
export function simRequest(client: string, seq: number, op: Uint8Array, n: number): Uint8Array {
  const body = encodeRequestBody(client, seq, false, op);
  return attachAuth(
    body,
    Array.from({ length: n }, (_, j) => mac(pairKey(client, `r${j}`), body)),
  );
}

/** The simulator's CoreEnv for replica `me`: deterministic keys, the real request check (request-auth.ts). */
export function makeEnv(me: number, n: number, signed = false): CoreEnv {
  const name = (i: number) => `r${i}`;
  // The replica's request check of the real node (request-auth.ts) around the simulator's MAC.
  const verifyRequest = requestVerifier(
    signed ? 'signature' : 'mac',
    SIGNERS,
    (req: DecodedRequest) => {
      const a = macEntry(req, me);
      return a !== undefined && bytesEqual(a, mac(pairKey(req.client, name(me)), signedBytes(req)));
    },
    (client) => client,
  );
  return {
    digest,
    verifyRequest: (req) => {
      if (!req.signature) return verifyRequest(req);
      // Every replica re-verifies the same signed bytes (on arrival, in proposals, retransmissions): the outcome of
      // Ed25519 verification depends on the bytes alone, so it is computed once per distinct request (CI time).
      const key = toHex(req.bytes);
      let ok = SIGNATURE_CHECKS.get(key);
      if (ok === undefined) {
        ok = verifyRequest(req);
        if (SIGNATURE_CHECKS.size > 200_000) SIGNATURE_CHECKS.clear();
        SIGNATURE_CHECKS.set(key, ok);
      }
      return ok;
    },
    vector: (bytes) => {
      const out = new Uint8Array(n * MAC_LEN);
      for (let j = 0; j < n; j++) out.set(mac(pairKey(name(me), name(j)), bytes), j * MAC_LEN);
      return out;
    },
    checkVector: (from, bytes, vec) =>
      vec.length === n * MAC_LEN &&
      bytesEqual(vec.subarray(me * MAC_LEN, (me + 1) * MAC_LEN), mac(pairKey(name(from), name(me)), bytes)),
  };
}

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
   * Tick at which every replica stops cleanly and starts again (node.ts: its checkpoint plus the stop state of
   * stop-state.ts), wherever each one is in the protocol; -1 for never.
   */
  groupRestartAt: number;
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
  };
  // Drawn last, so every parameter above is what it was before signatures existed: a fifth of the seeds sign, and
  // a fifth of those with a Byzantine replica make it the injecting one.
  params.signed = r.chance(0.2);
  if (nByz > 0 && r.chance(0.2)) byzantine.set([...byzantine.keys()][0]!, 'inject');
  params.directed = r.chance(0.5);
  params.groupRestartAt = r.chance(0.25) ? r.int(20, Math.max(21, params.faultTicks - 1)) : -1;
  params.designatedReplies = r.chance(0.6);
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

interface HistOp {
  client: string;
  op: KvOp;
  readOnly: boolean;
  invoke: number;
  respond: number;
  result?: string;
  seq?: number;
}

/** Fixed parameters of the pinned scenarios (scenarios.test.ts, sim-signatures.test.ts): one fault, no noise. */
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
/** Client retransmission period, in ticks. */
const RETRANSMIT_TICKS = 25;

export function runSim(seed: number, override: Partial<SimParams> = {}): SimResult {
  const p = { ...drawParams(seed), ...override };
  const root = new Rng(seed);
  const netRng = root.fork(2);
  const wlRng = root.fork(3);
  const byzRng = root.fork(4);
  const faultRng = root.fork(5);
  const failures: string[] = [];
  const fail = (m: string) => {
    if (failures.length < 10) failures.push(m);
  };
  const traceHash = createHash('sha256');

  const T = 12;
  const mkReplica = (i: number, recovering = false) => {
    const env = makeEnv(i, p.n, p.signed);
    const core = new ReplicaCore(
      {
        n: p.n,
        f: p.f,
        me: i,
        batchSize: p.batchSize,
        checkpointPeriod: p.checkpointPeriod,
        requestTimeout: T,
        maxPendingPerClient: 64,
        maxPending: 1024,
        recovering,
      },
      env,
    );
    return { core, driver: new ReplicaDriver(core, new KvService(), env), up: true };
  };
  const replicas = Array.from({ length: p.n }, (_, i) => mkReplica(i));
  // A crashed replica restarts without its votes (no durable log): amnesia counts against the f budget, so
  // crashed replicas are excluded from the correct set like Byzantine ones.
  const crashed = new Set<number>();
  const correct = (i: number) => !p.byzantine.has(i) && !crashed.has(i);

  // Canonical execution history and per-replica progress.
  const canon = new Map<number, string>();
  const canonBatches = new Map<number, readonly { client: string; seq: number }[]>();
  const executedBy = replicas.map(() => new Map<string, number>());
  const lastCid = replicas.map(() => -1);

  // Network.
  // Packets bucketed by delivery tick; inside a tick they are delivered in send order.
  const queue = new Map<number, Packet[]>();
  let queued = 0;
  const push = (pk: Packet) => {
    const b = queue.get(pk.at);
    if (b) b.push(pk);
    else queue.set(pk.at, [pk]);
    queued++;
  };
  let order = 0;
  let now = 0;
  let healed = false;
  let partition: Set<number> | null = null;
  const delay = () => p.delayMin + Math.floor(-Math.log(1 - netRng.next()) * p.delayMean);
  const enqueue = (pk: Omit<Packet, 'at' | 'order'>) => {
    if (!healed) {
      if (netRng.chance(p.drop)) return;
      if (partition) {
        const a = pk.kind === 'msg' ? pk.from : pk.kind === 'req' ? -1 : pk.from;
        const b = pk.kind === 'reply' ? -1 : pk.to;
        if (a >= 0 && b >= 0 && partition.has(a) !== partition.has(b)) return;
      }
      if (netRng.chance(p.dup)) push({ ...pk, at: now + 1 + delay(), order: order++ });
    }
    push({ ...pk, at: now + 1 + delay(), order: order++ });
  };

  // Byzantine behaviour (decorates the honest replica's output; signs only with its own keys).
  const sent: Msg[][] = replicas.map(() => []);
  const byzEnv = new Map<number, CoreEnv>();
  for (const i of p.byzantine.keys()) byzEnv.set(i, makeEnv(i, p.n));
  const sendFrom = (from: number, to: number | 'all', msg: Msg) => {
    const targets = to === 'all' ? replicas.map((_, j) => j).filter((j) => j !== from) : [to];
    const b = p.byzantine.get(from);
    // One injected batch for every follower: they agree on it, so only their request check can stop it.
    const injectedMsg = b === 'inject' && msg.t === 'PROPOSE' ? { ...msg, value: injectRequest(msg.value, from) } : msg;
    for (const t of targets) {
      let m = injectedMsg;
      if (b === 'silent') return;
      if ((b === 'equivocate' || b === 'censor') && msg.t === 'PROPOSE') {
        m = { ...msg, value: mutateBatch(msg.value, b, t, byzRng, clientName(0)) };
      }
      enqueue({ kind: 'msg', from, to: t, msg: m });
    }
    if (b === 'replay') sent[from]!.push(msg);
  };
  // A request for c0 that c0 never issued (its next seqs: executing it would also swallow c0's real request).
  let injected = 0;
  const injectRequest = (value: Uint8Array, from: number): Uint8Array => {
    const batch = decodeBatch(value);
    if (!batch) return value;
    injected++;
    const seq = (clients[0]?.seq ?? 0) + 1 + byzRng.int(0, 2);
    const body = encodeRequestBody(clientName(0), seq, false, encodeKvOp({ op: 'put', key: 'k0', value: 'INJECTED' }));
    const how = byzRng.int(0, 2);
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
  };
  const byzantineNoise = (i: number) => {
    const b = p.byzantine.get(i)!;
    const env = byzEnv.get(i)!;
    const core = replicas[i]!.core;
    if (b === 'replay' && sent[i]!.length > 0 && byzRng.chance(0.3)) {
      const m = byzRng.pick(sent[i]!);
      enqueue({ kind: 'msg', from: i, to: byzRng.int(0, p.n - 1), msg: m });
    }
    if (b === 'forge' && byzRng.chance(0.3)) {
      const to = byzRng.int(0, p.n - 1);
      if (to === i) return;
      const cid = core.lastDecided + byzRng.int(0, 3);
      const reg = core.regency + byzRng.int(0, 2);
      const junk = new Uint8Array(byzRng.int(0, 40)).map(() => byzRng.int(0, 255));
      const forgedReq = attachAuth(
        encodeRequestBody(
          clientName(0),
          1 + byzRng.int(0, 50),
          false,
          encodeKvOp({ op: 'put', key: 'k0', value: 'FORGED' }),
        ),
        Array.from({ length: p.n }, () => (junk.subarray(0, 0).length === 0 ? new Uint8Array(MAC_LEN).fill(7) : junk)),
      );
      const hash = toHex(junk);
      const choices: Msg[] = [
        { t: 'PROPOSE', cid, reg, value: junk },
        { t: 'WRITE', cid, reg, hash },
        { t: 'ACCEPT', cid, reg, hash, proof: env.vector(junk) },
        { t: 'ACCEPT', cid, reg, hash, proof: new Uint8Array(p.n * MAC_LEN) },
        { t: 'STOP', reg: core.regency + byzRng.int(1, 1000), reqs: [forgedReq] },
        { t: 'STOPDATA', reg, collect: junk, auth: env.vector(junk), last: null },
        { t: 'SYNC', reg, cid, last: null, collects: [], value: junk },
        { t: 'FWD', reqs: [forgedReq, junk] },
        { t: 'STREQ', from: 0, attempt: byzRng.int(0, 5) },
        {
          t: 'STATE',
          upTo: cid + 5,
          reg: reg + 3,
          ckpt: { cid: cid + 2, hash, bytes: junk },
          log: [{ cid: core.lastDecided + 1, value: junk }],
        },
        { t: 'REG', reg: reg + byzRng.int(1, 50) },
      ];
      enqueue({ kind: 'msg', from: i, to, msg: byzRng.pick(choices) });
    }
  };

  const deliverOut = (i: number, out: DriverOutput) => {
    for (const s of out.sends) sendFrom(i, s.to, s.msg);
    for (const r of out.replies) {
      let result = r.result;
      if (p.byzantine.get(i) === 'wrong-replies') result = resultBytes({ ok: true, value: `WRONG-${i}` });
      if (p.byzantine.get(i) === 'silent') continue;
      const c = Number(r.client.slice(1));
      // The regency the replica reports (clients follow the leader f+1 of them name); a lying replica inflates it.
      const regency = p.byzantine.get(i) === 'wrong-replies' ? 1_000_000 + i : replicas[i]!.core.regency;
      if (Number.isInteger(c)) {
        replyPackets++;
        enqueue({ kind: 'reply', from: i, to: CLIENT_BASE + c, reply: { ...r, result, regency } });
      }
    }
    if (!correct(i)) return;
    for (const e of out.executed) {
      if (e.timestamp === -1) {
        // State transfer installed a checkpoint at e.cid: the replica jumps there.
        lastCid[i] = e.cid;
        continue;
      }
      if (e.cid !== lastCid[i]! + 1) fail(`replica ${i} executed cid ${e.cid} after ${lastCid[i]}`);
      lastCid[i] = e.cid;
      const key = `${e.timestamp}|${e.requests.map((r) => `${r.client}:${r.seq}`).join(',')}`;
      const c = canon.get(e.cid);
      if (c === undefined) {
        canon.set(e.cid, key);
        canonBatches.set(e.cid, e.requests);
      } else if (c !== key)
        fail(`agreement: replica ${i} executed a different batch at cid ${e.cid}: ${key} vs canonical ${c}`);
      for (const r of e.requests) {
        const k = `${r.client}:${r.seq}`;
        if (executedBy[i]!.has(k)) fail(`integrity: replica ${i} executed ${k} twice`);
        executedBy[i]!.set(k, e.cid);
        if (!issued.has(k)) fail(`integrity: replica ${i} executed ${k} that no client issued`);
      }
      traceHash.update(`${i}:${e.cid}:${key};`);
    }
  };

  // Clients.
  const clientName = (c: number) => `c${c}`;
  const issued = new Set<string>();
  const history: HistOp[] = [];
  let requestPackets = 0;
  let replyPackets = 0;
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
  const clients: ClientState[] = Array.from({ length: p.clients }, (_, c) => ({
    name: clientName(c),
    seq: 0,
    done: 0,
    cur: null,
    idleUntil: wlRng.int(0, 5),
    hint: new LeaderHint(p.n, p.f),
    broadcastUntil: Number.POSITIVE_INFINITY,
  }));
  const buildReq = (cl: ClientState, op: KvOp, ro: boolean, seq: number, replyAll: boolean) => {
    const body = encodeRequestBody(cl.name, seq, ro, encodeKvOp(op), false, replyAll);
    if (p.signed) return signRequest(body, CLIENT_SIGNING_KEYS[Number(cl.name.slice(1))]!);
    return attachAuth(
      body,
      Array.from({ length: p.n }, (_, j) => mac(pairKey(cl.name, `r${j}`), body)),
    );
  };
  /**
   * Sends the client's current request. First sends of ordered requests go to the hinted leader only when
   * `directed`; everything else to all. With `designatedReplies`, an ordered request asks every replica to answer
   * only when it is broadcast after a retransmission (or by a client that is not `directed`, as the real one never
   * is) and is rebuilt so for its retransmissions; without, every request asks.
   */
  const sendCur = (c: number, retransmit = false) => {
    const cl = clients[c]!;
    const cur = cl.cur!;
    if (retransmit) cl.broadcastUntil = now + 10 * RETRANSMIT_TICKS;
    const directed = p.directed && !cur.ro && now >= cl.broadcastUntil;
    const replyAll = !cur.ro && (!p.designatedReplies || (p.directed && !directed) || retransmit);
    if (replyAll && !cur.replyAll) {
      cur.bytes = buildReq(cl, cur.op, cur.ro, cur.seq, true);
      cur.replyAll = true;
    }
    const bytes = cur.bytes;
    if (directed) {
      requestPackets++;
      enqueue({ kind: 'req', from: CLIENT_BASE + c, to: cl.hint.leader, bytes });
      return;
    }
    requestPackets += p.n;
    for (let j = 0; j < p.n; j++) enqueue({ kind: 'req', from: CLIENT_BASE + c, to: j, bytes });
  };
  const issue = (c: number) => {
    const cl = clients[c]!;
    const key = `k${wlRng.int(0, p.keys - 1)}`;
    const kind = wlRng.int(0, 9);
    let op: KvOp;
    let ro = false;
    if (kind < 3) {
      op = { op: 'get', key };
      ro = wlRng.chance(p.readOnlyShare * 2);
    } else if (kind < 7) op = { op: 'put', key, value: `${cl.name}-${cl.seq + 1}` };
    else if (kind < 8) op = { op: 'delete', key };
    else
      op = {
        op: 'cas',
        key,
        expected: wlRng.chance(0.5) ? null : `c0-${wlRng.int(1, 5)}`,
        value: `${cl.name}-cas-${cl.seq + 1}`,
      };
    const seq = ro ? cl.seq : cl.seq + 1;
    if (!ro) {
      cl.seq = seq;
      issued.add(`${cl.name}:${seq}`);
    }
    const hist: HistOp = { client: cl.name, op, readOnly: ro, invoke: now, respond: -1, seq: ro ? undefined : seq };
    history.push(hist);
    const bytes = buildReq(cl, op, ro, seq, false);
    cl.cur = {
      op,
      ro,
      seq,
      bytes,
      replyAll: false,
      collector: new ReplyCollector(p.n, p.f, seq, ro),
      sentAt: now,
      hist,
    };
    sendCur(c);
  };
  const onReply = (c: number, from: number, r: NonNullable<Packet['reply']>) => {
    const cl = clients[c]!;
    const cur = cl.cur;
    if (cl.hint.observe(from, r.regency)) cl.broadcastUntil = 0;
    if (!cur || r.readOnly !== cur.ro || r.seq !== cur.seq) return;
    const st = cur.collector.add(from, r.seq, r.result);
    if (st.kind === 'done') {
      if (!cur.ro && cl.broadcastUntil === Number.POSITIVE_INFINITY) cl.broadcastUntil = 0;
      cur.hist.respond = now;
      cur.hist.result = new TextDecoder().decode(st.result);
      cl.cur = null;
      cl.done++;
      cl.idleUntil = now + wlRng.int(0, 3);
    } else if (st.kind === 'conflict') {
      if (cur.ro) reissueOrdered(c);
      else cur.collector = new ReplyCollector(p.n, p.f, cur.seq, false);
    }
  };
  const reissueOrdered = (c: number) => {
    const cl = clients[c]!;
    const cur = cl.cur!;
    // The unordered read may not have taken effect anywhere: it becomes an ordered request with a new seq.
    cur.hist.respond = -2;
    const seq = cl.seq + 1;
    cl.seq = seq;
    issued.add(`${cl.name}:${seq}`);
    const hist: HistOp = { client: cl.name, op: cur.op, readOnly: false, invoke: now, respond: -1, seq };
    history.push(hist);
    const bytes = buildReq(cl, cur.op, false, seq, false);
    cl.cur = {
      op: cur.op,
      ro: false,
      seq,
      bytes,
      replyAll: false,
      collector: new ReplyCollector(p.n, p.f, seq, false),
      sentAt: now,
      hist,
    };
    sendCur(c);
  };

  /**
   * Clean stop and start of the whole group (a redeploy): each replica keeps only what node.ts writes on a clean
   * stop, its last checkpoint and its stop state (decisions since, regency, votes in progress), and takes them back;
   * messages in flight to it are delivered to the new replica. Replicas stop wherever they are, so some may have
   * decided an instance that others had only accepted: agreement and linearizability must survive that.
   */
  const restartGroup = () => {
    for (let i = 0; i < p.n; i++) {
      if (crashed.has(i)) continue;
      const old = replicas[i]!;
      const ck = old.core.checkpoint;
      const saved = old.core.exportDurable();
      const fresh = mkReplica(i, true);
      let from = -1;
      if (ck) {
        const svc = fresh.core.restoreLocal(ck.cid, ck.bytes);
        if (!svc) fail(`replica ${i}: its own checkpoint ${ck.cid} does not restore`);
        else {
          fresh.driver.restore(svc);
          from = ck.cid;
        }
      }
      lastCid[i] = from;
      for (const [k, cid] of executedBy[i]!) if (cid > from) executedBy[i]!.delete(k);
      replicas[i] = { ...fresh, up: old.up };
      const out = emptyOutput();
      fresh.driver.resume(saved, out);
      deliverOut(i, out);
      if (fresh.core.lastDecided !== saved.lastDecided) {
        fail(`replica ${i}: resumed at ${fresh.core.lastDecided}, it had decided ${saved.lastDecided}`);
      }
    }
  };

  // Main loop.
  const end = p.faultTicks + p.livenessTicks;
  let decidedAtHeal = -1;
  for (now = 0; now < end; now++) {
    if (!healed && now >= p.faultTicks) {
      healed = true;
      partition = null;
      for (const r of replicas) r.up = true;
      decidedAtHeal = Math.max(...replicas.map((r) => r.core.lastDecided));
    }
    if (!healed) {
      if (p.partitions && faultRng.chance(0.02)) {
        partition = faultRng.chance(0.4) ? null : new Set([faultRng.int(0, p.n - 1)]);
      }
      if (now === p.groupRestartAt) restartGroup();
      if (p.crashRestart && faultRng.chance(0.01)) {
        const i = faultRng.int(0, p.n - 1);
        if (!p.byzantine.has(i) && (crashed.has(i) || crashed.size < p.f - p.byzantine.size)) {
          crashed.add(i);
          // Crash: volatile state is lost; the replica restarts empty and catches up by state transfer.
          replicas[i] = { ...mkReplica(i, true), up: false };
          lastCid[i] = -1;
          executedBy[i]!.clear();
        }
      } else if (faultRng.chance(0.02)) {
        for (const r of replicas) r.up = true;
      }
    }
    // Deliver due packets in (at, order) order.
    const due = queue.get(now) ?? [];
    queue.delete(now);
    queued -= due.length;
    for (const pk of due) {
      if (pk.kind === 'reply') {
        onReply(pk.to - CLIENT_BASE, pk.from, pk.reply!);
        continue;
      }
      const rep = replicas[pk.to]!;
      if (!rep.up) continue;
      const out = emptyOutput();
      if (pk.kind === 'req') rep.driver.clientRequest(pk.bytes!, out);
      else rep.driver.input({ type: 'message', from: pk.from, msg: pk.msg! }, out);
      deliverOut(pk.to, out);
    }
    for (let i = 0; i < p.n; i++) {
      const rep = replicas[i]!;
      if (!rep.up) continue;
      const out = emptyOutput();
      rep.driver.input({ type: 'tick', now: 1_000_000 + now * 10, entropy: (seed ^ now) >>> 0 }, out);
      deliverOut(i, out);
      if (p.byzantine.has(i)) byzantineNoise(i);
    }
    // Clients: issue, retransmit.
    let allDone = true;
    clients.forEach((cl, c) => {
      if (cl.cur) {
        allDone = false;
        if (now - cl.cur.sentAt >= RETRANSMIT_TICKS) {
          cl.cur.sentAt = now;
          if (cl.cur.ro) reissueOrdered(c);
          else sendCur(c, true);
        }
      } else if (cl.done < p.opsPerClient) {
        allDone = false;
        if (now >= cl.idleUntil) issue(c);
      }
    });
    if (healed && allDone) {
      const good = replicas.map((_, i) => i).filter(correct);
      const top = Math.max(...good.map((i) => replicas[i]!.core.lastDecided));
      if (good.every((i) => replicas[i]!.core.lastDecided === top) && queued === 0) break;
      if (good.every((i) => replicas[i]!.core.lastDecided === top) && now > p.faultTicks + 400) break;
    }
  }

  // Liveness.
  if (now >= end) {
    const pending = clients
      .filter((c) => c.cur || c.done < p.opsPerClient)
      .map((c) => `${c.name}(${c.done}/${p.opsPerClient})`);
    const good = replicas.map((_, i) => i).filter(correct);
    fail(
      `liveness: not converged ${p.livenessTicks} ticks after healing; clients ${pending.join(' ') || 'done'}; ` +
        `decided ${good.map((i) => `${i}:${replicas[i]!.core.lastDecided}/reg${replicas[i]!.core.regency}${replicas[i]!.core.leaderChangeActive ? 'LC' : ''}${replicas[i]!.core.stateTransferActive ? 'ST' : ''}`).join(' ')} (at heal ${decidedAtHeal})`,
    );
  }
  checkLinearizable(history, canonBatches, fail);
  const decided = Math.max(...replicas.map((r) => r.core.lastDecided));
  return {
    seed,
    ok: failures.length === 0,
    failures,
    decided,
    completed: history.filter((h) => h.respond >= 0).length,
    ticks: now,
    trace: traceHash.digest('hex'),
    params: JSON.stringify({ ...p, byzantine: [...p.byzantine.entries()] }),
    injected,
    requestPackets,
    replyPackets,
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

/**
 * Linearizability against the sequential KV model, with the agreed execution order as the witness:
 * ordered ops must appear in the log in an order that respects real time, their results must equal the model's
 * at their position; read-only results must equal the model state at some prefix inside the op's interval.
 */
function checkLinearizable(
  history: HistOp[],
  canon: Map<number, readonly { client: string; seq: number }[]>,
  fail: (m: string) => void,
): void {
  const pos = new Map<string, number>();
  const order: string[] = [];
  const cids = [...canon.keys()].sort((a, b) => a - b);
  for (let i = 0; i < cids.length; i++)
    if (cids[i] !== i) {
      fail(`log has a gap at cid ${i}`);
      return;
    }
  for (const cid of cids)
    for (const r of canon.get(cid)!) {
      pos.set(`${r.client}:${r.seq}`, order.length);
      order.push(`${r.client}:${r.seq}`);
    }
  const byId = new Map<string, HistOp>();
  for (const h of history) if (!h.readOnly && h.seq !== undefined) byId.set(`${h.client}:${h.seq}`, h);
  // Replay the log against the model; record state snapshots per key after each prefix.
  const model = new Map<string, string>();
  const states: Map<string, string>[] = [new Map(model)];
  for (let i = 0; i < order.length; i++) {
    const h = byId.get(order[i]!);
    if (!h) {
      fail(`log entry ${order[i]} has no client op`);
      return;
    }
    const expect = JSON.stringify(applyKv(model, h.op));
    if (h.respond >= 0 && h.result !== expect)
      fail(`linearizability: ${order[i]} ${JSON.stringify(h.op)} returned ${h.result}, model says ${expect}`);
    states.push(new Map(model));
  }
  for (const h of history) {
    if (h.respond < 0 || h.readOnly) continue;
    const p = pos.get(`${h.client}:${h.seq}`);
    if (p === undefined) fail(`linearizability: completed op ${h.client}:${h.seq} not in the agreed log`);
  }
  // Real-time order: an op that completed before another was invoked precedes it.
  const done = history.filter((h) => !h.readOnly && h.respond >= 0 && h.seq !== undefined);
  for (const a of done)
    for (const b of done) {
      if (a.respond < b.invoke && pos.get(`${a.client}:${a.seq}`)! > pos.get(`${b.client}:${b.seq}`)!) {
        fail(
          `linearizability: ${a.client}:${a.seq} completed before ${b.client}:${b.seq} began but was ordered after it`,
        );
      }
    }
  for (const h of history) {
    if (!h.readOnly || h.respond < 0) continue;
    // Earliest prefix: every ordered op that completed before the read began. Latest: ops invoked before it ended.
    let lo = 0;
    let hi = 0;
    for (const d of history) {
      if (d.readOnly || d.seq === undefined) continue;
      const p = pos.get(`${d.client}:${d.seq}`);
      if (p === undefined) continue;
      if (d.respond >= 0 && d.respond < h.invoke) lo = Math.max(lo, p + 1);
      if (d.invoke <= h.respond) hi = Math.max(hi, p + 1);
    }
    let ok = false;
    for (let k = lo; k <= Math.min(hi, order.length) && !ok; k++) {
      if (JSON.stringify(applyKv(new Map(states[k]!), h.op)) === h.result) ok = true;
    }
    if (!ok)
      fail(
        `linearizability: read-only ${h.client} ${JSON.stringify(h.op)} returned ${h.result}, no state in [${lo}, ${hi}] matches`,
      );
  }
}
