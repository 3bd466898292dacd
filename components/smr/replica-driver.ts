/**
 * Runs a ReplicaCore's actions against a Service: executes decided batches in order, answers clients, takes
 * checkpoints and restores state transfers. Deterministic and free of I/O, so the simulator (test/smr) drives
 * exactly the code the real replica (node.ts) runs; only the event source and the network differ.
 */
import { type DecodedRequest, decodeRequest } from './protocol/codec.js';
import type { DurableState, ReplicaCore } from './protocol/core.js';
import type { Action, CoreEnv, Input, Msg } from './protocol/types.js';
import type { Service } from './services/service.js';

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

export class ReplicaDriver {
  private readonly lastReply = new Map<string, { seq: number; result: Uint8Array }>();
  clientsServed = 0;

  constructor(
    readonly core: ReplicaCore,
    readonly service: Service,
    private readonly env: CoreEnv,
  ) {}

  input(input: Input, out: DriverOutput): void {
    this.run(this.core.step(input), out);
  }

  /** Comes back as the replica that stopped cleanly (ReplicaCore.importDurable): re-executes its saved decisions. */
  resume(state: DurableState, out: DriverOutput): void {
    this.run(this.core.importDurable(state), out);
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
        // Unordered read: executed on the current state, never ordered (SMR-20); the client needs a larger quorum.
        if (!this.env.verifyRequest(req)) continue;
        const result = this.service.execute(req.op, {
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
      items.push({ bytes, req });
    }
    if (items.length === 1) this.input({ type: 'request', bytes: items[0]!.bytes, req: items[0]!.req }, out);
    else if (items.length > 1) this.input({ type: 'requests', items }, out);
  }

  private run(actions: Action[], out: DriverOutput): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          out.sends.push({ to: a.to, msg: a.msg });
          break;
        case 'execute': {
          a.requests.forEach((r, i) => {
            const result = this.service.execute(r.op, {
              client: r.client,
              seq: r.seq,
              cid: a.cid,
              timestamp: a.timestamp,
              nonce: (a.seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0,
              readOnly: false,
            });
            this.lastReply.set(r.client, { seq: r.seq, result });
            this.clientsServed++;
            out.replies.push({ client: r.client, seq: r.seq, readOnly: false, result });
          });
          out.executed.push({
            cid: a.cid,
            timestamp: a.timestamp,
            requests: a.requests,
          });
          break;
        }
        case 'checkpoint':
          this.run(this.core.step({ type: 'snapshot', cid: a.cid, bytes: this.service.snapshot() }), out);
          break;
        case 'restore':
          this.service.restore(a.bytes);
          this.lastReply.clear();
          out.executed.push({ cid: a.cid, timestamp: -1, requests: [] });
          break;
        case 'log':
          out.logs.push(a);
          break;
      }
    }
  }
}
