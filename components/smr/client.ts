/**
 * SMR client (TIA): authenticates each request with a MAC vector (one HMAC per replica, keys derived pairwise
 * from X25519) or, as an option, an Ed25519 signature, and votes on the replies with the pure ReplyCollector:
 * ordered -> f+1 identical replies; read-only -> n identical replies (protocol/types.ts), reissued ordered when
 * they conflict or time out. Requests are retransmitted to all replicas until a quorum answers or the
 * invoke times out.
 *
 * Where requests go: an ordered request is sent to the leader only, as PBFT's clients do; to every replica
 * when it is retransmitted, when the leader is not connected, before the first ordered reply has named the
 * leader, and for a while after any retransmission. The leader is taken from the regencies f+1 replicas report
 * in their replies (protocol/leader-hint.ts), so one Byzantine replica cannot steer requests. Every replica
 * still checks every request of the leader's batch against its MAC entry, so safety does not depend on where
 * requests go; a censoring or silent leader costs one retransmission delay before the followers' request
 * timers start a leader change. Why: sending every request to all n replicas made each follower receive, check
 * and pool every request only to find it again in the leader's batch; leader-only sending cut a follower's CPU
 * per request by about a quarter in bench/smr.ts (22 -> 17 us). Read-only requests always go to every replica:
 * they need a quorum of replies.
 *
 * Who answers: in the common case only the request's f+1 designated repliers (replica-driver.ts), which is all
 * the client needs. A request asks every replica to answer (flags bit2, reply-all) whenever it is broadcast (by
 * the rules above) or one of its designated repliers is not connected, and every in-flight request is resent that
 * way when a connection drops, so a crashed replier costs no retransmission period; a Byzantine one costs one.
 * Replies arrive batched, one message per replica step (wire.ts encodeReplies).
 *
 * One client identity (key) can run many sessions (logical clients `id/session`), each with its own sequence
 * numbers: that is how a benchmark runs hundreds of closed-loop clients.
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { pairKey } from '../../runtime/channel-keys.js';
import { HmacSha256Key } from '../../runtime/hmac-sha256.js';
import { readPrivateKey, readSigningKey } from '../../runtime/keys.js';
import { nullLogger } from '../../runtime/logger.js';
import { MetricsRegistry } from '../../runtime/metrics.js';
import { readOutputsFile } from '../../runtime/outputs-file.js';
import type { Logger } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { SmrCode } from './codes.js';
import { buildMacRequest, encodeRequestBody, MAC_LEN, utf8 } from './protocol/codec.js';
import { ReplyCollector } from './protocol/collector.js';
import { LeaderHint } from './protocol/leader-hint.js';
import { designatedReplier } from './replica-driver.js';
import { type ClientAuth, signRequest } from './request-auth.js';
import { decodeReplies, encodeClientRequest, REQUEST } from './wire.js';

export interface ReplicaEndpoint {
  id: string;
  index: number;
  host: string;
  /** Client port. */
  port: number;
  publicKey: string;
}

export interface SmrClientOptions {
  stack: string;
  clientId: string;
  privateKey: KeyObject;
  replicas: ReplicaEndpoint[];
  f: number;
  /** Per-invoke deadline (ms). Default 40 s, as BFT-SMaRt's ServiceProxy. */
  timeoutMs?: number;
  /** Retransmit an unanswered request after this long (ms). */
  retransmitMs?: number;
  /** Read-only requests fall back to ordered after this long (ms). */
  readOnlyTimeoutMs?: number;
  log?: Logger;
  /** Sign requests with `signingKey` (Ed25519) instead of MAC vectors. */
  sign?: boolean;
  /** The client's Ed25519 signing key (runtime/keys.ts readSigningKey); required when `sign` is set. */
  signingKey?: KeyObject;
}

/**
 * After a retransmission (the leader may be faulty), ordered requests go to every replica for this many
 * retransmission periods, or until the replies name a new leader: a censoring leader then costs one
 * retransmission delay, not one per request. Only a retransmission of a request sent under the current leader
 * hint opens the window: one sent before a leader change says nothing about the new leader.
 */
const BROADCAST_PERIODS = 10;

interface Inflight {
  collector: ReplyCollector;
  resolve(v: Uint8Array): void;
  reject(e: Error): void;
  readOnly: boolean;
  /** Executing it may change the state (a write, not a read ordered as a fallback). */
  hasEffect: boolean;
  /** The request as sent; retransmitted unchanged once it asks every replica to answer. */
  frame: Uint8Array;
  /** `hintEpoch` when the request was last sent: a retransmission suspects the leader only if it is the same. */
  epoch: number;
  /** Whether `frame` asks every replica to answer (flags bit2); otherwise a resend rebuilds it so. */
  replyAll: boolean;
  id: Uint8Array;
  seq: number;
  op: Uint8Array;
  sentAt: number;
  deadline: number;
  deadlineMs: number;
}

