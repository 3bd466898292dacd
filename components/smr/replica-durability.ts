/**
 * The replica's side of the write-ahead log (wal.ts) with `durability: fsync`: after each core step it appends
 * what the step promised (wal-recorder.ts) and holds every output of the step (peer messages, client replies,
 * logs) until the log is durable up to there, releasing held outputs in order as fsyncs complete. Outputs of a
 * step that logged nothing still wait behind earlier held ones, so nothing overtakes a promise it depends on.
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

export class ReplicaDurability {
  degraded: Degraded | null = null;
  private readonly held: { pos: number; out: DriverOutput }[] = [];
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

  /** After a core step: log what it promised, then send its outputs or hold them until that is durable. */
  afterStep(out: DriverOutput): void {
    if (this.degraded) return;
    if (this.recorder.checkpointMoved) this.wal.rotate(this.recorder.base());
    else for (const r of this.recorder.records()) this.wal.append(r);
    if (this.wal.bytes > this.maxBytes) this.shrink();
    if (this.wal.failed) this.degrade(`write-ahead log failed: ${this.wal.failed.message}`);
    if (this.degraded) return;
    if (this.held.length === 0 && this.wal.durable >= this.wal.appended) {
      this.release(out);
      return;
    }
    this.releaseProposals(out);
    this.held.push({ pos: this.wal.appended, out });
  }

  /**
   * A leader's PROPOSE leaves at once, ahead of the fsync: it is no vote of this replica, and a leader restarted
   * from its log stays `recovering` (node.ts) and proposes nothing more in the regency it led, so it cannot
   * contradict a PROPOSE it forgot. Its own WRITE of the value waits like any vote. Followers then log their WRITEs
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
    while (this.held.length > 0 && this.held[0]!.pos <= this.wal.durable) this.release(this.held.shift()!.out);
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
    this.log.error('replica stops taking part', { ...this.degraded });
    this.onDegraded();
  }
}
