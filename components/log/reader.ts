/**
 * Reading a log from storage alone: every replica's copy of every segment and every replica's forward-integrity
 * seed, through DepSky (a copy damaged or missing in up to f clouds is read from the others), then verifyLog.
 */
import type { KeyObject } from 'node:crypto';
import { DepSkyClient } from '../storage/client.js';
import type { CloudDriver } from '../storage/drivers/types.js';
import { defaultWriterId } from '../storage/keys.js';
import { MAX_SEGMENTS } from './limits.js';
import type { VerifyCheckpoint } from './protocol/checkpoint.js';
import { decodeCopy, SEGMENT_UNIT, type SegmentCopy, seedUnit } from './protocol/segment.js';
import { type VerifyInput, type VerifyReport, verifyFrom, verifyLog } from './protocol/verify.js';

export interface StoredLog {
  copies: Map<number, Map<number, SegmentCopy | string>>;
  seeds: (Uint8Array | string)[];
  /** Data units no f+1 clouds agree exist, or clouds that did not answer. */
  incomplete: string[];
}

/** Reads the stored log; with `fromSegment`, only the segments from that one on (a checkpointed verification). */
export async function readStoredLog(
  drivers: CloudDriver[],
  f: number,
  keys: readonly KeyObject[],
  fromSegment = 0,
): Promise<StoredLog> {
  const clients = keys.map(
    (verifyKey) =>
      new DepSkyClient({
        drivers,
        f,
        protocol: 'depsky-a',
        verifyKey,
        writer: defaultWriterId(verifyKey),
        lingerMs: 0,
      }),
  );
  try {
    const listed = await (clients[0] as DepSkyClient).ls();
    const copies = new Map<number, Map<number, SegmentCopy | string>>();
    const wanted: { segment: number; replica: number; du: string }[] = [];
    for (const du of listed.dataUnits) {
      const m = SEGMENT_UNIT.exec(du);
      if (!m) continue;
      const replica = Number(m[2]);
      if (replica >= keys.length || Number(m[1]) < fromSegment) continue;
      wanted.push({ segment: Number(m[1]), replica, du });
    }
    wanted.sort((a, b) => a.segment - b.segment || a.replica - b.replica);
    await mapLimit(wanted.slice(0, MAX_SEGMENTS * keys.length), 16, async (w) => {
      let value: SegmentCopy | string;
      try {
        value = decodeCopy((await (clients[w.replica] as DepSkyClient).get(w.du)).bytes);
      } catch (e) {
        value = (e as Error).message;
      }
      const bySegment = copies.get(w.segment) ?? new Map<number, SegmentCopy | string>();
      bySegment.set(w.replica, value);
      copies.set(w.segment, bySegment);
    });
    const seeds = await Promise.all(
      clients.map(async (c, i) => {
        try {
          return (await c.get(seedUnit(i))).bytes;
        } catch (e) {
          return (e as Error).message;
        }
      }),
    );
    return { copies, seeds, incomplete: listed.incomplete };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

export async function verifyStored(
  drivers: CloudDriver[],
  o: Omit<VerifyInput, 'copies' | 'seeds'>,
): Promise<VerifyReport & { incomplete: string[] }> {
  const stored = await readStoredLog(drivers, o.f, o.keys);
  return { ...verifyLog({ ...o, copies: stored.copies, seeds: stored.seeds }), incomplete: stored.incomplete };
}

/** Verification from a checkpoint: reads and checks only the segments sealed after its head. */
export async function verifyStoredFrom(
  drivers: CloudDriver[],
  o: Omit<VerifyInput, 'copies' | 'seeds' | 'since' | 'decode'>,
  cp: VerifyCheckpoint,
): Promise<ReturnType<typeof verifyFrom> & { incomplete: string[] }> {
  const stored = await readStoredLog(drivers, o.f, o.keys, cp.head.segment + 1);
  return { ...verifyFrom({ ...o, copies: stored.copies, seeds: stored.seeds }, cp), incomplete: stored.incomplete };
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
    }),
  );
}
