/**
 * Late copies of streamed DepSky-CA writes, with a cloud whose puts of one version wait at a gate the test opens
 * (gated-driver.ts): the timing of a slow cloud is a step of the test, not a sleep.
 *   - a laggard dropped at the writer's memory bound never gets that version: its metadata keeps the previous one,
 *     nothing of the cut copy lands later, and the next version reaches it again;
 *   - a late copy that cannot finish within the client's bound (close()) is cut and leaves the metadata alone;
 *   - a slow cloud's late copy of version 1 never lands after version 2 (LateCopies.before): it either completes
 *     before version 2 is written, or it is cut.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DepSkyClient } from '../../components/storage/client.js';
import { containerOf } from '../../components/storage/protocol/names.js';
import { WRITE_SEGMENTS_IN_MEMORY } from '../../components/storage/protocol/segments.js';
import { GatedDriver } from './gated-driver.js';
import { client, fileTempDir, keyPair, localDrivers, pattern } from './support.js';

const keys = keyPair();
const root = fileTempDir('tclouds-late-copies-');
const SEG = 64 << 10;

/** Four clouds; cloud3's puts of the files of version `gatedVersion` wait at the gate. */
function setup(
  name: string,
  gatedVersion: number,
  lingerMs: number,
): { c: DepSkyClient; gate: GatedDriver; dir: string } {
  const dir = path.join(root.dir, name);
  const d = localDrivers(dir);
  const gate = new GatedDriver(d[3]!, (file) => file.startsWith(`value${gatedVersion}.`));
  const c = client([d[0]!, d[1]!, d[2]!, gate], 'depsky-ca', keys, { segmentBytes: SEG, lingerMs });
  return { c, gate, dir };
}

/** The version counter of the metadata cloud3 holds (undefined: none). */
async function cloud3Version(dir: string): Promise<number | undefined> {
  const file = path.join(dir, 'cloud3', containerOf('doc'), 'metadata');
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  return text === undefined
    ? undefined
    : (JSON.parse(text) as { meta: { version: { counter: number } } }).meta.version.counter;
}

describe('late copies of streamed CA writes', () => {
  it('a laggard dropped at the memory bound never gets that version; the next one reaches it again', async () => {
    const { c, gate, dir } = setup('laggard', 2, 30_000);
    await c.put('doc', pattern(2 * SEG, 1));
    await c.close();
    expect(await cloud3Version(dir)).toBe(1);
    // More segments than the writer holds: cloud3 stores none of them, so it is dropped after its grace period.
    const v2 = pattern((WRITE_SEGMENTS_IN_MEMORY + 4) * SEG + 5, 2);
    const put = await c.put('doc', v2);
    expect(put.failed.map((x) => x.cloud)).toEqual(['cloud3']);
    expect(put.failed[0]!.reason).toMatch(/behind/);
    expect(put.pending).toEqual([]);
    await c.close();
    gate.open();
    // Every gated put was cut: none stores anything once the gate opens, and the metadata stays on version 1.
    expect((await gate.settled()).every((r) => r.status === 'fulfilled' && r.value === false)).toBe(true);
    expect(await cloud3Version(dir)).toBe(1);
    expect(Buffer.from((await c.get('doc')).bytes).equals(Buffer.from(v2))).toBe(true);
    const v3 = pattern(SEG + 3, 3);
    await c.put('doc', v3);
    const closed = await c.close();
    expect(closed.unfinished).toEqual([]);
    expect(await cloud3Version(dir)).toBe(3);
  }, 60_000);

  it('a late copy that cannot finish within the bound of close() is cut and claims nothing', async () => {
    const { c, gate, dir } = setup('bounded', 2, 200);
    await c.put('doc', pattern(SEG, 1));
    await c.close();
    const put = await c.put('doc', pattern(2 * SEG, 2));
    expect(put.pending).toEqual(['cloud3']);
    await gate.waiting();
    const closed = await c.close();
    expect(closed.unfinished).toEqual(['cloud3']);
    gate.open();
    expect((await gate.settled()).every((r) => r.status === 'fulfilled' && r.value === false)).toBe(true);
    expect(await cloud3Version(dir)).toBe(1);
  });

  it("a slow cloud's late copy of version 1 lands before version 2 is written, when it finishes in time", async () => {
    const { c, gate, dir } = setup('in-time', 1, 30_000);
    const put1 = await c.put('doc', pattern(2 * SEG, 1));
    expect(put1.pending).toEqual(['cloud3']);
    await gate.waiting();
    // put() waits for the late copy into the same data unit before it starts; the copy goes on once the gate opens.
    const put2 = c.put('doc', pattern(2 * SEG, 2));
    gate.open();
    await put2;
    const closed = await c.close();
    expect(closed.stored).toContain('cloud3');
    expect((await gate.settled()).every((r) => r.status === 'fulfilled' && r.value === true)).toBe(true);
    // On cloud3: version 1's manifest and metadata, then only version 2's files.
    const log = gate.stored;
    const v1Meta = log.indexOf('metadata', log.indexOf('value1.a1.m'));
    expect(v1Meta).toBeGreaterThan(0);
    expect(log.findIndex((n) => n.startsWith('value2.'))).toBeGreaterThan(v1Meta);
    expect(await cloud3Version(dir)).toBe(2);
  });

  it("a slow cloud's late copy of version 1 that does not finish in time is cut, never landing after version 2", async () => {
    const { c, gate, dir } = setup('cut', 1, 300);
    const put1 = await c.put('doc', pattern(2 * SEG, 1));
    expect(put1.pending).toEqual(['cloud3']);
    await gate.waiting();
    // The gate stays shut: put() waits its bound, cuts the copy, then writes version 2 (cloud3 included).
    await c.put('doc', pattern(2 * SEG, 2));
    // Without the cut, opening the gate now would let version 1's blocks land and its metadata overwrite version 2.
    gate.open();
    expect((await gate.settled()).every((r) => r.status === 'fulfilled' && r.value === false)).toBe(true);
    await c.close();
    const names = await fs.readdir(path.join(dir, 'cloud3', containerOf('doc')));
    expect(names.filter((n) => n.startsWith('value1.'))).toEqual([]);
    // cloud3 holds version 2 once its own copy landed (a late copy too, that close() may cut under heavy load).
    expect([2, undefined]).toContain(await cloud3Version(dir));
  });
});
