/**
 * Runs a ReplicaCore's actions against a Service: executes decided batches in order, answers clients, takes
 * checkpoints and restores state transfers. Deterministic and free of I/O, so the simulator (test/smr) drives
 * exactly the code the real replica (replica-wiring.ts) runs; only the event source and the network differ.
 *
 * Who answers an ordered request: its f+1 designated repliers (`designatedReplier`), unless the client asked every
 * replica to (flags bit2, set when it broadcasts: a retransmission, a lost connection). A client needs f+1
 * identical replies, so in the common case the other replicas' replies were only received and dropped; with n = 4
 * they were half of all reply traffic, and the leader (the busiest replica) is never designated. A faulty
 * designated replier costs that request one retransmission period, after which every replica answers (a repeat
 * gets the cached reply); safety does not depend on who replies. Read-only requests are always answered by every
 * replica that receives them: they need a larger quorum.
 */
import { type DecodedRequest, decodeRequest, requestOp, utf8 } from './protocol/codec.js';
import type { DurableState, ReplicaCore } from './protocol/core.js';
import type { Action, CoreEnv, Input, Msg } from './protocol/types.js';
import { DEFERRED, type Service } from './services/service.js';

export interface Reply {
  client: string;
  seq: number;
  readOnly: boolean;
  result: Uint8Array;
}

export interface DriverOutput {
  sends: { to: number | 'all'; msg: Msg }[];
  replies: Reply[];
  logs: Extract<Action, { type: 'log' }>[];
  executed: { cid: number; timestamp: number; requests: { client: string; seq: number }[] }[];
}

export function emptyOutput(): DriverOutput {
  return { sends: [], replies: [], logs: [], executed: [] };
}

/**
 * Whether replica `me` is one of the f+1 designated repliers of request `seq` under `leader`: f+1 of the n-1
 * followers, rotating with the sequence number so each follower answers (f+1)/(n-1) of the requests. Every
 * replica when there are not f+1 followers (n = 1 or 2 with f = 1 never occur; crash groups with f = 0 need one).
 */
export function designatedReplier(me: number, leader: number, n: number, f: number, seq: number): boolean {
  const followers = n - 1;
  if (followers < f + 1) return true;
  if (me === leader) return false;
  const j = (me - leader - 1 + n) % n; // 0..n-2: this replica's place among the followers
  return (((j - (seq % followers)) % followers) + followers) % followers <= f;
}

/**
 * What a checkpoint holds for the driver: `magic | u32 count | count x (u16 idLen | id | u32 seq | u32 resLen |
 * result) | service snapshot`, the last reply of every client sorted by client id, then the service's own bytes.
 * Why the replies: a client whose designated repliers were faulty retransmits and needs the cached reply of a
 * request already executed; a replica that restarted from a checkpoint, or caught up by state transfer, would
 * otherwise drop the retransmission as stale and the client would wait forever (the simulator found this). PBFT
 * keeps the last reply per client in its checkpointed state for the same reason. Every correct replica executes the
 * same requests, so these bytes are identical at the same checkpoint and f+1 of them can match.
 */
const SNAPSHOT_MAGIC = Uint8Array.from([0x00, 0x74, 0x63, 0x72, 0x01]); // "\0tcr" version 1

export function encodeDriverSnapshot(
  replies: Map<string, { seq: number; result: Uint8Array }>,
  service: Uint8Array,
): Uint8Array {
  const entries = [...replies.entries()]
    .map(([client, r]) => ({ id: utf8.encode(client), client, seq: r.seq, result: r.result }))
    .sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  let size = SNAPSHOT_MAGIC.length + 4 + service.length;
  for (const e of entries) size += 2 + e.id.length + 8 + e.result.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(SNAPSHOT_MAGIC, 0);
  let o = SNAPSHOT_MAGIC.length;
  dv.setUint32(o, entries.length);
  o += 4;
  for (const e of entries) {
    dv.setUint16(o, e.id.length);
    out.set(e.id, o + 2);
    o += 2 + e.id.length;
    dv.setUint32(o, e.seq >>> 0);
    dv.setUint32(o + 4, e.result.length);
    out.set(e.result, o + 8);
    o += 8 + e.result.length;
  }
  out.set(service, o);
  return out;
}