export class SmrClient {
  private readonly t: Transport;
  private readonly keys: HmacSha256Key[];
  private sweep: NodeJS.Timeout | undefined;
  private readonly byId: Map<string, number>;
  private readonly ids: string[];
  /** Where ordered requests go: the leader f+1 replicas' replies point at. */
  private readonly leaderHint: LeaderHint;
  /**
   * Until this time (performance.now()) ordered requests go to every replica: a retransmission happened, or (at
   * the start, Infinity) no ordered request has completed yet, so the replies have not named the leader: a
   * one-shot `tclouds smr invoke` after a leader change would otherwise wait for a request timer at an old leader.
   */
  private broadcastUntil = Number.POSITIVE_INFINITY;
  /** Counts the changes of the leader hint (the replies named a new leader). */
  private hintEpoch = 0;
  readonly n: number;
  readonly f: number;
  private readonly inflight = new Map<string, Inflight>();
  private sessions = 0;
  private readonly prefix = randomBytes(6).toString('hex');
  /** How this client authenticates its requests. */
  readonly auth: ClientAuth;

  constructor(readonly opts: SmrClientOptions) {
    if (opts.sign && opts.signingKey?.asymmetricKeyType !== 'ed25519') {
      throw new TcError(
        SmrCode.noSigningKey,
        `client ${opts.clientId} is asked to sign but has no Ed25519 signing key`,
        {
          exit: ExitCode.invalid,
          hint: 'pass the key from readSigningKey(keys/<client>.sign.key), or redeploy to create it',
        },
      );
    }
    this.auth = opts.sign ? 'signature' : 'mac';
    const replicas = [...opts.replicas].sort((a, b) => a.index - b.index);
    this.n = replicas.length;
    this.f = opts.f;
    this.byId = new Map(replicas.map((r) => [r.id, r.index]));
    this.ids = replicas.map((r) => r.id);
    this.leaderHint = new LeaderHint(this.n, this.f);
    // Keys made once: a MAC vector is n HMACs per request (runtime/hmac-sha256.ts).
    this.keys = replicas.map(
      (r) => new HmacSha256Key(pairKey(opts.privateKey, r.publicKey, 'vector', opts.stack, opts.clientId, r.id)),
    );
    this.t = new Transport({
      name: 'smr-client',
      stack: opts.stack,
      selfId: opts.clientId,
      privateKey: opts.privateKey,
      dial: replicas.map((r) => ({ id: r.id, host: r.host, port: r.port, publicKey: r.publicKey })),
      metrics: new MetricsRegistry(),
      log: opts.log ?? nullLogger,
      onMessage: (from, buf) => this.onReply(from, buf),
      onDisconnect: (id) => this.onLost(id),
    });
  }

