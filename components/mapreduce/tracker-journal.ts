/**
 * The job tracker's journal: the scheduling core's state survives a crash of the tracker (kill -9 included). Every
 * core input (core-input.ts) is appended to `<jobs>/core.wal` as one JSON line with its sequence number; `append`
 * answers a promise that settles once the line is on disk, and the tracker lets the input's actions out (and answers
 * the client that sent it) only then. A start replays the snapshot `core.json` and then the log, which gives back the
 * very same core (it is deterministic). Every JOURNAL_COMPACT_INPUTS inputs (and at every start) the core is written
 * whole to the snapshot (atomically) and the log is emptied; a log line at or below the snapshot's sequence number was
 * already in it and is skipped, so a crash between the two steps applies nothing twice.
 *
 * Group commit, off the event loop: the lines are queued in the order the core saw their inputs and written by one
 * write and one fdatasync on the thread pool; the lines appended meanwhile go out together in the next. A synchronous
 * fsync per input held the tracker's event loop (chunk uploads, chunks sent to workers) for every one of them: about
 * a ninth of a word count job's wall time. Batches complete in order, so the actions held behind them leave in order.
 * A failed write or sync makes nothing durable any more: the held actions never leave (the tracker stops scheduling,
 * and its restart replays what is on disk).
 */
import {
  closeSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  write,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../runtime/role.js';
import { type CoreConfig, type CoreSnapshot, SchedulerCore } from './core.js';
import { applyInput, type CoreInput, CoreInputSchema } from './core-input.js';
import { JOURNAL_COMPACT_INPUTS } from './limits.js';

interface SnapshotFile {
  seq: number;
  core: CoreSnapshot;
}

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

/** A batch of lines: settled once they are durable (or the journal failed). */
interface Batch {
  lines: string[];
  done: Promise<void>;
  settle: (e?: Error) => void;
}

function newBatch(): Batch {
  let settle: (e?: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    settle = (e) => (e ? reject(e) : resolve());
  });
  // Whoever waits on it handles the failure; an unwatched batch must not crash the process.
  done.catch(() => {});
  return { lines: [], done, settle };
}

export class TrackerJournal {
  private fd = -1;
  private seq = 0;
  private sinceSnapshot = 0;
  /** Lines not written yet, and the batch being written and synced. */
  private queued: Batch | undefined;
  private inFlight: Batch | undefined;
  private failed: Error | undefined;
  /** The core the last input went to (compaction writes it whole). */
  private core: SchedulerCore | undefined;
  private readonly walFile: string;
  private readonly snapFile: string;

  constructor(
    dir: string,
    private readonly log: Logger,
  ) {
    this.walFile = path.join(dir, 'core.wal');
    this.snapFile = path.join(dir, 'core.json');
  }

  /** The core as the snapshot and the log left it, then compacted; `replayed` counts the log's inputs. */
  open(config: CoreConfig): { core: SchedulerCore; replayed: number } {
    const snap = this.readSnapshot();
    const core = snap ? SchedulerCore.restore(config, snap.core) : new SchedulerCore(config);
    this.seq = snap?.seq ?? 0;
    let replayed = 0;
    const text = readFileSync(this.walFile, { encoding: 'utf8', flag: 'a+' });
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const entry = parseLine(line);
      if (!entry) {
        this.log.warn('job tracker journal: a torn or damaged line ends the replay', { file: this.walFile });
        break;
      }
      if (entry.seq <= this.seq) continue;
      applyInput(core, entry.input);
      core.drain();
      this.seq = entry.seq;
      replayed++;
    }
    this.fd = openSync(this.walFile, 'a');
    this.compact(core);
    return { core, replayed };
  }

  /**
   * Appends one input (just applied to `core`); the promise settles once it is durable. The caller lets none of the
   * input's actions out before.
   */
  append(input: CoreInput, core: SchedulerCore): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.seq++;
    this.sinceSnapshot++;
    this.core = core;
    this.queued ??= newBatch();
    this.queued.lines.push(`${JSON.stringify({ seq: this.seq, input })}\n`);
    const done = this.queued.done;
    this.kick();
    return done;
  }

  /** Settles once every input appended so far is durable (the next batch completes after the one in flight). */
  durable(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return (this.queued ?? this.inFlight)?.done ?? Promise.resolve();
  }

  /** Waits for the batch in flight (what is queued behind it is dropped: none of its actions left). */
  async close(): Promise<void> {
    this.queued?.settle(new Error('the job tracker journal was closed'));
    this.queued = undefined;
    await this.inFlight?.done.catch(() => {});
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Starts writing the queued lines unless a batch is in flight (then they go once it completes). */
  private kick(): void {
    if (this.inFlight || !this.queued || this.failed || this.fd < 0) return;
    const batch = this.queued;
    this.queued = undefined;
    this.inFlight = batch;
    this.writeOut(batch.lines.join('')).then(
      () => {
        this.inFlight = undefined;
        if (this.sinceSnapshot >= JOURNAL_COMPACT_INPUTS && this.core) {
          try {
            this.compact(this.core);
          } catch (e) {
            this.fail(batch, e as Error);
            return;
          }
          // The snapshot holds every input applied so far, the queued ones included: they are durable with it.
          this.queued?.settle();
          this.queued = undefined;
        }
        batch.settle();
        this.kick();
      },
      (e: Error) => this.fail(batch, e),
    );
  }

  private fail(batch: Batch, e: Error): void {
    this.failed = e;
    this.inFlight = undefined;
    this.log.error('job tracker journal: a write failed; nothing is scheduled any more until a restart', {
      file: this.walFile,
      error: e.message,
    });
    batch.settle(e);
    this.queued?.settle(e);
    this.queued = undefined;
  }

  private async writeOut(text: string): Promise<void> {
    const data = Buffer.from(text);
    for (let done = 0; done < data.length; )
      done += (await writeAsync(this.fd, data, done, data.length - done)).bytesWritten;
    await fdatasyncAsync(this.fd);
  }

  /** Writes the whole core to the snapshot (temp file, fsync, rename, fsync the directory), then empties the log. */
  private compact(core: SchedulerCore): void {
    const tmp = `${this.snapFile}.tmp`;
    const body: SnapshotFile = { seq: this.seq, core: core.snapshot() };
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(body));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.snapFile);
    const dirFd = openSync(path.dirname(this.snapFile), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    ftruncateSync(this.fd, 0);
    fsyncSync(this.fd);
    this.sinceSnapshot = 0;
  }

  private readSnapshot(): SnapshotFile | null {
    let text: string;
    try {
      text = readFileSync(this.snapFile, 'utf8');
    } catch {
      return null;
    }
    try {
      const s = JSON.parse(text) as SnapshotFile;
      if (typeof s.seq === 'number' && Array.isArray(s.core?.jobs) && Array.isArray(s.core.workers)) return s;
    } catch {
      // Written atomically, so a damaged snapshot is damage from outside: start empty rather than not at all.
    }
    this.log.warn('job tracker journal: the snapshot is damaged; starting without it', { file: this.snapFile });
    return null;
  }
}

function parseLine(line: string): { seq: number; input: CoreInput } | null {
  try {
    const raw = JSON.parse(line) as { seq?: unknown; input?: unknown };
    const input = CoreInputSchema.safeParse(raw.input);
    return typeof raw.seq === 'number' && input.success ? { seq: raw.seq, input: input.data } : null;
  } catch {
    return null;
  }
}
