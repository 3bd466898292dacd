/**
 * The write order of the gateways (components/storage/s3/write-order.ts) over four real local-directory clouds: a
 * write that outlasts its lease keeps the key (the lease is renewed while it runs, so no other writer gets in), the
 * key is free once the write is done, and a write whose lock was taken from it is aborted before it commits. Short
 * leases stand in for the two-minute one.
 */
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { containerOf, lockFile } from '../../components/storage/protocol/names.js';
import { inWriteOrder, KeyedQueue, WRITE_LOCK_DELTA_MS } from '../../components/storage/s3/write-order.js';
import { client, keyPair, localDrivers, pattern, tempDir } from './support.js';

const keys = keyPair();
const LEASE_MS = 600;
const POLL_MS = 50;
const dirs: { cleanup: () => Promise<void> }[] = [];
afterAll(async () => {
  for (const d of dirs) await d.cleanup();
});

async function setup() {
  const tmp = await tempDir('tclouds-write-order-');
  dirs.push(tmp);
  const drivers = localDrivers(tmp.dir);
  const gateway = () => client(drivers, 'depsky-ca', keys, { writer: 'a1' });
  const other = client(drivers, 'depsky-ca', keys, { writer: 'b2' });
  return { drivers, gateway, other };
}

const tryLock = (c: ReturnType<typeof client>, du: string) =>
  c.lock(du, { leaseMs: LEASE_MS, deltaMs: WRITE_LOCK_DELTA_MS, settleTicks: 0 });

describe('gateway write order', () => {
  it('a write that outlasts its lease keeps the key until it is done; then the key is free', async () => {
    const { gateway, other } = await setup();
    const du = 'slow.bin';
    // Past the first lease and its clock margin: without renewal another writer would get the key here.
    const holdUntil = Date.now() + 2 * LEASE_MS + WRITE_LOCK_DELTA_MS;
    const seen: string[] = [];
    const r = await inWriteOrder(
      new KeyedQueue(),
      gateway,
      du,
      async (c, signal) => {
        while (Date.now() < holdUntil) {
          const l = await tryLock(other, du);
          seen.push(l.acquired ? 'acquired' : l.reason);
          await new Promise((res) => setTimeout(res, POLL_MS));
        }
        return c.put(du, pattern(10_000), { signal });
      },
      LEASE_MS,
    );
    expect(r.size).toBe(10_000);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s === 'acquired')).toEqual([]);
    // Released after the write answered (late copies landed, then the lock files removed).
    const deadline = Date.now() + 30_000;
    while (!(await tryLock(other, du)).acquired) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
    await other.unlock(du);
  }, 60_000);

  it('a write whose lock another writer took is aborted before it commits; the previous version stays', async () => {
    const { drivers, gateway, other } = await setup();
    const du = 'taken.bin';
    const before = pattern(5_000, 7);
    const first = await inWriteOrder(new KeyedQueue(), gateway, du, (c, signal) => c.put(du, before, { signal }));
    const body = new PassThrough();
    let began!: () => void;
    const started = new Promise<void>((res) => {
      began = res;
    });
    const write = inWriteOrder(
      new KeyedQueue(),
      gateway,
      du,
      (c, signal) => {
        body.write(Buffer.from(pattern(1000, 9)));
        // As the gateway's PutObject does: a lost lock stops the read of the body.
        signal.addEventListener('abort', () => body.destroy(signal.reason as Error), { once: true });
        began();
        return c.put(du, { stream: body }, { signal });
      },
      LEASE_MS,
    );
    write.catch(() => {});
    // Another writer's valid lock appears on every cloud (as when this write's lease ran out unrenewed and
    // someone took the key): the next renewal finds it and aborts the write before it commits.
    await started;
    const container = containerOf(du);
    const theirs = lockFile('b2', Date.now() + 60_000);
    for (const d of drivers) await d.put(container, theirs, new Uint8Array(0));
    await expect(write).rejects.toMatchObject({ code: 'TC206' });
    for (const d of drivers) await d.remove(container, theirs);
    const now = await other.get(du);
    expect(now.info.version).toBe(first.version);
    expect(Buffer.from(now.bytes).equals(Buffer.from(before))).toBe(true);
  }, 60_000);
});
