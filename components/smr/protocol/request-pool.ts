/**
 * The request pool of a replica: client requests that are authentic and not executed yet, one queue per client in
 * sequence-number order, each with the timer that makes a follower forward it and then start a leader change.
 * The leader builds its batches from here, fairly: round-robin over clients, so one busy client cannot starve the
 * others. Followers check a proposal's requests against their pooled copies (a request pooled here was checked on
 * arrival).
 */
import { assert } from '../../../kernel/assert.js';
import { type Batch, bytesEqual, type DecodedRequest, decodeRequest } from './codec.js';
import type { DecisionLog } from './decisions.js';
import { EMPTY_QUEUES_SLACK, STOP_AFTER_TIMEOUTS } from './limits.js';
import type { CoreConfig, CoreEnv } from './types.js';

interface PooledRequest {
  seq: number;
  bytes: Uint8Array;
  /** The request decoded and verified on arrival (a leader's own batch is built from these). */
  req: DecodedRequest;
  /** Tick its timer started: arrival, or the last regency install or SYNC (which restart every timer). */
  since: number;
  /** Whether it was already forwarded to the leader (once, at the first expiry of its timer). */
  forwarded: boolean;
}

/** The pooled request of a client's queue with sequence number `seq`, if any. */
function pooledAt(queue: readonly PooledRequest[], seq: number): PooledRequest | undefined {
  for (const p of queue) if (p.seq === seq) return p;
  return undefined;
}

export class RequestPool {
  private readonly queues = new Map<string, PooledRequest[]>();
  /** Requests in all queues. */
  size = 0;
  /** Rotates the queue a batch starts from, so no client is always first. */
  private roundRobin = 0;

  constructor(
    private readonly config: CoreConfig,
    private readonly env: CoreEnv,
    private readonly decisions: DecisionLog,
  ) {}

  /**
   * A request from a client, a FWD or a STOP: pooled when it decodes, is ordered (read-only requests are never
   * ordered), is newer than what its client had executed and authenticates. Returns whether it was pooled.
   */
  offer(bytes: Uint8Array, decoded: DecodedRequest | undefined, now: number): boolean {
    const req = decoded ?? decodeRequest(bytes);
    if (!req || req.readOnly) return false;
    // Stale copies (retransmissions of ordered requests) are dropped before the authenticator check, which costs
    // far more than this lookup when clients sign (Ed25519).
    if (req.seq <= this.decisions.executedSeq(req.client) || !this.env.verifyRequest(req)) return false;
    return this.add(req, now);
  }

  private add(req: DecodedRequest, now: number): boolean {
    if (req.seq <= this.decisions.executedSeq(req.client)) return false;
    let queue = this.queues.get(req.client);
    if (queue && pooledAt(queue, req.seq)) return false;
    if ((queue?.length ?? 0) >= this.config.maxPendingPerClient || this.size >= this.config.maxPending) return false;
    if (!queue) {
      queue = [];
      this.queues.set(req.client, queue);
    }
    const entry = { seq: req.seq, bytes: req.bytes, req, since: now, forwarded: false };
    let i = queue.length;
    while (i > 0 && queue[i - 1]!.seq > req.seq) i--;
    queue.splice(i, 0, entry);
    this.size++;
    return true;
  }

  /**
   * Drops a client's pooled requests that are now executed. An emptied queue stays in the pool: a closed-loop
   * client's queue empties and refills once per instance, and deleting and re-adding its entry every time made
   * the map shrink and grow (rehashing) under load. Empty queues are swept once they are most of the pool.
   */
  prune(client: string): void {
    const queue = this.queues.get(client);
    if (!queue || queue.length === 0) return;
    const last = this.decisions.executedSeq(client);
    let k = 0;
    while (k < queue.length && queue[k]!.seq <= last) k++;
    if (k === 0) return;
    if (k === queue.length) queue.length = 0;
    else if (k === 1) queue.shift();
    else queue.splice(0, k);
    this.size -= k;
    assert(this.size >= 0, 'the pool counts no fewer requests than it prunes', { size: this.size, pruned: k });
    if (queue.length === 0 && this.queues.size > 2 * (this.size + EMPTY_QUEUES_SLACK)) {
      for (const [c, q] of this.queues) if (q.length === 0) this.queues.delete(c);
    }
  }

  /** Prunes every client (after a checkpoint install moved what was executed). */
  pruneAll(): void {
    for (const c of [...this.queues.keys()]) this.prune(c);
  }

  /**
   * Up to `max` requests for a batch: round-robin over clients, each client's requests in sequence order, the
   * starting client rotating from batch to batch. `after` (early proposal, consensus.ts) is the batch still being
   * decided: its requests are skipped.
   */
  pick(max: number, after?: Batch): { bytes: Uint8Array[]; requests: DecodedRequest[] } {
    // Queues and a cursor per queue in arrays: this runs for every batch over every client with pending
    // requests, and map lookups per picked request were a share of the leader's CPU.
    const queues: PooledRequest[][] = [];
    for (const q of this.queues.values()) if (q.length > 0) queues.push(q);
    const bytes: Uint8Array[] = [];
    const requests: DecodedRequest[] = [];
    if (queues.length === 0) return { bytes, requests };
    const cursor = new Array<number>(queues.length).fill(0);
    if (after) skipDecidedSoon(queues, cursor, after);
    const start = this.roundRobin++ % queues.length;
    let progress = true;
    while (bytes.length < max && progress) {
      progress = false;
      for (let k = 0; k < queues.length && bytes.length < max; k++) {
        const j = (start + k) % queues.length;
        const queue = queues[j]!;
        const i = cursor[j]!;
        if (i < queue.length) {
          bytes.push(queue[i]!.bytes);
          requests.push(queue[i]!.req);
          cursor[j] = i + 1;
          progress = true;
        }
      }
    }
    return { bytes, requests };
  }

  /** Whether `r` is, byte for byte, a request in the pool (checked on arrival). */
  pooledCopy(r: DecodedRequest): boolean {
    const queue = this.queues.get(r.client);
    const p = queue && pooledAt(queue, r.seq);
    return p ? bytesEqual(p.bytes, r.bytes) : false;
  }

  /**
   * The requests whose timer has run out (`timeout` ticks, the oldest of each client only): `forward` (first
   * expiry: send them to the leader, once) and `stale` (STOP_AFTER_TIMEOUTS expiries: start a leader change).
   */
  expired(now: number, timeout: number): { forward: Uint8Array[]; stale: Uint8Array[] } {
    const forward: Uint8Array[] = [];
    const stale: Uint8Array[] = [];
    for (const queue of this.queues.values()) {
      const p = queue[0];
      if (!p) continue;
      const age = now - p.since;
      if (age >= STOP_AFTER_TIMEOUTS * timeout) stale.push(p.bytes);
      else if (age >= timeout && !p.forwarded) {
        p.forwarded = true;
        forward.push(p.bytes);
      }
    }
    return { forward, stale };
  }

  /** Restarts every request's timer (a new regency or SYNC gives the new leader a full timeout). */
  restartTimers(now: number): void {
    for (const queue of this.queues.values()) for (const p of queue) p.since = now;
  }
}

/** Moves each client's cursor past the requests of `after`, the batch being decided. */
function skipDecidedSoon(queues: PooledRequest[][], cursor: number[], after: Batch): void {
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
