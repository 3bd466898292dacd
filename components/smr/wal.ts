/**
 * A replica's write-ahead log, `<dataDir>/wal/NNNNNNNN.log` (records: wal-codec.ts). The replica appends what a
 * step promised and holds every output of that step until the log is durable up to there (replica-wiring.ts), so
 * a vote or a regency is on disk before any message that shows it leaves (a decision record is written with the
 * next one something waits for: replica-durability.ts).
 *
 * Group commit: one write (O_DSYNC: durable when it returns) at the end of the event-loop turn for everything the
 * turn's steps appended, so under load there is about one sync per turn, never one per request; nothing is written
 * while nothing waits for it, except after LAZY_SYNC_MS.
 *
 * Segments: a new one starts with a BASE record at every checkpoint (and at every start); once that BASE is durable
 * the older segments are deleted, since the BASE holds everything they did. At start, the segments are read in
 * order up to the first torn or damaged record; that segment is cut there and later ones are deleted, with one
 * warning saying which segment and how many bytes went.
 */
import {
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../runtime/role.js';
import { encodeRecord, type Replayed, readSegment, replayRecords, type WalRecord } from './wal-codec.js';

const SEGMENT = /^(\d{8})\.log$/;
/** How long an appended record nothing waits for may stay unwritten (it is written earlier with the next one). */
export const LAZY_SYNC_MS = 20;
/** Segments are written with O_DSYNC: a write returns once its data is durable (an fdatasync in the same call). */
const SEGMENT_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC;

function segmentName(seq: number): string {
  return `${String(seq).padStart(8, '0')}.log`;
}

type Queued = Buffer | { rotate: number };

/** What the writer tells its owner: more records are durable, or writing failed for good. */
export interface WalEvents {
  durable(): void;
  failed(e: Error): void;
}

export class Wal {
  /** Logical bytes appended (over all segments) and the part of them known durable. */
  appended = 0;
  durable = 0;
  /** Bytes of the segments on disk (and queued for them). */
  bytes = 0;
  /** A write, sync or rotation failed: nothing more is written, nothing more becomes durable. */
  failed: Error | null = null;
  private queue: Queued[] = [];
  /** The writer is scheduled for the end of this event-loop turn. */
  private scheduled = false;
  /** Writes appended records nobody has asked to sync yet (append). */
  private lazyTimer: NodeJS.Timeout | null = null;
  private fd: number | null = null;
  private seq: number;
  /** The segment being written (-1: none yet). */
  private current = -1;
  /** Segments older than the current one, deleted once the current one's BASE is durable. */
  private old: number[];

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
    segments: number[],
    private readonly events: WalEvents,
  ) {
    this.old = segments;
    this.seq = segments.at(-1) ?? 0;
  }

  /**
   * Opens `dir` (creating it), reads what the segments hold (cutting a damaged tail) and returns the log, ready
   * for the caller's first rotate(): nothing is appended before a BASE.
   */
  static open(dir: string, log: Logger, events: WalEvents): { wal: Wal; recovered: Replayed | undefined } {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const segments = readdirSync(dir)
      .map((f) => SEGMENT.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const records: WalRecord[] = [];
    const kept: number[] = [];
    let damaged = false;
    for (const seq of segments) {
      const file = path.join(dir, segmentName(seq));
      if (damaged) {
        log.warn('write-ahead log: dropping a segment after a damaged one', { segment: file });
        rmSync(file, { force: true });
        continue;
      }
      const bytes = readFileSync(file);
      const read = readSegment(bytes);
      records.push(...read.records);
      kept.push(seq);
      if (read.damage) {
        damaged = true;
        log.warn('write-ahead log: dropped a torn or damaged tail', {
          segment: file,
          reason: read.damage,
          droppedBytes: bytes.length - read.goodBytes,
          keptRecords: read.records.length,
        });
        truncateSync(file, read.goodBytes);
      }
    }
    return { wal: new Wal(dir, log, kept, events), recovered: replayRecords(records) };
  }

  /**
   * Appends a record after the ones before; durable once `durable` reaches the returned position. Nothing is
   * written until someone needs it durable (sync()), or LAZY_SYNC_MS later: a record nothing waits for (a
   * decision, see wal-recorder.ts) then goes out with the next one that is waited for, in the same write and sync.
   */
  append(r: WalRecord): number {
    const frame = encodeRecord(r);
    this.queue.push(frame);
    this.appended += frame.length;
    this.bytes += frame.length;
    if (!this.lazyTimer && !this.scheduled) {
      this.lazyTimer = setTimeout(() => this.sync(), LAZY_SYNC_MS);
      this.lazyTimer.unref();
    }
    return this.appended;
  }

  /** Starts writing and syncing what is appended (now, or after the write in progress). */
  sync(): void {
    if (this.lazyTimer) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = null;
    }
    this.kick();
  }

  /** Starts a new segment with `base` (a BASE record); the older segments go once it is durable. */
  rotate(base: WalRecord): number {
    this.seq++;
    this.queue.push({ rotate: this.seq });
    this.bytes = 0;
    return this.append(base);
  }

  /** Every record appended so far is durable, or the log failed. */
  async flush(): Promise<void> {
    if (this.lazyTimer) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = null;
    }
    this.writeOut();
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /**
   * Schedules the writer for the end of this event-loop turn (setImmediate, after the sends this turn queued):
   * everything the turn's steps appended goes out in one write.
   */
  private kick(): void {
    if (this.scheduled || this.failed || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.writeOut();
    });
  }

  /**
   * The writer: one write of everything queued, on the event loop, to a file opened with O_DSYNC, so the write
   * returns once the data is durable. Why not the threadpool (async fs, write then fdatasync): each of those calls
   * costs a thread hand-off and a wake-up of the event loop when it completes, two per sync, and a consensus
   * instance waits for one sync of every replica in turn; the loop has nothing to do meanwhile that the sync does
   * not hold up anyway (every output waits for it).
   */
  private writeOut(): void {
    if (this.failed || this.queue.length === 0) return;
    try {
      this.writeQueued();
    } catch (e) {
      this.failed = e as Error;
      this.log.error('write-ahead log: write failed; the replica stops taking part', { error: String(e) });
      this.events.failed(e as Error);
      return;
    }
    this.events.durable();
  }

  private writeQueued(): void {
    const items = this.queue;
    this.queue = [];
    let pos = this.durable;
    let chunk: Buffer[] = [];
    let rotated = false;
    for (const it of items) {
      if (Buffer.isBuffer(it)) {
        chunk.push(it);
        pos += it.length;
        continue;
      }
      this.write(chunk);
      chunk = [];
      this.openSegment(it.rotate);
      rotated = true;
    }
    this.write(chunk);
    if (rotated) this.dropOld();
    this.durable = pos;
  }

  private write(chunk: Buffer[]): void {
    if (chunk.length === 0) return;
    if (this.fd === null) throw new Error('write-ahead log: a record before the first BASE');
    const data = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk);
    for (let done = 0; done < data.length; ) done += writeSync(this.fd, data, done, data.length - done);
  }

  private openSegment(seq: number): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.old.push(this.current);
    }
    this.current = seq;
    this.fd = openSync(path.join(this.dir, segmentName(seq)), SEGMENT_FLAGS, 0o600);
    // The new file's directory entry must be durable too, or a crash could keep the data and lose the name.
    const d = openSync(this.dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }

  /** The segment now being written starts with a durable BASE: the older ones are no longer needed. */
  private dropOld(): void {
    for (const seq of this.old)
      if (seq !== this.current) rmSync(path.join(this.dir, segmentName(seq)), { force: true });
    this.old = [];
  }
}
