/**
 * SMR replica role for the node host (`roles.replica`; `standby` for the second group of a twin quad).
 *
 * Wires the pure core (protocol/core.ts) through the ReplicaDriver to the service and to two authenticated
 * transports: `peer` (replica mesh; the replica with the smaller id dials) and `client` (clients dial in;
 * accepted identities are spec.clients). Everything runs on one event loop, one event at a time, as
 * protocol-cores.md (b) asks: a peer message, a client request or a tick goes into the core, its actions come out
 * in order. Ticks every `tickMs` (10 ms) carry the wall clock and fresh entropy for the leader's batch timestamp
 * and seed. Crash-fault components (`faults: crash`, n = 2f+1) run the same core with Byzantine tolerance 0.
 *
 * Durability: every checkpoint is written atomically to <dataDir>/checkpoint.bin and reloaded at restart, and a
 * clean stop (SIGTERM) also saves the decisions made since, the regency and the votes in progress
 * (<dataDir>/stopped.bin, stop-state.ts), taken back at the next start, so stopping the whole group loses nothing.
 * A restarted replica comes back marked `recovering` (it will not propose until a new regency is installed). There
 * is no write-ahead vote log: after a crash (no clean stop) the replica has forgotten its votes and catches up from
 * its peers by state transfer, and if more than f replicas crash at once the decisions after their last checkpoint
 * are lost (checkpointPeriod 1 makes every decision durable).
 *
 * Test-only fault switch: with spec config `testFaults: true`, POST /admin/fault {"mode": ...} (admin bearer
 * token) turns this replica Byzantine at run time: `silent`, `wrong-replies`, `equivocate` (different PROPOSE
 * per peer when leader), or back to `none`. Deployments never set testFaults.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { pairKey } from '../../runtime/channel-keys.js';
import { NodeCode } from '../../runtime/codes.js';
import { HmacSha256Key } from '../../runtime/hmac-sha256.js';
import { publicKeyOf } from '../../runtime/keys.js';
import type { PeerSpec } from '../../runtime/node-spec.js';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { SmrCode } from './codes.js';
import {
  type DecodedRequest,
  decodeBatch,
  decodeRequest,
  encodeBatch,
  macEntryEquals,
  requestOp,
} from './protocol/codec.js';
import { ReplicaCore } from './protocol/core.js';
import { type CoreEnv, type Msg, validateGroup } from './protocol/types.js';
import { type DriverOutput, emptyOutput, ReplicaDriver } from './replica-driver.js';
import { type ClientAuth, ClientSigners, parseClientAuth, requestVerifier } from './request-auth.js';
import { loadService } from './services/load.js';
import { decodeStopState, encodeStopState } from './stop-state.js';
import { clientBase, decodeMsg, encodeMsg, encodeRepliesChunked, idIsFrom, REQUEST, type ReplyEntry } from './wire.js';

export type FaultMode = 'none' | 'silent' | 'wrong-replies' | 'equivocate';
const FAULT_MODES: FaultMode[] = ['none', 'silent', 'wrong-replies', 'equivocate'];

interface ReplicaConfig {
  f: number;
  n: number;
  faults: 'byzantine' | 'crash';
  service: string;
  batchSize: number;
  checkpointPeriod: number;
  tickMs: number;
  requestTimeoutMs: number;
  maxPending: number;
  testFaults: boolean;
}

function num(v: unknown, d: number, name: string, min = 0): number {
  if (v === undefined) return d;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new TcError(SmrCode.config, `SMR config ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`, {
      exit: ExitCode.invalid,
    });
  }
  return v;
}

export function parseReplicaConfig(c: Record<string, unknown>, members: number): ReplicaConfig {
  const f = num(c.f, 1, 'f');
  const n = num(c.n, members, 'n', 1);
  const faults = c.faults === 'crash' ? 'crash' : 'byzantine';
  if (n !== members) {
    throw new TcError(SmrCode.config, `SMR config says n=${n} but the spec lists ${members} replicas in this group`, {
      exit: ExitCode.invalid,
      hint: 'redeploy so that specs and config agree',
    });
  }
  const problem =
    faults === 'crash'
      ? n < 2 * f + 1
        ? `n=${n} cannot tolerate f=${f} crashes (need 2f+1)`
        : undefined
      : validateGroup(n, f);
  if (problem) throw new TcError(SmrCode.config, problem, { exit: ExitCode.invalid });
  return {
    f,
    n,
    faults,
    service: typeof c.service === 'string' ? c.service : 'kv',
    batchSize: num(c.batchSize, 400, 'batchSize', 1),
    checkpointPeriod: num(c.checkpointPeriod, 1000, 'checkpointPeriod', 1),
    tickMs: num(c.tickMs, 10, 'tickMs', 1),
    requestTimeoutMs: num(c.requestTimeoutMs, 500, 'requestTimeoutMs', 10),
    maxPending: num(c.maxPending, 50_000, 'maxPending', 1),
    testFaults: c.testFaults === true,
  };
}

const replica: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const { spec, log, metrics } = ctx;
  const group: PeerSpec[] = [
    { id: spec.id, role: spec.role, index: spec.index, host: spec.host, ports: spec.ports, publicKey: spec.publicKey },
    ...spec.peers.filter((p) => p.role === spec.role),
  ].sort((a, b) => a.index - b.index);
  group.forEach((p, i) => {
    if (p.index !== i) {
      throw new TcError(
        SmrCode.config,
        `replica indexes must be 0..n-1 without gaps; found ${p.id} at index ${p.index}`,
        {
          exit: ExitCode.invalid,
        },
      );
    }
    if (p.ports.peer === undefined || p.ports.client === undefined) {
      throw new TcError(SmrCode.config, `replica ${p.id} has no peer/client ports`, { exit: ExitCode.invalid });
    }
  });
  const cfg = parseReplicaConfig(spec.config, group.length);
  const service = await loadService(cfg.service);
  const me = spec.index;
  const byzF = cfg.faults === 'crash' ? 0 : cfg.f;
  const idToIndex = new Map(group.map((p) => [p.id, p.index]));

  // MAC-vector keys: with every replica (itself included, for its own ACCEPTs and collects) and every client.
  // Made once: every request check and vector entry is one HMAC on the hot path (runtime/hmac-sha256.ts).
  const vectorKeys = group.map(
    (p) =>
      new HmacSha256Key(
        pairKey(
          ctx.privateKey,
          p.id === spec.id ? publicKeyOf(ctx.privateKey) : p.publicKey,
          'vector',
          spec.stack,
          spec.id,
          p.id,
        ),
      ),
  );
  const mac = (key: HmacSha256Key, bytes: Uint8Array) => key.mac(bytes);
  // Ed25519 client signatures (request-auth.ts): signer keys parsed once; with `clientAuth: signature` MAC-only
  // requests are refused. Followers re-check every request of a proposal they did not receive themselves, so a
  // Byzantine leader cannot slip an unsigned or forged request into a batch.
  const { verify: verifyRequest, clientAuth } = requestAuth(spec, clientMacCheck(ctx, me));
  const env: CoreEnv = {
    digest: (b) => createHash('sha256').update(b).digest('hex'),
    verifyRequest,
    vector: (bytes) => Buffer.concat(vectorKeys.map((k) => mac(k, bytes))),
    checkVector: (from, bytes, vec) => {
      const key = vectorKeys[from];
      if (!key || vec.length !== group.length * REPLICA_MAC_LEN) return false;
      return timingSafeEqual(mac(key, bytes), vec.subarray(me * REPLICA_MAC_LEN, (me + 1) * REPLICA_MAC_LEN));
    },
  };

  mkdirSync(spec.dataDir, { recursive: true, mode: 0o700 });
  const marker = path.join(spec.dataDir, 'replica.started');
  const recovering = existsSync(marker);
  writeFileSync(marker, `${new Date().toISOString()}\n`, { mode: 0o600 });
  const requestTimeout = Math.max(2, Math.round(cfg.requestTimeoutMs / cfg.tickMs));
  const core = new ReplicaCore(
    {
      n: cfg.n,
      f: byzF,
      me,
      batchSize: cfg.batchSize,
      checkpointPeriod: cfg.checkpointPeriod,
      requestTimeout,
      maxPendingPerClient: 64,
      maxPending: cfg.maxPending,
      recovering,
    },
    env,
  );
  const driver = new ReplicaDriver(core, service, env);
  let fault: FaultMode = 'none';
  const ckptFile = path.join(spec.dataDir, 'checkpoint.bin');
  if (recovering && existsSync(ckptFile)) {
    // checkpoint.bin = u32 cid | checkpoint bytes (protocol/core.ts encodeCheckpoint).
    const raw = readFileSync(ckptFile);
    const restored =
      raw.length >= 4 ? core.restoreLocal(raw.readUInt32BE(0), new Uint8Array(raw.subarray(4))) : undefined;
    if (restored) {
      driver.restore(restored);
      log.info('restored own checkpoint', { cid: core.lastDecided });
    } else log.warn('ignoring unreadable checkpoint file', { file: ckptFile });
  }
  // What the last clean stop saved (stop-state.ts), taken back before any peer or client can talk to us; read once,
  // then removed: from here on the state lives in memory and in later checkpoints.
  const stopFile = path.join(spec.dataDir, 'stopped.bin');
  if (recovering && existsSync(stopFile)) {
    const saved = decodeStopState(readFileSync(stopFile));
    if (saved) {
      const out = emptyOutput();
      driver.resume(saved, out);
      log.info('resumed the state saved at the last clean stop', {
        replayed: out.executed.length,
        lastDecided: core.lastDecided,
        regency: core.regency,
        votesRestored: core.lastDecided === saved.lastDecided,
      });
    } else log.warn('ignoring unreadable stop state file', { file: stopFile });
    rmSync(stopFile, { force: true });
  }

  const m = {
    decided: metrics.counter('tclouds_smr_decided_total', 'Consensus instances decided'),
    executed: metrics.counter('tclouds_smr_requests_executed_total', 'Ordered requests executed'),
    requests: metrics.counter('tclouds_smr_client_requests_total', 'Client requests received'),
    replies: metrics.counter(
      'tclouds_smr_replies_sent_total',
      'Replies sent to clients (f+1 designated repliers answer an ordered request unless its client asks all)',
    ),
    badMsgs: metrics.counter('tclouds_smr_messages_dropped_total', 'Replica messages that failed to decode'),
    regency: metrics.gauge('tclouds_smr_regency', 'Installed regency (leader = regency mod n)'),
    lastDecided: metrics.gauge('tclouds_smr_last_decided', 'Last decided consensus id'),
    pending: metrics.gauge('tclouds_smr_pending_requests', 'Requests waiting to be ordered'),
    coreErrors: metrics.counter('tclouds_smr_core_errors_total', 'Events the core failed to process'),
  };

  const ids = group.map((p) => p.id);
  let peerT: Transport;
  let clientT: Transport;
  let lastCkpt = -1;
  let ckptWrite: Promise<void> = Promise.resolve();

  const dispatch = (out: DriverOutput) => {
    if (fault !== 'silent') {
      for (const s of out.sends) {
        if (fault === 'equivocate' && s.msg.t === 'PROPOSE' && s.to === 'all') {
          // Byzantine leader (test only): every peer gets a different, individually valid batch.
          const b = decodeBatch(s.msg.value);
          group.forEach((p, i) => {
            if (i === me || !b) return;
            const value = encodeBatch(
              b.timestamp + i,
              b.seed,
              b.requests.map((r) => r.bytes),
            );
            peerT.send(p.id, encodeMsg({ ...s.msg, value } as Msg));
          });
          continue;
        }
        const bytes = encodeMsg(s.msg);
        if (s.to === 'all') {
          for (let i = 0; i < ids.length; i++) if (i !== me) peerT.send(ids[i]!, bytes);
        } else if (s.to !== me) peerT.send(ids[s.to]!, bytes);
      }
      if (out.replies.length > 0) {
        const replies =
          fault === 'wrong-replies' ? out.replies.map((r) => ({ ...r, result: BYZANTINE_RESULT })) : out.replies;
        sendReplies(clientT, replies, core.regency);
        m.replies.inc(out.replies.length);
      }
    }
    for (const l of out.logs) log[l.level](l.msg, l.fields);
    for (const e of out.executed) {
      m.decided.inc();
      m.executed.inc(e.requests.length);
    }
    if (core.checkpoint && core.checkpoint.cid !== lastCkpt) {
      lastCkpt = core.checkpoint.cid;
      const head = Buffer.alloc(4);
      head.writeUInt32BE(lastCkpt, 0);
      const bytes = Buffer.concat([head, core.checkpoint.bytes]);
      ckptWrite = ckptWrite.then(() =>
        writeFileAtomic(ckptFile, bytes, { mode: 0o600 }).catch((e) =>
          log.warn('cannot write checkpoint', { error: String(e) }),
        ),
      );
    }
  };
  const step = (fn: (out: DriverOutput) => void) => {
    const out = emptyOutput();
    try {
      fn(out);
    } catch (e) {
      m.coreErrors.inc();
      log.error('replica core failed on an event; event dropped', { error: String((e as Error).stack ?? e) });
    }
    dispatch(out);
  };

  let inbox: Uint8Array[] = [];
  const drainInbox = () => {
    const views = inbox;
    // Copied out of the frames, so a pooled request does not keep a whole (up to 16 MiB) frame alive; into one
    // buffer for all of them, not one each: a small typed array of its own costs a malloc, its free and GC
    // bookkeeping, which was a tenth of the leader's CPU per request.
    let bytes = 0;
    for (const v of views) bytes += v.length;
    const copy = new Uint8Array(bytes);
    const list: Uint8Array[] = new Array(views.length);
    let o = 0;
    for (let i = 0; i < views.length; i++) {
      const v = views[i]!;
      copy.set(v, o);
      list[i] = copy.subarray(o, o + v.length);
      o += v.length;
    }
    inbox = [];
    step((out) => driver.clientRequests(list, out));
  };

  peerT = new Transport({
    name: 'peer',
    stack: spec.stack,
    selfId: spec.id,
    privateKey: ctx.privateKey,
    listen: { host: spec.host, port: spec.ports.peer! },
    accept: (id) => group.find((p) => p.id === id && p.id !== spec.id)?.publicKey,
    dial: group
      .filter((p) => p.id > spec.id)
      .map((p) => ({ id: p.id, host: p.host, port: p.ports.peer!, publicKey: p.publicKey })),
    blocked: ctx.partitioned,
    // Checkpoints travel in one STATE message: allow large frames between replicas.
    maxFrameBytes: 256 * 1024 * 1024,
    maxQueueBytes: 512 * 1024 * 1024,
    metrics,
    log,
    onMessage: (from, buf) => {
      const idx = idToIndex.get(from);
      const msg = decodeMsg(buf);
      if (idx === undefined || !msg) {
        m.badMsgs.inc();
        return;
      }
      step((out) => driver.input({ type: 'message', from: idx, msg }, out));
    },
    onConnect: (id) => log.info('peer connected', { peer: id }),
  });
  clientT = clientTransport(ctx, (from, buf) => {
    if (buf[0] !== REQUEST) {
      m.badMsgs.inc();
      return;
    }
    m.requests.inc();
    // Requests are only taken from the connection of the identity that signs them. Compared as bytes (request
    // = u8 version | u8 flags | u16 idLen | id | ...; id = base or base/session): no string per request.
    if (!idIsFrom(buf, 1, from)) return;
    // Requests delivered by one socket read (a client's frame holds many) enter the core together, after the
    // read is processed (microtask): one proposal for all of them, and one core step instead of one each. Until
    // then they are views of the frame (the transport never reuses a frame's bytes); the drain copies them.
    inbox.push(buf.subarray(1));
    if (inbox.length === 1) queueMicrotask(drainInbox);
  });
  try {
    await peerT.start();
    await clientT.start();
  } catch (e) {
    await peerT.close();
    await clientT.close();
    throw new TcError(NodeCode.bindFailed, `replica ${spec.id} cannot listen on ${spec.host}: ${(e as Error).message}`);
  }
  const timer = setInterval(() => {
    step((out) => driver.input({ type: 'tick', now: Date.now(), entropy: randomInt(0, 2 ** 32 - 1) }, out));
    m.regency.set(core.regency);
    m.lastDecided.set(core.lastDecided);
    m.pending.set(core.pending);
  }, cfg.tickMs);
  log.info('replica started', {
    index: me,
    n: cfg.n,
    f: cfg.f,
    faults: cfg.faults,
    service: cfg.service,
    clientAuth,
    recovering,
  });

  return {
    health: () => ({ ...core.health(), clientsServed: driver.clientsServed, fault }),
    admin: async (action, body) => {
      if (action !== 'fault') return undefined;
      if (!cfg.testFaults) throw new Error('fault injection is disabled (spec config testFaults is not set)');
      const mode = (body as { mode?: unknown }).mode;
      if (!FAULT_MODES.includes(mode as FaultMode)) throw new Error(`mode must be one of ${FAULT_MODES.join(', ')}`);
      fault = mode as FaultMode;
      log.warn('test fault mode changed', { mode: fault });
      return { fault };
    },
    stop: async () => {
      clearInterval(timer);
      await peerT.close();
      await clientT.close();
      await ckptWrite;
      // Clean stop: save what a checkpoint does not hold (decisions since, regency, votes in progress), so a restart
      // of the whole group (redeploy, host reboot) comes back with every acknowledged write (stop-state.ts).
      await writeFileAtomic(stopFile, encodeStopState(core.exportDurable()), { mode: 0o600 }).catch((e) =>
        log.warn('cannot save the stop state', { error: String(e) }),
      );
    },
  };
};

/**
 * Benchmark baseline (bench/smr.ts): one unreplicated server on the same transport and request authentication,
 * executing each request as it arrives. Never planned for deployments.
 */
