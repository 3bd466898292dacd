/**
 * The running replica: connects the pure core (through its ReplicaDriver) to two authenticated transports, `peer`
 * (the replica mesh; the replica with the smaller id dials) and `client` (clients dial in), to a tick timer and to
 * its store. Everything runs on one event loop, one event at a time: a peer message, a batch of client requests
 * or a tick goes into the core, and its actions come out in order (sends, replies, logs, checkpoints to write).
 *
 * Errors of the core: an InvariantError (kernel/assert.ts) is a bug, and the state in memory can no longer be
 * trusted, so the replica stops handling events at once (nothing more is sent, no stop state is saved) and reports
 * it through `ctx.fatal`: the node exits and is restarted from its durable state, as after a crash. Any other
 * exception drops the event (counted and logged) and the replica goes on: it may come from garbage a peer sent,
 * and one process must keep serving.
 */
import { randomInt } from 'node:crypto';
import { isInvariantError } from '../../kernel/assert.js';
import { TcError } from '../../kernel/errors.js';
import { NodeCode } from '../../runtime/codes.js';
import type { PeerSpec } from '../../runtime/node-spec.js';
import type { RoleContext, RoleInstance } from '../../runtime/role.js';
import { Transport } from '../../runtime/transport.js';
import { clientTransport, sendReplies } from './client-channel.js';
import type { SmrReplicaConfig } from './config.js';
import type { Misbehaviour } from './misbehaviour.js';
import type { ReplicaCore } from './protocol/core.js';
import { PEER_MAX_FRAME_BYTES, PEER_MAX_QUEUE_BYTES } from './protocol/limits.js';
import { type DriverOutput, emptyOutput, type ReplicaDriver } from './replica-driver.js';
import { ReplicaDurability } from './replica-durability.js';
import type { ReplicaStore } from './replica-store.js';
import type { Wal } from './wal.js';
import { decodeMsg, encodeMsg, idIsFrom, REQUEST } from './wire.js';

