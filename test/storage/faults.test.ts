/**
 * The fault suite: every operation of both protocols while f=1 of n=4 clouds is down, slow, corrupting data,
 * serving an older correctly signed version, forging a newer unsigned version, or listing fake lock files.
 * Readers must detect each fault and return exactly the bytes last written.
 */
import { describe, expect, it } from 'vitest';
import type { CloudDriver } from '../../components/storage/drivers/types.js';
import type { Protocol } from '../../components/storage/protocol/types.js';
import { FAULTS, type Fault, FaultyDriver } from './faulty-driver.js';
import { client, fileTempDir, keyPair, localDrivers, pattern } from './support.js';

const keys = keyPair();
const root = fileTempDir();

const SIZES = [0, 1, 1 << 20];
const PROTOCOLS: Protocol[] = ['depsky-a', 'depsky-ca'];

describe.each(PROTOCOLS)('%s with one faulty cloud', (protocol) => {
  it.each(FAULTS.map((f, i) => [f, i % 4] as const))('%s cloud #%i: put, get, ls, gc, lock, rm', async (fault, bad) => {
    const base = `${root.dir}/${protocol}-${fault}`;
    const drivers: CloudDriver[] = localDrivers(base).map((d, i) =>
      i === bad ? new FaultyDriver(d, fault as Fault) : d,
    );
    const c = client(drivers, protocol, keys);
    for (const size of SIZES) {
      const du = `objects/${size}.bin`;
      const v1 = pattern(size, 7);
      const v2 = pattern(size, 99);
      await c.put(du, v1);
      // A second version: a stale cloud keeps serving the first one.
      const put = await c.put(du, v2);
      expect(put.version).toBe('2.a1');
      // Fresh reader (no cached version), readers need only the public key.
      const reader = client(drivers, protocol, { publicKey: keys.publicKey });
      const got = await reader.get(du);
      expect(got.info.version).toBe('2.a1');
      expect(Buffer.from(got.bytes).equals(Buffer.from(v2))).toBe(true);
      if (fault === 'slow') {
        // The slow cloud's metadata get was cancelled once n-f others answered; the read did not wait for it.
        expect((drivers[bad] as FaultyDriver).cancelled).toBeGreaterThan(0);
        expect(got.info.from).not.toContain(`cloud${bad}`);
      }
      if (fault === 'corrupt' || fault === 'forge') {
        // The bad cloud's answers never make it into the result.
        expect(got.info.from).not.toContain(`cloud${bad}`);
      }
      // A stale cloud lies only about its metadata: the version-2 block it stored is genuine and checks against the
      // signed metadata of the others, so a read may use it (which clouds answer first decides); what must hold is
      // the version and the bytes, checked above.
    }
    const ls = await c.ls();
    expect(ls.dataUnits).toEqual(['objects/0.bin', 'objects/1.bin', 'objects/1048576.bin']);
    const gc = await c.gc('objects/1.bin', 1);
    expect(gc.keptFrom).toEqual({ counter: 2, writer: 'a1' });
    expect((await c.get('objects/1.bin')).bytes).toEqual(pattern(1, 99));
    const lock = await c.lock('objects/1.bin', { leaseMs: 60_000 });
    expect(lock.acquired).toBe(true);
    // Another writer now sees the lock as held on a quorum, whatever the faulty cloud lists.
    const other = client(drivers, protocol, keys, { writer: 'b2' });
    const denied = await other.lock('objects/1.bin', { leaseMs: 60_000 });
    expect(denied).toMatchObject({ acquired: false, reason: 'held', holder: { writer: 'a1' } });
    await c.unlock('objects/1.bin');
    expect((await other.lock('objects/1.bin', { leaseMs: 60_000 })).acquired).toBe(true);
    await other.unlock('objects/1.bin');
    const rm = await c.rm('objects/0.bin');
    expect(rm.du).toBe('objects/0.bin');
    await expect(c.get('objects/0.bin')).rejects.toMatchObject({ code: 'TC202' });
    await c.close();
  });
});