/**
 * The reply cache and service bytes of a driver snapshot. Bytes without the magic, or that do not parse, are a
 * checkpoint written before replies were kept: all of it is the service's, with no cached replies.
 */
export function decodeDriverSnapshot(bytes: Uint8Array): {
  replies: Map<string, { seq: number; result: Uint8Array }>;
  service: Uint8Array;
} {
  const replies = new Map<string, { seq: number; result: Uint8Array }>();
  const plain = { replies: new Map<string, { seq: number; result: Uint8Array }>(), service: bytes };
  if (bytes.length < SNAPSHOT_MAGIC.length + 4) return plain;
  for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) if (bytes[i] !== SNAPSHOT_MAGIC[i]) return plain;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = SNAPSHOT_MAGIC.length;
  const count = dv.getUint32(o);
  o += 4;
  try {
    for (let k = 0; k < count; k++) {
      const idLen = dv.getUint16(o);
      if (o + 2 + idLen + 8 > bytes.length) return plain;
      const client = utf8.decode(bytes.subarray(o + 2, o + 2 + idLen));
      o += 2 + idLen;
      const seq = dv.getUint32(o);
      const len = dv.getUint32(o + 4);
      if (o + 8 + len > bytes.length) return plain;
      replies.set(client, { seq, result: bytes.slice(o + 8, o + 8 + len) });
      o += 8 + len;
    }
  } catch {
    return plain;
  }
  return { replies, service: bytes.subarray(o) };
}

export class ReplicaDriver {
  private readonly lastReply = new Map<string, { seq: number; result: Uint8Array }>();
  /**
   * Requests a client asked every replica to answer (reply-all) when it sent them to us directly, by logical
   * client: the copy that gets decided may be an earlier one without the flag (the leader's). One entry per client
   * session, like lastReply; removed when that request executes.
   */
  private readonly replyAll = new Map<string, number>();
  clientsServed = 0;
  /** Unordered reads wait until this instance is decided (see resume). */
  private readBarrier = -1;

  constructor(
    readonly core: ReplicaCore,
    readonly service: Service,
    private readonly env: CoreEnv,
  ) {}

  input(input: Input, out: DriverOutput): void {
    this.run(this.core.step(input), out);
  }

  /** This replica's checkpoint content: the service snapshot and the last reply to every client. */
  snapshot(): Uint8Array {
    return encodeDriverSnapshot(this.lastReply, this.service.snapshot());
  }

  /** Installs checkpoint content (`snapshot()`, of this replica or agreed by state transfer). */
  restore(bytes: Uint8Array): void {
    const { replies, service } = decodeDriverSnapshot(bytes);
    this.service.restore(service);
    this.lastReply.clear();
    for (const [client, r] of replies) this.lastReply.set(client, r);
    this.replyAll.clear();
  }

  /**
   * Comes back as the replica that stopped (ReplicaCore.importDurable): re-executes its saved decisions. When the
   * instance in progress holds an ACCEPT of this replica, the replica may have decided it, executed it and answered
   * its client before the crash, with the decision record still unwritten (wal-recorder.ts: replies wait for the
   * ACCEPT, not for the decision). Until it has decided that instance again it answers no unordered read: a read
   * needs every replica's reply, counting on the one that answered a completed write to show it.
   */
  resume(state: DurableState, out: DriverOutput): void {
    this.run(this.core.importDurable(state), out);
    const inst = this.core.consensus.instance;
    this.readBarrier = inst.accepted.size > 0 ? inst.cid : -1;
  }

  /** A request straight from a client (already authenticated at the channel level by the host). */
  clientRequest(bytes: Uint8Array, out: DriverOutput): void {
    this.clientRequests([bytes], out);
  }

