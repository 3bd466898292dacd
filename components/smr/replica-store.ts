/**
 * What an SMR replica keeps on disk, in its data directory:
 *
 *   replica.started  written at every start: when it is already there, this start is a restart and the replica
 *                    comes back `recovering` (it will not propose until a new regency is installed)
 *   checkpoint.bin   u32 cid | checkpoint bytes (protocol/checkpoint.ts), written atomically at every checkpoint
 *                    and reloaded at a restart
 *   stopped.bin      what a clean stop saves besides the checkpoint (stop-state.ts): decisions since, regency and
 *                    votes in progress; read once at the next start and removed
 *
 *   wal/             the write-ahead log (wal.ts) with `durability: fsync`: votes and decisions are on disk before
 *                    anything that shows them leaves, so a crash loses nothing acknowledged; stopped.bin is then
 *                    only read once, for a replica upgraded from a release without the log
 *
 * With `durability: none` there is no write-ahead log: after a crash (no clean stop) the replica has forgotten its
 * votes and catches up from its peers by state transfer, and if more than f replicas crash at once the decisions
 * after their last checkpoint are lost (checkpointPeriod 1 makes every decision durable).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import type { Logger } from '../../runtime/role.js';
import type { DurableState } from './protocol/core.js';
import { decodeStopState, encodeStopState } from './stop-state.js';

export class ReplicaStore {
  private readonly checkpointFile: string;
  private readonly stopFile: string;
  /** Checkpoint writes, one after the other (a later checkpoint never lands before an earlier one). */
  private writes: Promise<void> = Promise.resolve();
  /** This start is a restart (the marker was there). */
  readonly recovering: boolean;

  /** Opens (creating it 0700) the data directory and marks this start. */
  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const marker = path.join(dataDir, 'replica.started');
    this.recovering = existsSync(marker);
    writeFileSync(marker, `${new Date().toISOString()}\n`, { mode: 0o600 });
    this.checkpointFile = path.join(dataDir, 'checkpoint.bin');
    this.stopFile = path.join(dataDir, 'stopped.bin');
  }

  /**
   * The checkpoint this replica last wrote, at a restart: `restore` (the core's restoreLocal) takes it and says
   * whether it was readable. Nothing at a first start.
   */
  loadCheckpoint(
    restore: (cid: number, bytes: Uint8Array) => boolean,
    logged?: { cid: number; bytes: Uint8Array } | null,
  ): void {
    if (!this.recovering) return;
    const raw = existsSync(this.checkpointFile) ? readFileSync(this.checkpointFile) : undefined;
    const file = raw && raw.length >= 4 ? { cid: raw.readUInt32BE(0), bytes: new Uint8Array(raw.subarray(4)) } : null;
    // The write-ahead log's last BASE holds a checkpoint too (the same one, or a later one taken to bound the log,
    // or one installed by state transfer whose file write had not landed): the later of the two wins.
    if (logged && (!file || logged.cid >= file.cid) && restore(logged.cid, logged.bytes)) return;
    if (raw === undefined) return;
    const ok = file !== null && restore(file.cid, file.bytes);
    if (!ok) this.log.warn('ignoring unreadable checkpoint file', { file: this.checkpointFile });
  }

  /**
   * What the last clean stop saved, at a restart; read once and removed before it is used: from here on the state
   * lives in memory and in later checkpoints, and a saved state that the replica cannot take back (a broken
   * invariant, a crash while replaying it) is not read again at the next start, which comes back as after a crash.
   */
  takeStopState(): DurableState | undefined {
    if (!this.recovering || !existsSync(this.stopFile)) return undefined;
    const saved = decodeStopState(readFileSync(this.stopFile));
    if (!saved) this.log.warn('ignoring unreadable stop state file', { file: this.stopFile });
    rmSync(this.stopFile, { force: true });
    return saved;
  }

  /** Writes checkpoint `cid` (atomically, after any write still in progress); a failure is logged, not fatal. */
  writeCheckpoint(cid: number, bytes: Uint8Array): void {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(cid, 0);
    const file = Buffer.concat([head, bytes]);
    this.writes = this.writes.then(() =>
      writeFileAtomic(this.checkpointFile, file, { mode: 0o600 }).catch((e) =>
        this.log.warn('cannot write checkpoint', { error: String(e) }),
      ),
    );
  }

  /** Resolves when every checkpoint write asked for so far is done. */
  flush(): Promise<void> {
    return this.writes;
  }

  /** Clean stop: saves what a checkpoint does not hold; a failure is logged (the next start is then a crash's). */
  async saveStopState(state: DurableState): Promise<void> {
    await writeFileAtomic(this.stopFile, encodeStopState(state), { mode: 0o600 }).catch((e) =>
      this.log.warn('cannot save the stop state', { error: String(e) }),
    );
  }
}