  /** Connect; resolves once at least `min` replicas (default n-f) are connected, or after waitMs. */
  async connect(min = this.n - this.f, waitMs = 5000): Promise<number> {
    await this.t.start();
    const deadline = Date.now() + waitMs;
    while (this.t.connectedIds().length < min && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.t.connectedIds().length;
  }

  /** Whether every replica is connected (an unordered read needs them all). */
  get allConnected(): boolean {
    return this.t.connectedCount === this.n;
  }

  /** Index of the replica ordered requests are sent to (the leader as the replies report it). */
  get leader(): number {
    return this.leaderHint.leader;
  }

  /** True while ordered requests go to the leader alone (false for a while after a retransmission). */
  get directed(): boolean {
    return performance.now() >= this.broadcastUntil;
  }

  connectedReplicas(): string[] {
    return this.t.connectedIds();
  }

  session(name?: string): SmrSession {
    return new SmrSession(this, `${this.opts.clientId}/${name ?? `${this.prefix}-${this.sessions++}`}`);
  }

  async close(): Promise<void> {
    for (const i of this.inflight.values()) i.reject(new Error('client closed'));
    this.inflight.clear();
    clearInterval(this.sweep);
    this.sweep = undefined;
    await this.t.close();
  }

  private onReply(from: string, buf: Buffer): void {
    const idx = this.byId.get(from);
    if (idx === undefined) return;
    // Results are voted on in place in `buf` (the collector copies what it keeps).
    const regency = decodeReplies(buf, (client, seq, readOnly, start, end) =>
      this.onReplyEntry(idx, buf, client, seq, readOnly, start, end),
    );
    if (regency !== undefined && this.leaderHint.observe(idx, regency)) {
      this.broadcastUntil = 0;
      this.hintEpoch++;
    }
  }

  /** One reply of replica `from`, its result at `buf[start, end)`. */
  private onReplyEntry(
    from: number,
    buf: Buffer,
    client: string,
    seq: number,
    readOnly: boolean,
    start: number,
    end: number,
  ): void {
    const inf = this.inflight.get(client);
    if (!inf || inf.readOnly !== readOnly) return;
    const st = inf.collector.addRange(from, seq, buf, start, end);
    if (st.kind === 'done') {
      this.inflight.delete(client);
      if (!inf.readOnly && this.broadcastUntil === Number.POSITIVE_INFINITY) this.broadcastUntil = 0;
      inf.resolve(st.result);
    } else if (st.kind === 'conflict') {
      this.inflight.delete(client);
      inf.reject(
        new TcError(
          SmrCode.conflict,
          `replies conflict: ${inf.collector.received} replies without ${inf.collector.needed} identical`,
          {
            exit: ExitCode.unavailable,
          },
        ),
      );
    }
  }

  /**
   * The connection to a replica was lost. Ordered requests in flight would wait for their retransmission: if it
   * was the leader, those sent to it alone; if not, those it was a designated replier of. Resend them all to
   * every replica now, asking every replica to answer. After the leader, broadcast for a while too (the
   * followers' request timers then start the leader change at once; a leader crash costs no retransmission delay).
   */
  private onLost(id: string): void {
    const now = performance.now();
    if (this.ids[this.leaderHint.leader] === id) {
      this.broadcastUntil = Math.max(this.broadcastUntil, now + BROADCAST_PERIODS * (this.opts.retransmitMs ?? 1000));
    }
    for (const inf of this.inflight.values()) {
      if (inf.readOnly) continue;
      inf.sentAt = now;
      inf.epoch = this.hintEpoch;
      this.sendAll(this.replyAllFrame(inf));
    }
  }

  /** The in-flight request as a reply-all request (rebuilt, with a new authenticator, the first time). */
  private replyAllFrame(inf: Inflight): Uint8Array {
    if (!inf.replyAll) {
      inf.frame = this.requestFrame(inf.id, inf.seq, inf.readOnly, inf.op, true);
      inf.replyAll = true;
    }
    return inf.frame;
  }

  /**
   * @internal one attempt: send, retransmit, resolve on quorum. `client` is the session's logical id, `id` the
   * same UTF-8 encoded.
   */
  attempt(
    client: string,
    id: Uint8Array,
    seq: number,
    op: Uint8Array,
    readOnly: boolean,
    deadlineMs: number,
    /** Whether executing `op` can change the state: decides what a timeout means (TC436 or TC432). */
    hasEffect = !readOnly,
  ): Promise<Uint8Array> {
    // A session has at most one request in flight (invoke awaits each attempt), so its id is the key; replies to
    // an earlier attempt are told apart by seq and readOnly.
    const key = client;
    if (this.inflight.has(key)) {
      return Promise.reject(
        new Error(`session ${client} already has a request in flight: use one session per concurrent caller`),
      );
    }
    const now = performance.now();
    const leader = this.ids[this.leaderHint.leader]!;
    const directed = !readOnly && now >= this.broadcastUntil && this.t.isConnected(leader);
    // Every replica answers when the request is broadcast, or when one of its designated repliers (under the
    // leader the replies name) is not connected: with one replica down, the other requests still get f+1 replies.
    const replyAll = !readOnly && (!directed || (this.t.connectedCount < this.n && !this.repliersConnected(seq)));
    const frame = this.requestFrame(id, seq, readOnly, op, replyAll);
    return new Promise<Uint8Array>((resolve, reject) => {
      this.inflight.set(key, {
        collector: new ReplyCollector(this.n, this.f, seq, readOnly),
        readOnly,
        hasEffect,
        frame,
        replyAll,
        id,
        seq,
        op,
        sentAt: now,
        epoch: this.hintEpoch,
        deadline: now + deadlineMs,
        deadlineMs,
        resolve,
        reject,
      });
      if (!directed || !this.t.send(leader, frame)) this.sendAll(frame);
      this.startSweep();
    });
  }

  /** The client-channel frame of a request: signed (Ed25519) or with its MAC vector. */
  private requestFrame(id: Uint8Array, seq: number, readOnly: boolean, op: Uint8Array, replyAll: boolean): Uint8Array {
    if (this.auth === 'signature') {
      return encodeClientRequest(
        signRequest(encodeRequestBody(id, seq, readOnly, op, false, replyAll), this.opts.signingKey!),
      );
    }
    return macRequestFrame(this.keys, id, seq, readOnly, op, replyAll);
  }

  /** Whether every designated replier of ordered request `seq`, under the leader the replies name, is connected. */
  private repliersConnected(seq: number): boolean {
    const leader = this.leaderHint.leader;
    for (let i = 0; i < this.n; i++) {
      if (designatedReplier(i, leader, this.n, this.f, seq) && !this.t.isConnected(this.ids[i]!)) return false;
    }
    return true;
  }

  private sendAll(frame: Uint8Array): void {
    for (const id of this.byId.keys()) this.t.send(id, frame);
  }

  /**
   * One timer for all in-flight requests (not two per request: with hundreds of closed-loop sessions, creating
   * and clearing timers per request was a visible share of the client's CPU). It retransmits requests
   * unanswered for `retransmitMs` and fails those past their deadline; it stops when nothing is in flight.
   */
  private startSweep(): void {
    if (this.sweep) return;
    const retransmitMs = this.opts.retransmitMs ?? 1000;
    const period = Math.max(5, Math.min(50, retransmitMs / 4));
    this.sweep = setInterval(() => {
      const now = performance.now();
      for (const [key, inf] of this.inflight) {
        if (now >= inf.deadline) {
          this.inflight.delete(key);
          inf.reject(timeoutError(inf.hasEffect, inf.deadlineMs, this.t.connectedIds().length, this.n));
        } else if (now - inf.sentAt >= retransmitMs) {
          // The leader is suspected only if it was the leader when the request was last sent: a request sent
          // before the replies named a new leader (a leader change) says nothing about the new one, and
          // broadcasting for ten periods after a leader change cost the group a fifth of its throughput.
          if (inf.epoch === this.hintEpoch) this.broadcastUntil = now + BROADCAST_PERIODS * retransmitMs;
          inf.sentAt = now;
          inf.epoch = this.hintEpoch;
          this.sendAll(inf.readOnly ? inf.frame : this.replyAllFrame(inf));
        }
      }
      if (this.inflight.size === 0) {
        clearInterval(this.sweep);
        this.sweep = undefined;
      }
    }, period);
  }
}

/**
 * A MAC-vector request as a client-channel frame (tag, body, vector), built in one pooled Buffer with every entry
 * computed over the body in place: a client makes one per request, and the copies and allocations of building the
 * body, then the request, then the frame were a share of its CPU (and of its GC) at tens of thousands per second.
 */
export function macRequestFrame(
  keys: readonly HmacSha256Key[],
  id: Uint8Array,
  seq: number,
  readOnly: boolean,
  op: Uint8Array,
  replyAll: boolean,
): Uint8Array {
  const frame = buildMacRequest(pooled, 1, id, seq, readOnly, op, replyAll, keys.length, (i, out, start, end, at) =>
    keys[i]!.macOf(out, start, end, out, at, MAC_LEN),
  );
  frame[0] = REQUEST;
  return frame;
}

/** Node's Buffer pool: requests are small, so most take a slice of a shared 8 KiB slab, not an allocation each. */
const pooled = (size: number): Uint8Array => Buffer.allocUnsafe(size);

export class SmrSession {
  private seq = 0;
  /** `id` UTF-8 encoded once: it goes into every request. */
  private readonly idBytes: Uint8Array;
  constructor(
    private readonly c: SmrClient,
    readonly id: string,
  ) {
    this.idBytes = utf8.encode(id);
  }

