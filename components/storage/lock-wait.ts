/**
 * Taking a data unit's lock, waiting for it up to a deadline. DepSky's lock is obstruction-free, not wait-free: two
 * writers that keep trying at the same moment can keep seeing each other's files, so a retry backs off a random
 * 100-1000 ms (and while a lease is held, looks again every HELD_RECHECK_MS, or when it ends if sooner).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DepSkyClient } from './client.js';
import type { LockHolder } from './protocol/lock.js';

/** Least wait between two attempts, so a lease that ends "now" does not make the loop spin. */
const MIN_BACKOFF_MS = 10;
/**
 * Longest wait before looking again at a lock another writer holds: holders usually release long before their
 * lease ends (a gateway's write releases as soon as its copies landed), and a listing is cheap.
 */
export const HELD_RECHECK_MS = 100;

export type LockWaitResult =
  | { acquired: true; until: number; attempts: number }
  | { acquired: false; holder: LockHolder; attempts: number };

export async function lockWithWait(
  client: DepSkyClient,
  du: string,
  o: { leaseMs: number; deltaMs: number; settleTicks: number; waitMs: number; signal?: AbortSignal },
): Promise<LockWaitResult> {
  const deadline = Date.now() + o.waitMs;
  for (let attempts = 1; ; attempts++) {
    const r = await client.lock(du, { leaseMs: o.leaseMs, deltaMs: o.deltaMs, settleTicks: o.settleTicks });
    if (r.acquired) return { acquired: true, until: r.until, attempts };
    const backoff =
      r.reason === 'held'
        ? Math.min(r.holder.until + o.deltaMs - Date.now(), HELD_RECHECK_MS)
        : 100 + Math.random() * 900;
    if (Date.now() + backoff > deadline) return { acquired: false, holder: r.holder, attempts };
    await sleep(Math.max(MIN_BACKOFF_MS, backoff), undefined, o.signal ? { signal: o.signal } : {});
  }
}