const unreplicated: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const { spec } = ctx;
  const service = await loadService(typeof spec.config.service === 'string' ? spec.config.service : 'kv');
  let served = 0;
  // Same request check as a replica: MAC entry 0, or an Ed25519 signature (required with clientAuth: signature).
  const { verify: verifyRequest } = requestAuth(spec, clientMacCheck(ctx, 0));
  const t: Transport = clientTransport(ctx, (from, buf) => {
    // Executed at once, and nothing keeps the request: a view of the frame, no copy.
    const req = buf[0] === REQUEST ? decodeRequest(buf.subarray(1)) : undefined;
    if (!req || clientBase(req.client) !== from) return;
    if (!verifyRequest(req)) return;
    const result = service.execute(requestOp(req), {
      client: req.client,
      seq: req.seq,
      cid: served,
      timestamp: Date.now(),
      nonce: 0,
      readOnly: req.readOnly,
    });
    served++;
    // Replies leave as a replica's do: those of one read in one message (sent once the read is processed).
    pending.push({ client: req.client, seq: req.seq, readOnly: req.readOnly, result });
    if (pending.length === 1) queueMicrotask(flush);
  });
  let pending: ReplyEntry[] = [];
  const flush = () => {
    const list = pending;
    pending = [];
    sendReplies(t, list, 0);
  };
  await t.start();
  return { health: () => ({ served }), stop: () => t.close() };
};