  async invoke(op: Uint8Array, opts: { readOnly?: boolean } = {}): Promise<{ result: Uint8Array; ordered: boolean }> {
    const timeout = this.c.opts.timeoutMs ?? 40_000;
    // The unordered fast path needs every replica's reply: with one not connected, go ordered at once.
    if (opts.readOnly && this.c.allConnected) {
      try {
        // Unordered: current seq (not consumed), larger quorum; any failure falls back to an ordered request.
        const result = await this.c.attempt(
          this.id,
          this.idBytes,
          this.seq,
          op,
          true,
          this.c.opts.readOnlyTimeoutMs ?? 1000,
        );
        return { result, ordered: false };
      } catch {
        /* reissued ordered below */
      }
    }
    this.seq++;
    // A read ordered as a fallback still changes nothing: its timeout is a plain failure, not an unknown outcome.
    const result = await this.c.attempt(this.id, this.idBytes, this.seq, op, false, timeout, !opts.readOnly);
    return { result, ordered: true };
  }
}

/** Builds a client for an SMR component from a deployment's outputs.json. */
export async function clientFromOutputs(
  stackDir: string,
  component: string,
  opts: Partial<SmrClientOptions> = {},
): Promise<SmrClient> {
  const file = path.join(stackDir, 'outputs.json');
  const outputs = await readOutputsFile(file);
  if (outputs === null) {
    throw new TcError(SmrCode.noDeployment, `no deployment outputs at ${file}`, {
      exit: ExitCode.notFound,
      hint: 'deploy first: `tclouds deploy --target local`',
    });
  }
  const comp = outputs.components?.[component];
  if (!comp) {
    const known = Object.keys(outputs.components ?? {}).join(', ') || 'none';
    throw new TcError(SmrCode.noDeployment, `the deployment has no component "${component}" (components: ${known})`, {
      exit: ExitCode.notFound,
    });
  }
  if (comp.kind !== 'smr') {
    throw new TcError(SmrCode.noDeployment, `component "${component}" is a ${comp.kind} component, not smr`, {
      exit: ExitCode.invalid,
    });
  }
  // The first client key, or the one named by `clientId` (two clients of one deployment need two identities: the
  // transport keeps one connection per identity, and a second one would replace the first).
  const keyEntry = Object.entries(comp.clientKeys ?? {}).find(
    ([id]) => opts.clientId === undefined || id === opts.clientId,
  );
  if (!keyEntry) {
    throw new TcError(
      SmrCode.noClientKey,
      `no client key for "${component}"${opts.clientId === undefined ? '' : ` named ${opts.clientId}`} is usable from this machine`,
      {
        exit: ExitCode.notFound,
        hint: 'client keys are written by `tclouds deploy` under .tclouds/<stack>/keys/',
      },
    );
  }
  const [clientId, { keyFile, signingKeyFile }] = keyEntry;
  const privateKey = await readPrivateKey(path.resolve(stackDir, keyFile));
  // Signing: when the caller asks (`--sign`), else when the component requires it (`clientAuth: signature`).
  const sign = opts.sign ?? comp.client.clientAuth === 'signature';
  let signingKey = opts.signingKey;
  if (sign && !signingKey) {
    if (!signingKeyFile) {
      throw new TcError(
        SmrCode.noSigningKey,
        comp.client.clientAuth === 'signature'
          ? `component "${component}" requires signed requests (clientAuth: signature) but the deployment has no signing key for client ${clientId}`
          : `no signing key for client ${clientId} of "${component}" is usable from this machine`,
        {
          exit: ExitCode.notFound,
          hint: 'redeploy (`tclouds deploy`) to create keys/<client>.sign.key; deployments made before signatures existed lack it',
        },
      );
    }
    signingKey = await readSigningKey(path.resolve(stackDir, signingKeyFile));
  }
  const replicas = comp.nodes
    .filter((nd) => nd.role === 'replica')
    .map((nd) => ({ id: nd.id, index: nd.index, host: nd.host, port: nd.ports.client!, publicKey: nd.publicKey }));
  const f = comp.client.faults === 'crash' ? 0 : Number(comp.client.f ?? 1);
  return new SmrClient({ stack: outputs.stack, clientId, privateKey, replicas, f, ...opts, sign, signingKey });
}

/**
 * Why a request got no answer in time. A read (unordered, or ordered as a fallback) has no effect, so it simply failed; an ordered request may
 * still be ordered and executed after the client gave up (a partition heals, a slow leader catches up), so saying
 * it failed would be a lie: its outcome is unknown, and a caller that must know reads the state back.
 */
function timeoutError(hasEffect: boolean, deadlineMs: number, connected: number, n: number): TcError {
  const replicas = `${connected}/${n} replicas connected; check \`tclouds status\``;
  if (!hasEffect) {
    return new TcError(SmrCode.unavailable, `no quorum of identical replies within ${deadlineMs} ms`, {
      exit: ExitCode.unavailable,
      hint: replicas,
    });
  }
  return new TcError(
    SmrCode.outcomeUnknown,
    `outcome unknown: no quorum of identical replies within ${deadlineMs} ms; the request may still be applied`,
    { exit: ExitCode.unavailable, hint: `${replicas}; read the state back before retrying a non-idempotent operation` },
  );
}
