/**
 * The job tracker's files: `<dataDir>/jobs/<job>/` holds the job module, the input chunks the client uploaded
 * (`input/<i>`), once the job started its `meta.json` (what the tracker needs to resume it after a restart), every
 * reduce replica's output (`out/r<task>-a<attempt>`, f+1 or more per partition: the client votes on them) and, once
 * the job ended, `record.json`. Every file is written atomically and fsynced: the scheduling state is in the
 * tracker's journal (tracker-journal.ts) and must never point at a file a crash lost. A job with neither a record
 * nor a place in the journal was still being uploaded when the tracker stopped: its files are removed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import type { JobMeta, JobRecord } from './job-record.js';
import { MAX_JOBS_KEPT } from './limits.js';

/** Chunk files synced at once when a job starts. */
const SYNC_BATCH = 16;
/** Bytes of lately uploaded chunks kept in memory for the map replicas they start (a few chunks' worth). */
const RECENT_CHUNK_BYTES = 64 * 1024 * 1024;

async function syncFile(file: string): Promise<void> {
  const h = await fs.open(file, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export class JobStore {
  private readonly recent = new Map<string, Buffer>();
  private recentBytes = 0;

  constructor(private readonly root: string) {}

  dir(job: string): string {
    return path.join(this.root, job);
  }

  async create(job: string): Promise<void> {
    await fs.mkdir(path.join(this.dir(job), 'input'), { recursive: true });
    await fs.mkdir(path.join(this.dir(job), 'out'), { recursive: true });
  }

  /**
   * An uploaded chunk, not yet synced: nothing refers to it until the job starts (a job that never started is removed
   * at the next load), and `syncInputs` makes every chunk durable at once before the journal hears of the job. One
   * fsync per chunk on the upload path cost more upload time than the hashing. A chunk of a job started early is
   * synced by `syncChunk` in the background: the restart cancels a job whose upload had not ended, so only the last
   * chunk's arrival has to wait for all of them (`syncInputDir` then).
   */
  async writeChunk(job: string, index: number, data: Buffer): Promise<void> {
    await fs.writeFile(path.join(this.dir(job), 'input', String(index)), data);
    this.remember(`${job}/${index}`, data);
  }

  syncChunk(job: string, index: number): Promise<void> {
    return syncFile(path.join(this.dir(job), 'input', String(index)));
  }

  /** Syncs the uploaded chunks `indexes` and their directory (before a started job's meta.json is written). */
  async syncInputs(job: string, indexes: readonly number[]): Promise<void> {
    const dir = path.join(this.dir(job), 'input');
    for (let i = 0; i < indexes.length; i += SYNC_BATCH)
      await Promise.all(indexes.slice(i, i + SYNC_BATCH).map((k) => syncFile(path.join(dir, String(k)))));
    await this.syncInputDir(job);
  }

  /** Syncs the directory of a job's chunks (their names), once they are all there. */
  syncInputDir(job: string): Promise<void> {
    // Some file systems cannot fsync a directory (EINVAL): nothing more can be done there. Any other error is real.
    return syncFile(path.join(this.dir(job), 'input')).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EINVAL') throw e;
    });
  }

  /** What a started job needs beyond the core's state: written before the core hears of the job. */
  writeMeta(meta: StartedJobMeta): Promise<void> {
    return writeFileAtomic(path.join(this.dir(meta.id), 'meta.json'), JSON.stringify(meta), { mkdir: false });
  }

  async readMeta(job: string): Promise<StartedJobMeta | null> {
    const text = await fs.readFile(path.join(this.dir(job), 'meta.json'), 'utf8').catch(() => null);
    if (text === null) return null;
    try {
      const m = JSON.parse(text) as StartedJobMeta;
      return typeof m.id === 'string' && typeof m.module === 'string' && Array.isArray(m.chunks) ? m : null;
    } catch {
      return null;
    }
  }

  /** A chunk: from memory when it arrived lately (its map replicas start right then), else from disk. */
  async readChunk(job: string, index: number): Promise<Buffer> {
    return this.recent.get(`${job}/${index}`) ?? fs.readFile(path.join(this.dir(job), 'input', String(index)));
  }

  /** Keeps the chunks that arrived last, up to RECENT_CHUNK_BYTES, so the replicas they start do not read the disk. */
  private remember(key: string, data: Buffer): void {
    this.recent.set(key, data);
    this.recentBytes += data.length;
    for (const [k, d] of this.recent) {
      if (this.recentBytes <= RECENT_CHUNK_BYTES) break;
      this.recent.delete(k);
      this.recentBytes -= d.length;
    }
  }

  writeOutput(job: string, task: number, attempt: number, data: Uint8Array): Promise<void> {
    return writeFileAtomic(path.join(this.dir(job), 'out', `r${task}-a${attempt}`), data, { mkdir: false });
  }

  readOutput(job: string, task: number, attempt: number): Promise<Buffer | null> {
    return fs.readFile(path.join(this.dir(job), 'out', `r${task}-a${attempt}`)).catch(() => null);
  }

  /** Drops a job's chunks from memory (it ended or was dropped). */
  private forgetRecent(job: string): void {
    for (const [k, d] of this.recent) {
      if (!k.startsWith(`${job}/`)) continue;
      this.recent.delete(k);
      this.recentBytes -= d.length;
    }
  }

  remove(job: string): Promise<void> {
    this.forgetRecent(job);
    return fs.rm(this.dir(job), { recursive: true, force: true });
  }

  /** Writes the record of an ended job and drops its inputs (only outputs are read after the end). */
  async finish(rec: JobRecord): Promise<void> {
    this.forgetRecent(rec.job);
    await writeFileAtomic(path.join(this.dir(rec.job), 'record.json'), `${JSON.stringify(rec, null, 2)}\n`);
    await fs.rm(path.join(this.dir(rec.job), 'input'), { recursive: true, force: true });
  }

  /**
   * Records of ended jobs, oldest first. The directories of `resumed` jobs (in the journal) are kept; any other
   * without a record is a job whose upload a stop cut short, and is removed.
   */
  async load(resumed: ReadonlySet<string>): Promise<JobRecord[]> {
    await fs.mkdir(this.root, { recursive: true });
    const out: JobRecord[] = [];
    for (const e of await fs.readdir(this.root, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const text = await fs.readFile(path.join(this.root, e.name, 'record.json'), 'utf8').catch(() => null);
      const rec = text === null ? null : parseRecord(text);
      if (rec) out.push(rec);
      else if (!resumed.has(e.name)) await fs.rm(path.join(this.root, e.name), { recursive: true, force: true });
    }
    return out.sort((a, b) => a.submittedAt.localeCompare(b.submittedAt));
  }

  /** Deletes the directories of jobs not in `keep` (a replicated tracker's state dropped their records). */
  async retain(keep: ReadonlySet<string>): Promise<void> {
    const entries = await fs.readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const e of entries)
      if (e.isDirectory() && !keep.has(e.name))
        await fs.rm(path.join(this.root, e.name), { recursive: true, force: true });
  }

  /** Deletes the oldest ended jobs beyond MAX_JOBS_KEPT; returns the ids removed. */
  async prune(ended: readonly JobRecord[]): Promise<string[]> {
    const gone = ended.slice(0, Math.max(0, ended.length - MAX_JOBS_KEPT)).map((r) => r.job);
    await Promise.all(gone.map((j) => fs.rm(this.dir(j), { recursive: true, force: true })));
    return gone;
  }
}

/** A started job as meta.json keeps it. */
export interface StartedJobMeta extends JobMeta {
  module: string;
  chunks: string[];
  timeoutMs: number;
  stragglerMs: number;
  memoryMb: number;
  tentative?: boolean;
}

function parseRecord(text: string): JobRecord | null {
  try {
    const r = JSON.parse(text) as JobRecord;
    return typeof r.job === 'string' && typeof r.state === 'string' && Array.isArray(r.taskDetail) ? r : null;
  } catch {
    return null;
  }
}