/** What a replica turned Byzantine with `wrong-replies` (test only) answers. */
const BYZANTINE_RESULT = Buffer.from('{"ok":true,"value":"BYZANTINE"}');

/** The replies of one step: one message per client identity (almost always a single one), in bounded chunks. */
function sendReplies(t: Transport, replies: readonly ReplyEntry[], regency: number): void {
  const byBase = new Map<string, ReplyEntry[]>();
  for (const r of replies) {
    const b = clientBase(r.client);
    const list = byBase.get(b);
    if (list) list.push(r);
    else byBase.set(b, [r]);
  }
  for (const [base, list] of byBase) for (const msg of encodeRepliesChunked(list, regency)) t.send(base, msg);
}

/** Entry size of the replicas' own MAC vectors (collects, ACCEPT proofs): full HMAC-SHA256 tags. */
const REPLICA_MAC_LEN = 32;

/**
 * The MAC check of a node that holds entry `index` of the clients' MAC vectors: the pairwise key with each client
 * identity is derived once, on its first request, and each check writes into one scratch tag (checks are
 * synchronous, so it is never shared).
 */
function clientMacCheck(ctx: RoleContext, index: number): (req: DecodedRequest) => boolean {
  const { spec } = ctx;
  const keys = new Map<string, HmacSha256Key>();
  const tag = Buffer.allocUnsafe(32);
  return (req) => {
    const base = clientBase(req.client);
    let key = keys.get(base);
    if (!key) {
      const pub = spec.clients[base];
      if (!pub) return false;
      key = new HmacSha256Key(pairKey(ctx.privateKey, pub, 'vector', spec.stack, spec.id, base));
      keys.set(base, key);
    }
    if (!(index < req.macCount)) return false;
    key.macOf(req.bytes, 0, req.signedLen, tag, 0, req.macLen); // 16 bytes, or 32 in a version 1 request
    return macEntryEquals(req, index, tag);
  };
}

