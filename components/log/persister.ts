/**
 * What one core replica does with each segment the log service seals: authenticate it with its own keys and
 * store its copy in every cloud through DepSky (DepSky-A: a full, signed copy per cloud; a read needs n-f).
 *
 * Keys (protocol/forward-integrity.ts): at first start the replica draws A_0, stores it with DepSky-CA (so it is
 * Shamir-split across the clouds: no cloud, and after this step not the replica either, holds it whole), and keeps
 * only A_1 on disk. Segment k is authenticated with A_{k+1}; once its copy is stored the file holds A_{k+2} and
 * A_{k+1} is gone. The file is replaced atomically, so a crash leaves the old or the new secret, never none.
 * A segment the replica already authenticated (replayed from its write-ahead log at a restart) is skipped:
 * its secret is gone, and its copy was stored before the secret moved on.
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import type { Logger } from '../../runtime/role.js';
import type { DepSkyClient } from '../storage/client.js';
import { MAX_PERSIST_QUEUE } from './limits.js';
import { authenticateSegment, secretIndexOf } from './protocol/authenticate.js';
import { evolve, SECRET_BYTES, secretAt } from './protocol/forward-integrity.js';
import { encodeCopy, type SealedSegment, seedUnit, segmentUnit } from './protocol/segment.js';

interface SecretFile {
  /** The secret held is A_index. */
  index: number;
  secret: string;
}

export class SegmentPersister {
  private queue: SealedSegment[] = [];
  private running: Promise<void> | undefined;
  private held: SecretFile | undefined;
  persisted = 0;
  lastError: string | undefined;

  constructor(
    private readonly o: {
      dataDir: string;
      replica: number;
      log: string;
      storage: DepSkyClient;
      signKey: KeyObject;
      logger: Logger;
    },
  ) {}

  private get file(): string {
    return path.join(this.o.dataDir, 'log-secret.json');
  }

  /** Loads the evolving secret, or makes A_0, stores its shares and keeps A_1. */
  async start(): Promise<void> {
    try {
      this.held = JSON.parse(await fs.readFile(this.file, 'utf8')) as SecretFile;
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const a0 = randomBytes(SECRET_BYTES);
    await this.o.storage.put(seedUnit(this.o.replica), a0, { protocol: 'depsky-ca' });
    await this.keep({ index: 1, secret: evolve(a0).toString('hex') });
    a0.fill(0);
    this.o.logger.info('forward-integrity seed stored as shares in the clouds; only A_1 kept', {});
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Called from the service's execute: must not block, so it only queues. */
  enqueue(s: SealedSegment): void {
    if (this.queue.length >= MAX_PERSIST_QUEUE) {
      this.lastError = `persist queue full (${MAX_PERSIST_QUEUE} segments): storage too slow or unreachable`;
      return;
    }
    this.queue.push(s);
    if (!this.running) this.running = this.drain().finally(() => (this.running = undefined));
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    for (let s = this.queue.shift(); s; s = this.queue.shift()) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.persist(s);
          this.lastError = undefined;
          break;
        } catch (e) {
          this.lastError = (e as Error).message;
          this.o.logger.warn('could not store a segment copy; retrying', { segment: s.segment, error: this.lastError });
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
        }
      }
    }
  }

  private async persist(s: SealedSegment): Promise<void> {
    const held = this.held as SecretFile;
    const index = secretIndexOf(s.segment);
    if (held.index > index) return; // authenticated before a restart (replayed): its secret is gone
    const secret = secretAt(Buffer.from(held.secret, 'hex'), held.index, index);
    const copy = authenticateSegment(s, { replica: this.o.replica, log: this.o.log, secret, signKey: this.o.signKey });
    await this.o.storage.put(segmentUnit(s.segment, this.o.replica), encodeCopy(copy));
    await this.keep({ index: index + 1, secret: evolve(secret).toString('hex') });
    secret.fill(0);
    this.persisted++;
  }

  private async keep(f: SecretFile): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(f), { mode: 0o600 });
    this.held = f;
  }
}
