import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { corruptObject, flipPositions, restoreCorrupted } from '../../chaos/corrupt.js';
import { readJournal } from '../../chaos/journal.js';
import { DepSkyClient } from '../../components/storage/client.js';
import { LocalDirectoryDriver } from '../../components/storage/drivers/local.js';
import type { Deployment } from '../../stacks/deployment.js';
import { outputs as recorded } from '../dashboard/fixtures.js';
import { tempDir } from '../support/tmp.js';

let dir: string;
let dep: Deployment;
let client: DepSkyClient;
const data = randomBytes(50_000);

beforeAll(async () => {
  dir = tempDir('tclouds-corrupt-');
  const outputs = structuredClone(recorded);
  for (const b of outputs.components.files!.buckets) b.path = path.join(dir, 'clouds', b.cloud, b.name);
  dep = {
    outputs,
    stackDir: path.join(dir, 'stack'),
    placement: { threat: 'byzantine-vm', keep: 'pm-majority', removal: false },
  };
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const buckets = outputs.components.files!.buckets;
  client = new DepSkyClient({
    drivers: buckets.map((b) => new LocalDirectoryDriver(b.cloud, b.path!)),
    f: 1,
    protocol: 'depsky-a',
    verifyKey: publicKey,
    signKey: privateKey,
    writer: 'a1',
    lingerMs: 0,
  });
  await client.put('report.pdf', data);
  await client.close();
});

describe('chaos corrupt (real DepSky copies in local buckets)', () => {
  it('flips bytes in one cloud copy; DepSky still reads the right bytes; heal restores the copy', async () => {
    const res = await corruptObject(dep, { cloud: 'local-b', object: 'report.pdf', bytes: 32 });
    expect(res.cloud).toBe('local-b');
    expect(res.files).toHaveLength(1);
    expect(path.basename(res.files[0]!.file)).toMatch(/^value/);
    expect(res.files[0]!.flipped).toBe(32);
    const damaged = await fs.readFile(res.files[0]!.file);
    const other = res.files[0]!.file.replace('/local-b/', '/local-a/').replace('-local-b/', '-local-a/');
    expect(damaged.equals(await fs.readFile(other))).toBe(false);

    const { bytes, info } = await client.get('report.pdf');
    expect(Buffer.from(bytes).equals(data)).toBe(true);
    expect(info.from).not.toContain('local-b');

    const journal = await readJournal(dep.stackDir);
    expect(journal.corrupted).toHaveLength(1);
    const healed = await restoreCorrupted(dep);
    expect(healed.restored).toEqual([res.files[0]!.file]);
    expect((await fs.readFile(res.files[0]!.file)).equals(await fs.readFile(other))).toBe(true);
    expect((await readJournal(dep.stackDir)).corrupted).toEqual([]);
  });

  it('heal keeps a copy that was rewritten after the corruption', async () => {
    const res = await corruptObject(dep, { cloud: 'local-c', object: 'report.pdf' });
    await fs.writeFile(res.files[0]!.file, 'rewritten');
    const healed = await restoreCorrupted(dep);
    expect(healed).toEqual({ restored: [], superseded: [res.files[0]!.file] });
    expect(await fs.readFile(res.files[0]!.file, 'utf8')).toBe('rewritten');
  });

  it('clear errors: unknown object, ambiguous bucket, path outside the bucket', async () => {
    await expect(corruptObject(dep, { cloud: 'local-a', object: 'nope' })).rejects.toMatchObject({
      code: 'TC502',
      hint: expect.stringContaining('report.pdf'),
    });
    await expect(corruptObject(dep, { object: 'report.pdf' })).rejects.toMatchObject({ code: 'TC506' });
    await expect(corruptObject(dep, { cloud: 'local-a', object: '../../x' })).rejects.toMatchObject({ code: 'TC506' });
    await expect(corruptObject(dep, { cloud: 'nowhere', object: 'x' })).rejects.toMatchObject({ code: 'TC502' });
  });

  it('flip positions are spread and bounded by the size', () => {
    expect(flipPositions(10, 4)).toEqual([1, 3, 6, 8]);
    expect(flipPositions(3, 100)).toEqual([0, 1, 2]);
  });
});
