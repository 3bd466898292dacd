/**
 * Authenticated TCP transport between nodes, and between clients and nodes.
 *
 * Wire: every frame is `u32 length | body`. A connection starts with a 3-frame handshake (HELLO, CHALLENGE,
 * PROOF) that proves both ends hold the X25519 keys of the ids they claim and agrees on fresh per-direction
 * session keys (runtime/channel-keys.ts). Both MACs and the session keys cover the transcript: initiator id,
 * responder id (in that order) and both nonces, so a handshake or frame captured on one connection, or reflected
 * between the two directions of a pair, does not verify on another. Between peers only one side dials (the
 * caller's `dial` list), and a transport refuses an inbound connection from a peer it dials itself: one connection
 * per ordered pair. After it, body = payload | HMAC-SHA256(session key, u64 seq | payload);
 * the sequence number is implicit and per direction, so a replayed, reordered, dropped or injected frame fails
 * verification. A payload packs one or more messages (`u32 len | bytes`): sends made in the same event-loop turn
 * are coalesced into one frame and one MAC (cheap batching under load); with `flush: 'event'`, those of one event.
 * Frames that are oversized, malformed or fail authentication are dropped and counted
 * (tclouds_transport_frames_dropped_total{reason}); the connection is then closed (the byte stream cannot be
 * trusted to resynchronise) and re-dialled with backoff. Nothing a peer sends can crash the process.
 * Send queues are bounded in bytes; beyond the bound messages are dropped and counted (the protocols above
 * tolerate loss). Chaos partitions: `block(ids)` refuses frames from and to those peers in both directions.
 * Unauthenticated connections are bounded: an absolute handshake deadline (a peer trickling one byte at a time
 * cannot hold a socket), and caps on handshakes in progress per remote address and overall; every refusal is
 * counted (tclouds_transport_connections_refused_total{reason}).
 */