  /**
   * Requests that arrived in the same I/O turn: read-only ones are answered, repeats get the cached reply, and
   * the rest enter the core as one input, so a leader proposes them in one batch instead of proposing the first
   * one alone and leaving the others for the next instance.
   */
  clientRequests(list: Uint8Array[], out: DriverOutput): void {
    const items: { bytes: Uint8Array; req: DecodedRequest }[] = [];
    for (const bytes of list) {
      const req = decodeRequest(bytes);
      if (!req) continue;
      if (req.readOnly) {
        // Unordered read: executed on the current state, never ordered (BFT-SMaRt's unordered requests: no consensus
        // round for a read); the client needs a larger quorum.
        if (this.core.lastDecided < this.readBarrier || !this.env.verifyRequest(req)) continue;
        const result = this.service.execute(requestOp(req), {
          client: req.client,
          seq: req.seq,
          cid: this.core.lastDecided,
          timestamp: 0,
          nonce: 0,
          readOnly: true,
        });
        out.replies.push({ client: req.client, seq: req.seq, readOnly: true, result });
        continue;
      }
      const cached = this.lastReply.get(req.client);
      if (cached && cached.seq === req.seq) {
        out.replies.push({ client: req.client, seq: req.seq, readOnly: false, result: cached.result });
        continue;
      }
      // Not MAC-checked here (the pool checks it): the host only passes requests whose client id belongs to the
      // connection's identity, and a mark only makes us answer that client, as a retransmission would.
      if (req.replyAll && (cached === undefined || req.seq > cached.seq)) this.replyAll.set(req.client, req.seq);
      items.push({ bytes, req });
    }
    if (items.length === 1) this.input({ type: 'request', bytes: items[0]!.bytes, req: items[0]!.req }, out);
    else if (items.length > 1) this.input({ type: 'requests', items }, out);
  }

  /**
   * Replies the service deferred and has now made ready: sent by every replica (the client's retransmissions of
   * a deferred request found no cached reply, so none has asked for it again), and cached as the client's last
   * reply unless that client has moved on.
   */
  private deferredReplies(out: DriverOutput): void {
    const ready = this.service.takeDeferred?.();
    if (!ready) return;
    for (const d of ready) {
      const cached = this.lastReply.get(d.client);
      if (cached && cached.seq > d.seq) continue;
      this.lastReply.set(d.client, { seq: d.seq, result: d.result });
      out.replies.push({ client: d.client, seq: d.seq, readOnly: false, result: d.result });
    }
  }

  private run(actions: Action[], out: DriverOutput): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          out.sends.push({ to: a.to, msg: a.msg });
          break;
        case 'execute': {
          const { me, n, f } = this.core.config;
          const leader = this.core.leader();
          a.requests.forEach((r, i) => {
            const result = this.service.execute(requestOp(r), {
              client: r.client,
              seq: r.seq,
              cid: a.cid,
              timestamp: a.timestamp,
              nonce: (a.seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0,
              readOnly: false,
            });
            this.clientsServed++;
            const asked = this.replyAll.get(r.client);
            if (asked !== undefined && asked <= r.seq) this.replyAll.delete(r.client);
            if (result !== DEFERRED) {
              this.lastReply.set(r.client, { seq: r.seq, result });
              if (r.replyAll || asked === r.seq || designatedReplier(me, leader, n, f, r.seq)) {
                out.replies.push({ client: r.client, seq: r.seq, readOnly: false, result });
              }
            }
            this.deferredReplies(out);
          });
          out.executed.push({
            cid: a.cid,
            timestamp: a.timestamp,
            requests: a.requests,
          });
          break;
        }
        case 'checkpoint':
          this.run(this.core.step({ type: 'snapshot', cid: a.cid, bytes: this.snapshot() }), out);
          break;
        case 'restore':
          this.restore(a.bytes);
          out.executed.push({ cid: a.cid, timestamp: -1, requests: [] });
          break;
        case 'log':
          out.logs.push(a);
          break;
      }
    }
  }
}
