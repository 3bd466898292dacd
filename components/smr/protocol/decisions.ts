/**
 * What a replica has decided: the last decided instance, what each client had executed, the decisions since the
 * last checkpoint and that checkpoint. The normal case appends to it (consensus.ts), state transfer installs a
 * checkpoint into it (state-transfer.ts), and a restart reloads it (ReplicaCore.restoreLocal, importDurable).
 */
import { assert } from '../../../kernel/assert.js';
import { encodeCheckpoint } from './checkpoint.js';
import type { CollectState } from './collect.js';
import type { DecisionProof } from './types.js';

export interface Checkpoint {
  cid: number;
  hash: string;
  bytes: Uint8Array;
}

export interface Decision {
  cid: number;
  value: Uint8Array;
}

export class DecisionLog {
  /** The last decided instance (-1: none yet). Only grows. */
  lastDecided = -1;
  /** Client -> highest sequence number executed. Replaced whole when a checkpoint is installed. */
  executed = new Map<string, number>();
  /** Timestamp of the last executed batch: a leader's next batch must go past it. */
  lastTimestamp = 0;
  /** Decisions since the checkpoint, oldest first: served to lagging replicas, saved by a clean stop. */
  sinceCheckpoint: Decision[] = [];
  checkpoint: Checkpoint | null = null;
  /**
   * The collect state and proof of the last decision (null after a checkpoint install): a new leader's SYNC
   * carries the proof, so replicas that missed the decision can adopt it.
   */
  last: { state: CollectState; proof: DecisionProof | null } | null = null;
  /** Checkpoints asked of the host (a `checkpoint` action) whose service snapshot has not come back yet. */
  private readonly pendingCheckpoints = new Map<number, { clients: Map<string, number>; ts: number }>();

  /** The highest sequence number `client` has had executed (0: none). */
  executedSeq(client: string): number {
    return this.executed.get(client) ?? 0;
  }

  /** Appends the decision of instance `cid` (its requests already executed). */
  record(cid: number, value: Uint8Array, state: CollectState, proof: DecisionProof | null): void {
    const previous = this.sinceCheckpoint.at(-1);
    assert(previous === undefined || previous.cid === cid - 1, 'the decisions since the checkpoint are contiguous', {
      cid,
      previous: previous?.cid,
    });
    this.sinceCheckpoint.push({ cid, value });
    this.lastDecided = cid;
    this.last = { state, proof };
  }

  /** Remembers what the checkpoint of `cid` holds besides the service snapshot, which the host sends next. */
  expectSnapshot(cid: number): void {
    this.pendingCheckpoints.set(cid, { clients: new Map(this.executed), ts: this.lastTimestamp });
  }

  /** The host's service snapshot for checkpoint `cid`: the checkpoint is complete, the log before it is dropped. */
  onSnapshot(cid: number, bytes: Uint8Array, digest: (b: Uint8Array) => string): void {
    const meta = this.pendingCheckpoints.get(cid);
    assert(meta !== undefined, 'a snapshot answers a checkpoint this replica asked for', { cid });
    assert(cid <= this.lastDecided, 'a checkpoint covers decided instances only', {
      cid,
      lastDecided: this.lastDecided,
    });
    this.pendingCheckpoints.delete(cid);
    const bytesOf = encodeCheckpoint(meta.clients, meta.ts, bytes);
    this.checkpoint = { cid, hash: digest(bytesOf), bytes: bytesOf };
    this.sinceCheckpoint = this.sinceCheckpoint.filter((e) => e.cid > cid);
  }

  /** Jumps to a checkpoint (of this replica at a restart, or agreed by state transfer). */
  install(checkpoint: Checkpoint, executed: Map<string, number>, ts: number): void {
    this.executed = executed;
    this.lastTimestamp = ts;
    this.lastDecided = checkpoint.cid;
    this.checkpoint = checkpoint;
    this.sinceCheckpoint = [];
    this.last = null;
  }
}