import { type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { handshakeTranscript, hmac, pairKey, secretKey, sessionKeys } from './channel-keys.js';
import type { Logger, Metrics } from './role.js';

export interface DialTarget {
  id: string;
  host: string;
  port: number;
  publicKey: string;
}

export interface TransportOptions {
  stack: string;
  selfId: string;
  privateKey: KeyObject;
  /** Listen here (replica peer port, client port); omit for a pure client. */
  listen?: { host: string; port: number };
  /** Public key of an identity allowed to connect to us, or undefined to refuse it. */
  accept?: (id: string) => string | undefined;
  /** Peers we keep a connection to (re-dialled with backoff). */
  dial?: DialTarget[];
  maxFrameBytes?: number;
  maxQueueBytes?: number;
  metrics: Metrics;
  log: Logger;
  /** Shared set of blocked peer ids (chaos partitions); the host's RoleContext.partitioned. */
  blocked?: Set<string>;
  /**
   * When queued messages are written: 'turn' (default) at the end of the event-loop turn (setImmediate), so every
   * send of the turn shares one frame, one MAC and one write per connection; 'event' at the end of the current
   * event (a microtask), ahead of the turn's other immediates: for a node's replies, which a client waits for
   * while the same turn still writes messages nobody waits for. Sends of one event still share a frame.
   */
  flush?: 'turn' | 'event';
  /** Label for metrics, e.g. "peer" or "client". */
  name: string;
  onMessage(from: string, msg: Buffer): void;
  onConnect?(id: string): void;
  /** An authenticated connection was lost (closed, reset or dropped after a bad frame). */
  onDisconnect?(id: string): void;
}

/** Handshake frame types. HELLO of the first handshake (1, no identity binding) is refused as `old_handshake`. */
const OLD_HELLO = 1;
const CHALLENGE = 2;
const PROOF = 3;
const HELLO = 4;
const CHALLENGE_LABEL = Buffer.from('tclouds/handshake/v2|challenge');
const PROOF_LABEL = Buffer.from('tclouds/handshake/v2|proof');
/** Largest handshake frame (two ids of at most 255 bytes and a nonce fit easily). */
const MAX_HANDSHAKE = 1024;
const MAC = 32;
/** Time a connection has to complete its handshake, from accept (or connect): absolute, not an idle timer. */
export const HANDSHAKE_DEADLINE_MS = 10_000;
/** Handshakes in progress at once from one remote address, and overall, before new connections are refused. */
export const MAX_PENDING_PER_ADDRESS = 16;
export const MAX_PENDING_HANDSHAKES = 128;
const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;
const DEFAULT_MAX_QUEUE = 64 * 1024 * 1024;
const REFUSALS = ['handshake_deadline', 'pending_per_address', 'pending_total', 'wrong_direction', 'old_handshake'];

export class Transport {
  private server: net.Server | undefined;
  private readonly conns = new Map<string, Connection>();
  /** Every socket, authenticated or not, so close() leaves nothing open. */
  readonly sockets = new Set<net.Socket>();
  private readonly dialers = new Map<
    string,
    { target: DialTarget; timer?: NodeJS.Timeout; backoff: number; conn?: Connection }
  >();
  private readonly staticKeys = new Map<string, Buffer>();
  /** Inbound connections still in their handshake, per remote address (bounded, see MAX_PENDING_*). */
  private readonly pending = new Map<string, number>();
  private pendingTotal = 0;
  private readonly refusedCounters: Record<string, { inc(by?: number): void }> = {};
  readonly blocked: Set<string>;
  private closed = false;
  readonly maxFrame: number;
  readonly maxQueue: number;
  private readonly dropped: Record<string, { inc(by?: number): void }> = {};
  readonly framesIn: { inc(by?: number): void };
  readonly framesOut: { inc(by?: number): void };
  readonly bytesOut: { inc(by?: number): void };
  private readonly connected: { set(v: number): void };

  constructor(readonly opts: TransportOptions) {
    this.blocked = opts.blocked ?? new Set();
    this.maxFrame = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME;
    this.maxQueue = opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE;
    const m = opts.metrics;
    for (const reason of [
      'oversized',
      'malformed',
      'unauthenticated',
      'unknown_peer',
      'partitioned',
      'queue_full',
      'handler_error',
    ]) {
      this.dropped[reason] = m.counter(
        'tclouds_transport_frames_dropped_total',
        'Frames or messages dropped by the transport',
        {
          transport: opts.name,
          reason,
        },
      );
    }
    for (const reason of REFUSALS) {
      this.refusedCounters[reason] = m.counter(
        'tclouds_transport_connections_refused_total',
        'Connections closed before or during the handshake',
        { transport: opts.name, reason },
      );
    }
    this.framesIn = m.counter('tclouds_transport_frames_received_total', 'Authenticated frames received', {
      transport: opts.name,
    });
    this.framesOut = m.counter('tclouds_transport_frames_sent_total', 'Frames sent', { transport: opts.name });
    this.bytesOut = m.counter('tclouds_transport_bytes_sent_total', 'Bytes sent', { transport: opts.name });
    this.connected = m.gauge('tclouds_transport_connections', 'Authenticated connections', { transport: opts.name });
  }

  drop(reason: string, by = 1): void {
    this.dropped[reason]?.inc(by);
  }

  refuse(reason: (typeof REFUSALS)[number]): void {
    this.refusedCounters[reason]?.inc();
  }

  /** Whether this transport dials `id` itself (then an inbound connection claiming to be `id` is refused). */
  dials(id: string): boolean {
    return this.dialers.has(id);
  }

  staticKey(peerId: string, publicKey: string): Buffer {
    let k = this.staticKeys.get(peerId);
    if (!k) {
      k = pairKey(this.opts.privateKey, publicKey, 'channel', this.opts.stack, this.opts.selfId, peerId);
      this.staticKeys.set(peerId, k);
    }
    return k;
  }

  async start(): Promise<void> {
    if (this.opts.listen) {
      const server = net.createServer((s) => this.onInbound(s));
      server.on('error', (e) =>
        this.opts.log.error('transport server error', { transport: this.opts.name, error: String(e) }),
      );
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.opts.listen!.host, port: this.opts.listen!.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.server = server;
    }
    for (const t of this.opts.dial ?? []) {
      this.dialers.set(t.id, { target: t, backoff: 50 });
      this.dial(t.id);
    }
  }

  get address(): net.AddressInfo | undefined {
    return this.server?.address() as net.AddressInfo | undefined;
  }

  isConnected(id: string): boolean {
    return this.conns.has(id);
  }

  /** How many peers are connected and authenticated (no array made: clients ask per request). */
  get connectedCount(): number {
    return this.conns.size;
  }

  connectedIds(): string[] {
    return [...this.conns.keys()];
  }

  /** Queue one message for `to`; false if dropped (unknown, partitioned, queue full). */
  send(to: string, msg: Uint8Array): boolean {
    if (this.blocked.has(to)) {
      this.drop('partitioned');
      return false;
    }
    const c = this.conns.get(to);
    if (!c) return false;
    return c.enqueue(msg);
  }

  /**
   * Writes every connection's queued messages now instead of at its scheduled flush: for a caller that knows the
   * sends of this moment are complete (they were held for something and released together).
   */
  flushNow(): void {
    for (const c of this.conns.values()) c.flush();
  }

  block(ids: string[]): void {
    for (const id of ids) this.blocked.add(id);
  }

  heal(): void {
    this.blocked.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const d of this.dialers.values()) if (d.timer) clearTimeout(d.timer);
    for (const c of this.conns.values()) c.destroy();
    for (const d of this.dialers.values()) d.conn?.destroy();
    for (const s of this.sockets) s.destroy();
    this.conns.clear();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }

  // ------------------------------------------------------------------ connection management

  private dial(id: string): void {
    const d = this.dialers.get(id);
    if (!d || this.closed) return;
    const s = net.connect({ host: d.target.host, port: d.target.port });
    const conn = new Connection(this, s, 'initiator', d.target.id, d.target.publicKey);
    d.conn = conn;
    conn.onClose = () => {
      if (d.conn === conn) d.conn = undefined;
      if (this.closed) return;
      // Exponential backoff with jitter, capped at 2 s; reset after a successful handshake.
      const wait = Math.min(d.backoff, 2000) * (0.75 + Math.random() * 0.5);
      d.backoff = Math.min(d.backoff * 2, 2000);
      d.timer = setTimeout(() => this.dial(id), wait);
    };
    conn.onReady = () => {
      d.backoff = 50;
    };
  }

  private onInbound(s: net.Socket): void {
    if (this.closed) {
      s.destroy();
      return;
    }
    const address = s.remoteAddress ?? '?';
    const mine = this.pending.get(address) ?? 0;
    if (mine >= MAX_PENDING_PER_ADDRESS || this.pendingTotal >= MAX_PENDING_HANDSHAKES) {
      this.refuse(mine >= MAX_PENDING_PER_ADDRESS ? 'pending_per_address' : 'pending_total');
      s.destroy();
      return;
    }
    this.pending.set(address, mine + 1);
    this.pendingTotal++;
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      this.pendingTotal--;
      const left = (this.pending.get(address) ?? 1) - 1;
      if (left > 0) this.pending.set(address, left);
      else this.pending.delete(address);
    };
    const conn = new Connection(this, s, 'responder');
    conn.onReady = release;
    conn.onClose = release;
  }

  /** Called by a connection once authenticated. A newer connection from the same peer replaces an older one. */
  established(conn: Connection): void {
    const old = this.conns.get(conn.peerId);
    if (old && old !== conn) old.destroy();
    this.conns.set(conn.peerId, conn);
    this.connected.set(this.conns.size);
    this.opts.onConnect?.(conn.peerId);
  }

  lost(conn: Connection): void {
    if (this.conns.get(conn.peerId) === conn) {
      this.conns.delete(conn.peerId);
      this.connected.set(this.conns.size);
      this.opts.onDisconnect?.(conn.peerId);
    }
  }

  deliver(from: string, msg: Buffer): void {
    if (this.blocked.has(from)) {
      this.drop('partitioned');
      return;
    }
    try {
      this.opts.onMessage(from, msg);
    } catch (e) {
      this.drop('handler_error');
      this.opts.log.warn('message handler failed', { transport: this.opts.name, from, error: String(e) });
    }
  }
}

