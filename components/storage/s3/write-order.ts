/**
 * The order of writes to one key when several gateways (and several requests on one gateway) write it at once.
 *
 * Within a gateway, writes to a key run one after the other (a keyed queue): they share the gateway's writer id,
 * and two of them racing would pick the same version number. Across gateways, each write holds the key's DepSky
 * lock (protocol/lock.ts: lock files counted on f+1 clouds) while it reads the current version and writes the
 * next one, with a fresh client so the version comes from the clouds, not from a cache that another gateway's
 * write made stale. So every write gets a version above every write completed before it, no two writes share a
 * version, and each version is one request's bytes: last writer wins, nothing is lost half-way or mixed.
 */

import { ExitCode, TcError } from '../../../kernel/errors.js';
import type { DepSkyClient } from '../client.js';
import { StorageCode } from '../codes.js';
import { lockWithWait } from '../lock-wait.js';

/** Lease of the key's lock while one write runs (a crashed gateway blocks the key at most this long). */
export const WRITE_LEASE_MS = 120_000;
/** Clock difference allowed between gateways (the lock protocol's delta). */
export const WRITE_LOCK_DELTA_MS = 2_000;
/** How long a write waits for another gateway's write of the same key before it fails with 409. */
export const WRITE_LOCK_WAIT_MS = 60_000;

export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

/** A running write renews the key's lease every quarter of it: a slow upload keeps the key however long it takes. */
const RENEWALS_PER_LEASE = 4;

/**
 * Runs `fn(client, signal)` holding the key's place in this gateway's queue and the key's DepSky lock, and resolves
 * with its result as soon as it has one. The lease is renewed while `fn` runs (a streamed upload lasts as long as
 * the client sends); a renewal that finds the key taken by another writer aborts `fn` through `signal` before it
 * commits. The key is released afterwards, off the caller's path: first the write's late copies land (clouds
 * still storing when the quorum answered, bounded by LATE_COPY_MS), so a later write's metadata is never
 * overwritten by this one's on a slow cloud; then the lock files go. The next write of the key, here or on
 * another gateway, starts after both.
 */
export function inWriteOrder<T>(
  queue: KeyedQueue,
  fresh: () => DepSkyClient,
  du: string,
  fn: (client: DepSkyClient, signal: AbortSignal) => Promise<T>,
  leaseMs = WRITE_LEASE_MS,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    void queue.run(du, async () => {
      try {
        const client = fresh();
        const lock = await lockWithWait(client, du, {
          leaseMs,
          deltaMs: WRITE_LOCK_DELTA_MS,
          settleTicks: 0,
          waitMs: WRITE_LOCK_WAIT_MS,
        });
        if (!lock.acquired) {
          throw new TcError(StorageCode.locked, `${du} is being written by writer ${lock.holder.writer}`, {
            exit: ExitCode.locked,
          });
        }
        const lease = new RenewedLease(client, du, lock.until, leaseMs);
        try {
          resolve(await fn(client, lease.signal));
        } catch (e) {
          // A write aborted because its lock was lost says so, whatever broke first underneath.
          throw lease.signal.aborted ? lease.signal.reason : e;
        } finally {
          await lease.end();
          await client.landed(du).catch(() => {});
          // A failed unlock leaves lock files that expire with their lease (WRITE_LEASE_MS).
          await client.unlock(du).catch(() => {});
        }
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** The key's lease, renewed until end(); lost (taken, or about to run out unrenewed): signal aborts. */
class RenewedLease {
  private readonly stop = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private renewing: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: DepSkyClient,
    private readonly du: string,
    private until: number,
    private readonly leaseMs: number,
  ) {
    this.timer = setInterval(() => {
      this.renewing = this.renew();
    }, leaseMs / RENEWALS_PER_LEASE);
  }

  get signal(): AbortSignal {
    return this.stop.signal;
  }

  private async renew(): Promise<void> {
    try {
      const r = await this.client.lock(this.du, {
        leaseMs: this.leaseMs,
        deltaMs: WRITE_LOCK_DELTA_MS,
        settleTicks: 0,
      });
      if (r.acquired) this.until = r.until;
      else this.lost(`writer ${r.holder.writer} holds it`);
    } catch (e) {
      // A renewal the clouds did not answer is tried again at the next tick, while the lease still has time.
      if (Date.now() + this.leaseMs / RENEWALS_PER_LEASE >= this.until - WRITE_LOCK_DELTA_MS) {
        this.lost((e as Error).message);
      }
    }
  }

  private lost(why: string): void {
    this.stop.abort(
      new TcError(StorageCode.locked, `${this.du}: the write lost its lock (${why}); nothing of it became current`, {
        exit: ExitCode.locked,
        hint: 'write it again',
      }),
    );
  }

  /** Stops renewing; a renewal still running finishes first (so no lock file appears after the unlock). */
  async end(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
  }
}