/** The replica's metrics (GET /metrics). */
function replicaMetrics(metrics: RoleContext['metrics']) {
  return {
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
}

export class ReplicaWiring implements RoleInstance {
  private readonly stats: ReturnType<typeof replicaMetrics>;
  private readonly ids: string[];
  private readonly idToIndex: Map<string, number>;
  private readonly peers: Transport;
  private readonly clients: Transport;
  private timer: NodeJS.Timeout | undefined;
  /** Client requests of the current socket read, entering the core together (drainInbox). */
  private inbox: Uint8Array[] = [];
  /** The cid of the last checkpoint handed to the store. */
  private lastCheckpoint = -1;
  /** An invariant broke: no event is handled any more, nothing is sent or saved. */
  private failed = false;
  /** With `durability: fsync`: the write-ahead log, and the outputs waiting for it (replica-durability.ts). */
  readonly durability: ReplicaDurability | null;

  constructor(
    private readonly ctx: RoleContext,
    private readonly config: SmrReplicaConfig,
    group: readonly PeerSpec[],
    private readonly core: ReplicaCore,
    private readonly driver: ReplicaDriver,
    private readonly store: ReplicaStore,
    private readonly misbehaviour: Misbehaviour,
    private readonly wal: Wal | null,
  ) {
    this.stats = replicaMetrics(ctx.metrics);
    this.durability = wal
      ? new ReplicaDurability(
          wal,
          core,
          driver,
          config.walMaxBytes,
          ctx.log,
          // After a broken invariant, outputs still waiting for the disk never leave.
          (out) => {
            if (!this.failed) this.dispatch(out);
          },
          () => this.stopTakingPart(),
        )
      : null;
    this.ids = group.map((p) => p.id);
    this.idToIndex = new Map(group.map((p) => [p.id, p.index]));
    this.peers = this.peerTransport(group);
    this.clients = clientTransport(ctx, (from, buf) => this.onClientMessage(from, buf));
  }

  /** Listens on both ports and starts the tick timer. */
  async start(): Promise<void> {
    const { spec } = this.ctx;
    this.durability?.start();
    try {
      await this.peers.start();
      await this.clients.start();
    } catch (e) {
      await this.peers.close();
      await this.clients.close();
      throw new TcError(
        NodeCode.bindFailed,
        `replica ${spec.id} cannot listen on ${spec.host}: ${(e as Error).message}`,
      );
    }
    this.timer = setInterval(() => this.onTick(), this.config.tickMs);
  }

  private peerTransport(group: readonly PeerSpec[]): Transport {
    const ctx = this.ctx;
    const { spec } = ctx;
    return new Transport({
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
      maxFrameBytes: PEER_MAX_FRAME_BYTES,
      maxQueueBytes: PEER_MAX_QUEUE_BYTES,
      metrics: ctx.metrics,
      log: ctx.log,
      onMessage: (from, buf) => this.onPeerMessage(from, buf),
      onConnect: (id) => ctx.log.info('peer connected', { peer: id }),
    });
  }

  // ---------------------------------------------------------------- events

  private onPeerMessage(from: string, buf: Buffer): void {
    const idx = this.idToIndex.get(from);
    const decoded = decodeMsg(buf);
    if (idx === undefined || !decoded) {
      this.stats.badMsgs.inc();
      return;
    }
    const msg = this.misbehaviour.filterIncoming(decoded);
    if (!msg) return;
    this.step((out) => this.driver.input({ type: 'message', from: idx, msg }, out));
  }

  private onClientMessage(from: string, buf: Buffer): void {
    if (buf[0] !== REQUEST) {
      this.stats.badMsgs.inc();
      return;
    }
    this.stats.requests.inc();
    // Requests are only taken from the connection of the identity that signs them. Compared as bytes (request
    // = u8 version | u8 flags | u16 idLen | id | ...; id = base or base/session): no string per request.
    if (!idIsFrom(buf, 1, from)) return;
    if (!this.misbehaviour.admitsRequests()) return;
    // Requests delivered by one socket read (a client's frame holds many) enter the core together, after the
    // read is processed (microtask): one proposal for all of them, and one core step instead of one each. Until
    // then they are views of the frame (the transport never reuses a frame's bytes); the drain copies them.
    this.inbox.push(buf.subarray(1));
    if (this.inbox.length === 1) queueMicrotask(() => this.drainInbox());
  }

  private drainInbox(): void {
    const views = this.inbox;
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
    this.inbox = [];
    this.step((out) => this.driver.clientRequests(list, out));
  }

  /** Ticks carry the wall clock and fresh entropy, for the leader's batch timestamp and seed. */
  private onTick(): void {
    this.step((out) => this.driver.input({ type: 'tick', now: Date.now(), entropy: randomInt(0, 2 ** 32 - 1) }, out));
    this.stats.regency.set(this.core.regency);
    this.stats.lastDecided.set(this.core.lastDecided);
    this.stats.pending.set(this.core.pending);
  }

  /** Runs one event through the core and dispatches what it produced (see the header for errors). */
  private step(fn: (out: DriverOutput) => void): void {
    if (this.failed) return;
    const out = emptyOutput();
    try {
      fn(out);
    } catch (e) {
      if (isInvariantError(e)) {
        this.fail(e);
        return;
      }
      this.stats.coreErrors.inc();
      this.ctx.log.error('replica core failed on an event; event dropped', { error: String((e as Error).stack ?? e) });
    }
    if (this.durability) this.durability.afterStep(out);
    else this.dispatch(out);
  }

  /**
   * The write-ahead log failed or is full (replica-durability.ts): no more events are handled and nothing more is
   * sent, but the node stays up, reporting `degraded` in its health, so an operator sees why.
   */
  private stopTakingPart(): void {
    this.failed = true;
    clearInterval(this.timer);
  }

  /** A broken invariant: stop at once (no more events, sends or saves) and let the host end the process. */
  private fail(e: Error): void {
    this.failed = true;
    clearInterval(this.timer);
    this.ctx.fatal(e);
    void this.peers.close().catch(() => {});
    void this.clients.close().catch(() => {});
  }

  private dispatch(out: DriverOutput): void {
    const { sends, replies } = this.misbehaviour.apply(out);
    for (const s of sends) {
      const bytes = encodeMsg(s.msg);
      if (s.to === 'all') {
        for (let i = 0; i < this.ids.length; i++) if (i !== this.core.me) this.peers.send(this.ids[i]!, bytes);
      } else if (s.to !== this.core.me) this.peers.send(this.ids[s.to]!, bytes);
    }
    if (replies.length > 0) {
      sendReplies(this.clients, replies, this.core.regency);
      this.stats.replies.inc(replies.length);
    }
    for (const l of out.logs) this.ctx.log[l.level](l.msg, l.fields);
    for (const e of out.executed) {
      this.stats.decided.inc();
      this.stats.executed.inc(e.requests.length);
    }
    const checkpoint = this.core.checkpoint;
    if (checkpoint && checkpoint.cid !== this.lastCheckpoint) {
      this.lastCheckpoint = checkpoint.cid;
      this.store.writeCheckpoint(checkpoint.cid, checkpoint.bytes);
    }
  }

  /**
   * The log is durable further: held outputs leave (replica-durability.ts), and the peer messages among them are
   * written now, not at the next turn. They have waited for the disk already and were released together, so
   * there is nothing more to coalesce with; waiting a turn let that turn's socket reads (a peer's ACCEPT, the
   * decision and execution it brings) go first, while the other replicas waited for this replica's ACCEPT.
   * Measured (bench/workflow.ts replicated, sequential echo, load 20-24): from the end of the log write to the
   * first peer write, p50 281 / 295 -> 60 / 63 us, p90 853 / 971 -> 134 / 113 us.
   */
  onDurable(): void {
    this.durability?.onDurable();
    this.peers.flushNow();
  }

  // ---------------------------------------------------------------- the node host's side

  health(): Record<string, unknown> {
    const d = this.durability;
    return {
      ...this.core.health(),
      clientsServed: this.driver.clientsServed,
      fault: this.misbehaviour.mode,
      durability: this.config.durability,
      ...(d?.degraded ? { degraded: d.degraded } : {}),
    };
  }

  /** POST /admin/fault {"mode": ...}: the misbehaviour switch (misbehaviour.ts), when faultInjection is set. */
  async admin(action: string, body: unknown): Promise<unknown> {
    if (action !== 'fault') return undefined;
    if (!this.config.faultInjection) {
      throw new Error('fault injection is disabled (spec config faultInjection is not set)');
    }
    const mode = this.misbehaviour.set((body as { mode?: unknown }).mode);
    this.ctx.log.warn('fault mode changed', { mode });
    return { fault: mode };
  }

  /**
   * Clean stop: with the write-ahead log, flushes it (everything the replica did is in it; no stop state is
   * needed). Without it, saves what a checkpoint does not hold (decisions since, regency, votes in progress), so
   * a restart of the whole group (redeploy, host reboot) comes back with every acknowledged write
   * (stop-state.ts). After a broken invariant nothing more is saved: the next start is a crash's.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.peers.close();
    await this.clients.close();
    await this.store.flush();
    if (this.wal) {
      await this.wal.close();
      return;
    }
    if (this.failed) return;
    await this.store.saveStopState(this.core.exportDurable());
  }
}