/** Length-prefixed frame reader that copies each frame once. */
class FrameReader {
  private chunks: Buffer[] = [];
  private total = 0;
  constructor(private readonly limit: () => number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Next complete frame body, undefined if incomplete, 'oversized' if the header announces too much. */
  next(): Buffer | undefined | 'oversized' {
    if (this.total < 4) return undefined;
    let head = this.chunks[0]!;
    if (head.length < 4) {
      head = Buffer.concat(this.chunks);
      this.chunks = [head];
    }
    const len = head.readUInt32BE(0);
    if (len > this.limit()) return 'oversized';
    if (this.total < 4 + len) return undefined;
    const all = this.chunks.length === 1 ? head : Buffer.concat(this.chunks, this.total);
    const body = all.subarray(4, 4 + len);
    const rest = all.subarray(4 + len);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.total = rest.length;
    return body;
  }
}

class Connection {
  peerId = '';
  private state: 'hello' | 'challenge' | 'proof' | 'ready' | 'closed' = 'hello';
  private readonly reader: FrameReader;
  private nonceI: Buffer = Buffer.alloc(0);
  private nonceR: Buffer = Buffer.alloc(0);
  private staticKey: Buffer = Buffer.alloc(0);
  private sendKey: KeyObject | undefined;
  private recvKey: KeyObject | undefined;
  private sendSeq = 0n;
  private recvSeq = 0n;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  private readonly deadline: NodeJS.Timeout;
  onClose?: () => void;
  onReady?: () => void;