/**
 * The request check of an SMR node (replica or baseline): the component's `clientAuth` policy and the clients'
 * Ed25519 signer keys from the spec, around the role's own MAC check. With `signature`, a spec that lists no signer
 * keys could serve no client at all: refused at start (TC420).
 */
function requestAuth(
  spec: RoleContext['spec'],
  checkMac: (req: DecodedRequest) => boolean,
): { verify: (req: DecodedRequest) => boolean; clientAuth: ClientAuth } {
  const clientAuth = parseClientAuth(spec.config.clientAuth);
  const signers = new ClientSigners(spec.clientSigners ?? {});
  if (clientAuth === 'signature' && signers.size === 0) {
    throw new TcError(SmrCode.config, `clientAuth is "signature" but the spec of ${spec.id} lists no clientSigners`, {
      exit: ExitCode.invalid,
      hint: 'redeploy: `tclouds deploy` generates a signing key for every SMR client',
    });
  }
  return { verify: requestVerifier(clientAuth, signers, checkMac, clientBase), clientAuth };
}

/** The client-facing transport of a node: its client port, accepting only the clients its spec lists. */
function clientTransport(ctx: RoleContext, onMessage: (from: string, buf: Buffer) => void): Transport {
  const { spec, metrics, log } = ctx;
  return new Transport({
    name: 'client',
    stack: spec.stack,
    selfId: spec.id,
    privateKey: ctx.privateKey,
    listen: { host: spec.host, port: spec.ports.client! },
    accept: (id) => spec.clients[id],
    blocked: ctx.partitioned,
    metrics,
    log,
    onMessage,
  });
}

export const roles: Record<string, RoleFactory> = { replica, standby: replica, unreplicated };
