/**
 * The scrub library over four real local-directory clouds: every protocol and metadata format (A, CA written
 * whole, streamed CA in several segments), a cloud that missed a write (stale), a cloud that lost everything and
 * one with a damaged manifest. Repairs keep the version, and what they wrote reads back with the other copies
 * gone. A cloud that is down is reported unreachable and left alone.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDirectoryDriver } from '../../components/storage/drivers/local.js';
import type { CloudDriver } from '../../components/storage/drivers/types.js';
import { containerOf } from '../../components/storage/protocol/names.js';
import { scrub } from '../../components/storage/scrub.js';
import { FaultyDriver } from './faulty-driver.js';
import { client, keyPair, localDrivers, pattern, tempDir } from './support.js';

const keys = keyPair();
let tmp: { dir: string; cleanup: () => Promise<void> };
let drivers: LocalDirectoryDriver[];
const OBJECTS = { a: pattern(5000, 3), whole: pattern(7000, 4), streamed: pattern(10_000, 5) };

beforeAll(async () => {
  tmp = await tempDir('tclouds-scrub-lib-');
  drivers = localDrivers(tmp.dir);
  const a = client(drivers, 'depsky-a', keys);
  await a.put('a', OBJECTS.a);
  await a.close();
  const whole = client(drivers, 'depsky-ca', keys, { caFormat: 1 });
  await whole.put('whole', OBJECTS.whole);
  await whole.close();
  const streamed = client(drivers, 'depsky-ca', keys, { segmentBytes: 4096 });
  await streamed.put('streamed', OBJECTS.streamed);
  await streamed.close();
});
afterAll(async () => {
  await tmp.cleanup();
});

const opts = (repair: boolean, ds: CloudDriver[] = drivers) => ({
  drivers: ds,
  f: 1,
  verifyKey: keys.publicKey,
  repair,
});
const unit = (cloud: number, du: string) => path.join(tmp.dir, `cloud${cloud}`, containerOf(du));
const stateOf = (r: Awaited<ReturnType<typeof scrub>>, du: string) =>
  r.findings.find((f) => f.du === du)?.clouds.map((c) => c.state);

describe('scrub library', () => {
  it('a stale cloud, a lost cloud and a damaged manifest, in every format, repaired at the same version', async () => {
    // cloud3 misses version 2 of "a" (down during the write): its metadata stays at version 1.
    const down = drivers.map((d, i) => (i === 3 ? new FaultyDriver(d, 'down') : d));
    const writer = client(down, 'depsky-a', keys);
    await writer.put('a', OBJECTS.a);
    await writer.close();
    await fs.rm(path.join(tmp.dir, 'cloud0'), { recursive: true });
    const manifest = (await fs.readdir(unit(1, 'streamed'))).find((f) => f.endsWith('.m'))!;
    await fs.writeFile(path.join(unit(1, 'streamed'), manifest), 'damaged');

    const found = await scrub(opts(false));
    expect(stateOf(found, 'a')).toEqual(['missing', 'ok', 'ok', 'stale']);
    expect(stateOf(found, 'whole')).toEqual(['missing', 'ok', 'ok', 'ok']);
    expect(stateOf(found, 'streamed')).toEqual(['missing', 'corrupt', 'ok', 'ok']);
    expect(found.unresolved).toBe(3);

    const fixed = await scrub(opts(true));
    expect(fixed.unresolved).toBe(0);
    expect(fixed.findings.find((f) => f.du === 'streamed')!.repaired).toEqual(['cloud0', 'cloud1']);
    expect(fixed.findings.find((f) => f.du === 'a')).toMatchObject({ version: '2.a1', repaired: ['cloud0', 'cloud3'] });
    expect((await scrub(opts(false))).findings).toEqual([]);

    // Only the repaired clouds (0 and 1) plus one other: each object still reads, from repaired copies.
    const reader = client(drivers, 'depsky-ca', { publicKey: keys.publicKey }, { segmentBytes: 4096 });
    for (const gone of [2, 3]) {
      const name = path.join(tmp.dir, `cloud${gone}`);
      await fs.rename(name, `${name}.away`);
      await fs.writeFile(name, 'down');
      try {
        for (const [du, bytes] of Object.entries(OBJECTS)) {
          const got = await reader.get(du);
          expect(Buffer.from(got.bytes).equals(Buffer.from(bytes))).toBe(true);
        }
      } finally {
        await fs.rm(name);
        await fs.rename(`${name}.away`, name);
      }
    }
    await reader.close();
  });

  it('a cloud that does not answer is unreachable and not repaired; the exit says unresolved', async () => {
    const ds = drivers.map((d, i) => (i === 2 ? new FaultyDriver(d, 'down') : d));
    const r = await scrub(opts(true, ds));
    expect(r.unlisted.map((u) => u.cloud)).toEqual(['cloud2']);
    expect(stateOf(r, 'a')).toEqual(['ok', 'ok', 'unreachable', 'ok']);
    expect(r.findings.every((f) => f.repaired.length === 0 && f.stateAfter === 'degraded')).toBe(true);
    expect(r.unresolved).toBe(3);
  });
});