  constructor(
    private readonly t: Transport,
    private readonly socket: net.Socket,
    private readonly role: 'initiator' | 'responder',
    peerId?: string,
    private peerPublicKey?: string,
  ) {
    t.sockets.add(socket);
    socket.once('close', () => t.sockets.delete(socket));
    this.reader = new FrameReader(() => (this.state === 'ready' ? t.maxFrame + MAC : MAX_HANDSHAKE));
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => this.closedNow());
    // An absolute deadline: an idle timer would be reset by every byte a slow peer trickles in.
    this.deadline = setTimeout(() => {
      if (this.state === 'ready' || this.state === 'closed') return;
      t.refuse('handshake_deadline');
      this.destroy();
    }, HANDSHAKE_DEADLINE_MS);
    this.deadline.unref();
    if (role === 'initiator') {
      this.peerId = peerId!;
      socket.once('connect', () => {
        this.nonceI = randomBytes(32);
        const from = Buffer.from(t.opts.selfId);
        const to = Buffer.from(this.peerId);
        this.writeFrame(
          Buffer.concat([Buffer.from([HELLO, from.length]), from, Buffer.from([to.length]), to, this.nonceI]),
        );
        this.state = 'challenge';
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private closedNow(): void {
    clearTimeout(this.deadline);
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    this.queue = [];
    if (wasReady) this.t.lost(this);
    this.onClose?.();
  }

  private writeFrame(body: Buffer): void {
    const hdr = Buffer.allocUnsafe(4);
    hdr.writeUInt32BE(body.length, 0);
    this.socket.write(Buffer.concat([hdr, body]));
  }

  private fail(reason: string): void {
    this.t.drop(reason);
    this.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.reader.push(chunk);
    for (;;) {
      const body = this.reader.next();
      if (body === undefined) return;
      if (body === 'oversized') {
        this.fail('oversized');
        return;
      }
      if (this.state === 'ready') this.onFrame(body);
      else this.onHandshake(body);
      if ((this.state as string) === 'closed' || this.socket.destroyed) return;
    }
  }

  private onHandshake(b: Buffer): void {
    try {
      if (this.role === 'responder' && this.state === 'hello') this.onHello(b);
      else if (this.role === 'initiator' && this.state === 'challenge') this.onChallenge(b);
      else if (this.role === 'responder' && this.state === 'proof') this.onProof(b);
      else this.fail('malformed');
    } catch {
      this.fail('malformed');
    }
  }

  /** The transcript both MACs and the session keys cover: who dialled whom, and both nonces. */
  private transcript(): Buffer {
    const self = this.t.opts.selfId;
    return this.role === 'initiator'
      ? handshakeTranscript(self, this.peerId, this.nonceI, this.nonceR)
      : handshakeTranscript(this.peerId, self, this.nonceI, this.nonceR);
  }

  /** Responder: `HELLO | u8 len | from | u8 len | to | nonceI(32)`; answers CHALLENGE with its nonce and MAC. */
  private onHello(b: Buffer): void {
    if (b[0] === OLD_HELLO) {
      this.t.refuse('old_handshake');
      this.fail('malformed');
      return;
    }
    if (b[0] !== HELLO) {
      this.fail('malformed');
      return;
    }
    const fl = b[1]!;
    const from = b.subarray(2, 2 + fl).toString();
    const tl = b[2 + fl]!;
    const to = b.subarray(3 + fl, 3 + fl + tl).toString();
    const nonce = b.subarray(3 + fl + tl);
    if (nonce.length !== 32) {
      this.fail('malformed');
      return;
    }
    const pub = this.t.opts.accept?.(from);
    if (to !== this.t.opts.selfId || !pub || from === this.t.opts.selfId) {
      this.fail('unknown_peer');
      return;
    }
    if (this.t.dials(from)) {
      // We dial this peer ourselves: an inbound connection claiming to be it is a reflection or a confused peer.
      this.t.refuse('wrong_direction');
      this.fail('unknown_peer');
      return;
    }
    this.peerId = from;
    this.peerPublicKey = pub;
    this.nonceI = Buffer.from(nonce);
    this.nonceR = randomBytes(32);
    this.staticKey = this.t.staticKey(from, pub);
    const mac = hmac(this.staticKey, CHALLENGE_LABEL, this.transcript());
    this.writeFrame(Buffer.concat([Buffer.from([CHALLENGE]), this.nonceR, mac]));
    this.state = 'proof';
  }

  /** Initiator: checks the responder's MAC over the transcript, proves its own key with PROOF. */
  private onChallenge(b: Buffer): void {
    if (b[0] !== CHALLENGE || b.length !== 1 + 32 + MAC) {
      this.fail('malformed');
      return;
    }
    this.nonceR = Buffer.from(b.subarray(1, 33));
    this.staticKey = this.t.staticKey(this.peerId, this.peerPublicKey!);
    const transcript = this.transcript();
    if (!timingSafeEqual(hmac(this.staticKey, CHALLENGE_LABEL, transcript), b.subarray(33))) {
      this.fail('unauthenticated');
      return;
    }
    this.writeFrame(Buffer.concat([Buffer.from([PROOF]), hmac(this.staticKey, PROOF_LABEL, transcript)]));
    this.ready();
  }

  /** Responder: the initiator's MAC over the same transcript. */
  private onProof(b: Buffer): void {
    if (b[0] !== PROOF || b.length !== 1 + MAC) {
      this.fail('malformed');
      return;
    }
    if (!timingSafeEqual(hmac(this.staticKey, PROOF_LABEL, this.transcript()), b.subarray(1))) {
      this.fail('unauthenticated');
      return;
    }
    this.ready();
  }

  private ready(): void {
    clearTimeout(this.deadline);
    const keys = sessionKeys(this.staticKey, this.transcript());
    this.sendKey = secretKey(this.role === 'initiator' ? keys.i2r : keys.r2i);
    this.recvKey = secretKey(this.role === 'initiator' ? keys.r2i : keys.i2r);
    this.state = 'ready';
    this.t.established(this);
    this.onReady?.();
  }

  private onFrame(body: Buffer): void {
    if (body.length < MAC) {
      this.fail('malformed');
      return;
    }
    const payload = body.subarray(0, body.length - MAC);
    const seq = Buffer.allocUnsafe(8);
    seq.writeBigUInt64BE(this.recvSeq, 0);
    const expect = hmac(this.recvKey!, seq, payload);
    if (!timingSafeEqual(expect, body.subarray(body.length - MAC))) {
      this.fail('unauthenticated');
      return;
    }
    this.recvSeq++;
    this.t.framesIn.inc();
    let o = 0;
    while (o < payload.length) {
      if (o + 4 > payload.length) {
        this.t.drop('malformed');
        return;
      }
      const len = payload.readUInt32BE(o);
      if (o + 4 + len > payload.length) {
        this.t.drop('malformed');
        return;
      }
      this.t.deliver(this.peerId, payload.subarray(o + 4, o + 4 + len));
      o += 4 + len;
    }
  }

  enqueue(msg: Uint8Array): boolean {
    if (this.state !== 'ready') return false;
    if (this.queued + msg.length + 4 > this.t.maxQueue || msg.length + 4 > this.t.maxFrame) {
      this.t.drop('queue_full');
      return false;
    }
    this.queue.push(msg);
    this.queued += msg.length + 4;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (this.t.opts.flush === 'event') queueMicrotask(() => this.flush());
      else setImmediate(() => this.flush());
    }
    return true;
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.state !== 'ready') return;
    let i = 0;
    const q = this.queue;
    while (i < q.length) {
      let size = 0;
      let j = i;
      while (j < q.length && (j === i || size + 4 + q[j]!.length <= this.t.maxFrame)) {
        size += 4 + q[j]!.length;
        j++;
      }
      const frame = Buffer.allocUnsafe(4 + size + MAC);
      frame.writeUInt32BE(size + MAC, 0);
      let o = 4;
      for (let k = i; k < j; k++) {
        const m = q[k]!;
        frame.writeUInt32BE(m.length, o);
        frame.set(m, o + 4);
        o += 4 + m.length;
      }
      const seq = Buffer.allocUnsafe(8);
      seq.writeBigUInt64BE(this.sendSeq++, 0);
      hmac(this.sendKey!, seq, frame.subarray(4, 4 + size)).copy(frame, 4 + size);
      this.socket.write(frame);
      this.t.framesOut.inc();
      this.t.bytesOut.inc(frame.length);
      i = j;
    }
    this.queue = [];
    this.queued = 0;
  }
}
