/**
 * The job tracker's journal: the scheduling core's state survives a crash of the tracker (kill -9 included). Every
 * core input (core-input.ts) is appended to `<jobs>/core.wal` as one JSON line with its sequence number and fsynced
 * before any action it produced leaves the tracker; a start replays the snapshot `core.json` and then the log, which
 * gives back the very same core (it is deterministic). Every JOURNAL_COMPACT_INPUTS inputs (and at every start) the
 * core is written whole to the snapshot (atomically) and the log is emptied; a log line at or below the snapshot's
 * sequence number was already in it and is skipped, so a crash between the two steps applies nothing twice.
 *
 * The appends are synchronous on purpose: the core's inputs are few (a job's reports, not its data) and the order
 * in the file must be the order the core saw them.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../runtime/role.js';
import { type CoreConfig, type CoreSnapshot, SchedulerCore } from './core.js';
import { applyInput, type CoreInput, CoreInputSchema } from './core-input.js';
import { JOURNAL_COMPACT_INPUTS } from './limits.js';

interface SnapshotFile {
  seq: number;
  core: CoreSnapshot;
}

export class TrackerJournal {
  private fd = -1;
  private seq = 0;
  private sinceSnapshot = 0;
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

  /** Appends one input, durably, before the caller lets any of its actions out. */
  append(input: CoreInput, core: SchedulerCore): void {
    this.seq++;
    writeSync(this.fd, `${JSON.stringify({ seq: this.seq, input })}\n`);
    fsyncSync(this.fd);
    if (++this.sinceSnapshot >= JOURNAL_COMPACT_INPUTS) this.compact(core);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
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
