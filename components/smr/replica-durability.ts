/**
 * The replica's side of the write-ahead log (wal.ts) with `durability: fsync`: after each core step it appends
 * what the step promised (wal-recorder.ts) and holds the step's peer messages until the log is durable up to
 * there, releasing held messages in order as fsyncs complete; a step that logged nothing still waits behind
 * earlier held ones, so nothing overtakes a promise it depends on. Client replies (and log lines and counters) wait
 * in a queue of their own for what they stand on: this replica's ACCEPT of each value the step decided, usually
 * logged by an earlier step, not the step's decision record (WalRecorder.repliesNeedStep). A step whose records
 * nothing waits for (a decision) does not start a sync: its records go out with the next ones that are waited for.
 *
 * The bound: when the log passes walMaxBytes, the replica takes a checkpoint of its own at its last decision (the
 * service snapshot, the executed sequence numbers and the timestamp, the bytes any checkpoint has) and starts a
 * new segment whose BASE holds it; restoreLocal accepts a checkpoint at any cid. If that cannot bring the log
 * under the bound, or the log cannot be written at all, the replica stops taking part (`degraded`, TC438) instead
 * of filling the disk or sending votes it did not log.
 */
import type { Logger } from '../../runtime/role.js';
import { SmrCode } from './codes.js';
import { encodeCheckpoint } from './protocol/checkpoint.js';
import type { ReplicaCore } from './protocol/core.js';
import type { DriverOutput, ReplicaDriver } from './replica-driver.js';
import type { Wal } from './wal.js';
import { WalRecorder } from './wal-recorder.js';

export interface Degraded {
  code: string;
  reason: string;
  hint: string;
}

interface Held {
  pos: number;
  out: DriverOutput;
}

export class ReplicaDurability {
  degraded: Degraded | null = null;
  /** Peer messages of steps, in step order, each with the log position it waits for. */
  private readonly held: Held[] = [];
  /** Client replies, logs and counters of steps, in step order (their positions never decrease either). */
  private readonly heldReplies: Held[] = [];
  private readonly recorder: WalRecorder;

  constructor(
    private readonly wal: Wal,
    private readonly core: ReplicaCore,
    private readonly driver: ReplicaDriver,
    private readonly maxBytes: number,
    private readonly log: Logger,
    /** Sends what a step produced, once it may leave. */
    private readonly release: (out: DriverOutput) => void,
    /** The replica must stop handling events (the log failed or is full). */
    private readonly onDegraded: () => void,
  ) {
    this.recorder = new WalRecorder(core);
  }

  /** The first segment of this run: a BASE of the replica as it resumed (the older segments go once it is durable). */
  start(): void {
    this.wal.rotate(this.recorder.base());
  }

  /**
   * After a core step: log what it promised, then send its outputs or hold them until that is durable. Client
   * replies wait only for what they stand on (WalRecorder.repliesNeedStep): usually the records of earlier
   * steps, which hold this replica's ACCEPT of the decided value, not the decision record this step appends.
   */
  afterStep(out: DriverOutput): void {
    if (this.degraded) return;
    const before = this.wal.appended;
    let repliesNeedStep = true;
    if (this.recorder.checkpointMoved) this.wal.rotate(this.recorder.base());
    else {
      for (const r of this.recorder.records()) this.wal.append(r);
      repliesNeedStep = this.recorder.repliesNeedStep;
    }
    if (this.wal.bytes > this.maxBytes) {
      this.shrink();
      repliesNeedStep = true;
    }
    if (this.wal.failed) this.degrade(`write-ahead log failed: ${this.wal.failed.message}`);
    if (this.degraded) return;
    this.releaseProposals(out);
    const sends = out.sends;
    out.sends = [];
    this.hold(this.held, this.wal.appended, { sends, replies: [], logs: [], executed: [] });
    this.hold(this.heldReplies, repliesNeedStep ? this.wal.appended : before, out);
    const durable = this.wal.durable;
    if ((this.held[0]?.pos ?? 0) > durable || (this.heldReplies[0]?.pos ?? 0) > durable) this.wal.sync();
  }

  /** Releases `out` now if nothing is held before it and the log is durable up to `pos`; else holds it. */
  private hold(queue: Held[], pos: number, out: DriverOutput): void {
    if (out.sends.length === 0 && out.replies.length === 0 && out.logs.length === 0 && out.executed.length === 0) {
      return;
    }
    if (queue.length === 0 && this.wal.durable >= pos) this.release(out);
    else queue.push({ pos, out });
  }

  /**
   * A leader's PROPOSE leaves at once, ahead of the fsync: it is no vote of this replica, and a leader restarted
   * from its log stays `recovering` (node.ts) and proposes nothing more in the regency it led, so it cannot
   * contradict a PROPOSE it forgot. Its own vote for the value waits like any vote. Followers then log their votes
   * while the leader logs its own, instead of one fsync after the other.
   */
  private releaseProposals(out: DriverOutput): void {
    if (!out.sends.some((s) => s.msg.t === 'PROPOSE')) return;
    const proposals = out.sends.filter((s) => s.msg.t === 'PROPOSE');
    out.sends = out.sends.filter((s) => s.msg.t !== 'PROPOSE');
    this.release({ sends: proposals, replies: [], logs: [], executed: [] });
  }

  /** An fdatasync completed: outputs whose records it covers leave, in order. */
  onDurable(): void {
    if (this.degraded) return;
    const durable = this.wal.durable;
    while (this.heldReplies.length > 0 && this.heldReplies[0]!.pos <= durable) {
      this.release(this.heldReplies.shift()!.out);
    }
    while (this.held.length > 0 && this.held[0]!.pos <= durable) this.release(this.held.shift()!.out);
    if (this.held.length > 0 || this.heldReplies.length > 0) this.wal.sync();
  }

  /** The log's writer failed: nothing more may leave. */
  onFailed(e: Error): void {
    this.degrade(`write-ahead log failed: ${e.message}`);
  }

  /** A local checkpoint at the last decision and a new segment from it; degraded when even that is too large. */
  private shrink(): void {
    const core = this.core;
    const cid = core.lastDecided;
    if (cid < 0) {
      this.degrade(`write-ahead log over walMaxBytes (${this.maxBytes}) with nothing decided to checkpoint`);
      return;
    }
    const d = core.decisions;
    const bytes = encodeCheckpoint(new Map(d.executed), d.lastTimestamp, this.driver.snapshot());
    this.wal.rotate(this.recorder.baseAt(cid, bytes));
    this.log.info('write-ahead log over its limit: checkpointed early and started a new segment', {
      cid,
      maxBytes: this.maxBytes,
      segmentBytes: this.wal.bytes,
    });
    if (this.wal.bytes > this.maxBytes) {
      this.degrade(`a checkpoint alone (${this.wal.bytes} bytes) exceeds walMaxBytes (${this.maxBytes})`);
    }
  }

  private degrade(reason: string): void {
    if (this.degraded) return;
    this.degraded = {
      code: SmrCode.walFailed,
      reason,
      hint: 'free space or fix the data directory (or raise walMaxBytes), then restart this replica',
    };
    this.held.length = 0;
    this.heldReplies.length = 0;
    this.log.error('replica stops taking part', { ...this.degraded });
    this.onDegraded();
  }
}
