/**
 * The DepSky client over four real local-directory clouds: round trips (0 B .. 256 MiB), confidentiality of
 * DepSky-CA copies, bad input with clear errors, keys, reconfiguration, and the erasure code itself.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../components/storage/crypto/erasure.js';
import { combineShares, openSegment } from '../../components/storage/crypto/primitives.js';
import { GcsDriver } from '../../components/storage/drivers/gcs.js';
import { LocalDirectoryDriver } from '../../components/storage/drivers/local.js';
import { defaultWriterId, generateWriterKeys, readSigningKey, readVerifyKey } from '../../components/storage/keys.js';
import { containerOf } from '../../components/storage/protocol/names.js';
import { parseManifest, segmentAad, segmentNonce } from '../../components/storage/protocol/segments.js';
import { client, fileTempDir, keyPair, localDrivers, pattern } from './support.js';

const keys = keyPair();
const root = fileTempDir();

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

describe('erasure code', () => {
  it('any k of n blocks rebuild the data, for several (n, k) and sizes', () => {
    for (const [n, k] of [
      [4, 2],
      [7, 3],
      [10, 4],
    ] as const) {
      for (const size of [0, 1, 13, 1000, 4099]) {
        const data = pattern(size, size + n);
        const blocks = encode(data, n, k);
        for (let drop = 0; drop < n; drop++) {
          // Keep a sliding window of k blocks starting at `drop`.
          const keep = new Set(Array.from({ length: k }, (_, i) => (drop + i) % n));
          const got = decode(
            blocks.map((b, i) => (keep.has(i) ? b : undefined)),
            n,
            k,
            size,
          );
          expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
        }
      }
    }
  });

  it('refuses too few blocks and wrong block sizes', () => {
    const blocks = encode(pattern(100), 4, 2);
    expect(() => decode([blocks[0], undefined, undefined, undefined], 4, 2, 100)).toThrow(/need 2 blocks/);
    expect(() => decode([blocks[0]!.subarray(1), blocks[1], undefined, undefined], 4, 2, 100)).toThrow(/expected/);
  });
});

describe('round trips over four local-directory clouds', () => {
  it.each(['depsky-a', 'depsky-ca'] as const)(
    '%s: 256 MiB byte for byte, through files',
    async (protocol) => {
      const dir = path.join(root.dir, `big-${protocol}`);
      const c = client(localDrivers(dir), protocol, keys, { retry: { timeoutMs: 120_000, attempts: 2 } });
      const src = path.join(dir, 'in.bin');
      await fs.mkdir(dir, { recursive: true });
      const data = randomBytes(256 << 20);
      await fs.writeFile(src, data);
      const put = await c.put('big', { file: src });
      expect(put.size).toBe(256 << 20);
      const out = path.join(dir, 'out.bin');
      const info = await c.getToFile('big', out);
      expect(info.size).toBe(256 << 20);
      expect((await fs.readFile(out)).equals(data)).toBe(true);
      if (protocol === 'depsky-ca') {
        // n/(f+1): each cloud holds about half of the object.
        // Plus per segment a few bytes of tag and padding, and the manifest (32 bytes per segment).
        expect(put.bytesPerCloud).toBeLessThan((256 << 20) / 2 + 16384);
      }
      await c.rm('big');
      await c.close();
    },
    180_000,
  );

  it('get to a stream writes the verified bytes; get to a file leaves no temp files behind', async () => {
    const dir = path.join(root.dir, 'stream');
    const c = client(localDrivers(dir), 'depsky-a', keys);
    const data = pattern(300_000, 5);
    await c.put('s', data);
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        chunks.push(chunk as Buffer);
        cb();
      },
    });
    await c.getToStream('s', sink);
    expect(Buffer.concat(chunks).equals(Buffer.from(data))).toBe(true);
    const outDir = path.join(dir, 'out');
    await c.getToFile('s', path.join(outDir, 'x.bin'));
    expect(await fs.readdir(outDir)).toEqual(['x.bin']);
  });
});

describe('concurrent writers', () => {
  it('two writers racing on the same version keep distinct value files (writer id in the version)', async () => {
    const dir = path.join(root.dir, 'race');
    const drivers = localDrivers(dir);
    const w1 = client(drivers, 'depsky-a', keys, { writer: 'a1' });
    const w2 = client(drivers, 'depsky-a', keys, { writer: 'b2' });
    await Promise.all([w1.put('shared', pattern(100, 1)), w2.put('shared', pattern(100, 2))]);
    const names = (await drivers[0]!.list(containerOf('shared'))).filter((n) => n.startsWith('value')).sort();
    expect(names).toEqual(['value1.a1', 'value1.b2']);
    // Whichever metadata landed last on the clouds wins (regular register); its bytes come back intact.
    const got = await client(drivers, 'depsky-a', { publicKey: keys.publicKey }).get('shared');
    expect(['1.a1', '1.b2']).toContain(got.info.version);
    expect(got.bytes).toEqual(pattern(100, got.info.version === '1.a1' ? 1 : 2));
  });
});

describe('DepSky-CA confidentiality', () => {
  it('no cloud copy holds plaintext or the key; f+1 copies do rebuild the key', async () => {
    const dir = path.join(root.dir, 'secret');
    const drivers = localDrivers(dir);
    const c = client(drivers, 'depsky-ca', keys);
    const marker = 'TOP-SECRET-MARKER-7f3a';
    const plain = Buffer.from(`${marker} ${'confidential payroll data; '.repeat(2000)} ${marker}`);
    await c.put('hr/payroll', plain);
    // put returns once n-f clouds hold the data; the last copy lands in the background, and close waits for it.
    await c.close();
    const container = containerOf('hr/payroll');
    // Streamed CA: each cloud's manifest holds its key share, its segment files the erasure-coded ciphertext.
    const manifests = await Promise.all(
      drivers.map(async (d) => parseManifest((await d.get(container, 'value1.a1.m'))!)!),
    );
    const share = (i: number) => manifests[i]!.share;
    const key = await combineShares([share(0), share(1)]);
    expect(key).toHaveLength(32);
    for (const file of await filesUnder(dir)) {
      const bytes = await fs.readFile(file);
      expect(bytes.includes(Buffer.from(marker))).toBe(false);
      expect(bytes.includes(Buffer.from('confidential payroll'))).toBe(false);
      expect(bytes.includes(Buffer.from(key))).toBe(false);
      expect(bytes.includes(Buffer.from(key.subarray(0, 8)))).toBe(false);
    }
    // One share alone gives a different (useless) key.
    const one = await combineShares([share(0), share(0)]).catch(() => undefined);
    expect(one === undefined || !Buffer.from(one).equals(Buffer.from(key))).toBe(true);
    // And the key really is the data key: the one segment opens with it (from a data and a parity block).
    const blocks = await Promise.all(drivers.map(async (d) => (await d.get(container, 'value1.a1.s0'))!));
    const sealedLength = plain.length + 16;
    const sealed = decode([blocks[0], undefined, undefined, blocks[3]], 4, 2, sealedLength);
    const aad = segmentAad('hr/payroll', { counter: 1, writer: 'a1' }, 0, true);
    expect(Buffer.from(openSegment([sealed], sealedLength, key, segmentNonce(0), aad)).equals(plain)).toBe(true);
  });
});

describe('bad input gets a clear error', () => {
  it('missing object, wrong key, another writer key, truncated blocks, bad names', async () => {
    const dir = path.join(root.dir, 'bad');
    const drivers = localDrivers(dir);
    const c = client(drivers, 'depsky-ca', keys);
    await expect(c.get('nope')).rejects.toMatchObject({ code: 'TC202', exit: 4 });
    await c.put('doc', pattern(5000));
    const other = keyPair();
    const stranger = client(drivers, 'depsky-ca', other);
    await expect(stranger.get('doc')).rejects.toMatchObject({ code: 'TC203', exit: 3 });
    // Another writer key must not overwrite (or delete) the data unit.
    await expect(stranger.put('doc', pattern(10))).rejects.toMatchObject({ code: 'TC203' });
    await expect(stranger.rm('doc')).rejects.toMatchObject({ code: 'TC203' });
    // Reader without the private key cannot write.
    const reader = client(drivers, 'depsky-ca', { publicKey: keys.publicKey });
    await expect(reader.put('doc', pattern(1))).rejects.toMatchObject({ code: 'TC205' });
    // Truncate the block on one cloud: still readable. On two (> f): the segment is lost, and named.
    const container = containerOf('doc');
    const blockFile = (i: number) => path.join(dir, `cloud${i}`, container, 'value1.a1.s0');
    await fs.truncate(blockFile(0), 100);
    expect((await c.get('doc')).bytes).toEqual(pattern(5000));
    await fs.truncate(blockFile(1), 10);
    await fs.truncate(blockFile(2), 10);
    await expect(c.get('doc')).rejects.toMatchObject({
      code: 'TC220',
      message: expect.stringMatching(/segment 0 of 1 .*corrupt block/),
    });
    await expect(c.get('../etc')).rejects.toMatchObject({ code: 'TC208' });
    await expect(c.getToFile('nope', dir)).rejects.toMatchObject({
      code: 'TC208',
      message: expect.stringMatching(/directory/),
    });
    await expect(c.put('a//b', pattern(1))).rejects.toMatchObject({ code: 'TC208' });
  });

  it('refuses n < 3f+1 and more than f clouds down', async () => {
    const dir = path.join(root.dir, 'cfg');
    expect(() => client(localDrivers(dir, 3), 'depsky-a', keys)).toThrow(/3f\+1/);
    const drivers = localDrivers(dir);
    // Two clouds whose root is a regular file: every call fails.
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'blocked'), 'x');
    const broken = drivers.map((d, i) =>
      i < 2 ? new LocalDirectoryDriver(d.cloud, path.join(dir, 'blocked', 'sub')) : d,
    );
    const c = client(broken, 'depsky-a', keys);
    await expect(c.put('x', pattern(10))).rejects.toMatchObject({ code: 'TC201', exit: 8 });
  });
});

describe('keys', () => {
  it('keygen writes 0600 files; readers load only the public key; unsafe modes are refused', async () => {
    const dir = path.join(root.dir, 'keys');
    const files = { privateKey: path.join(dir, 'w.key'), publicKey: path.join(dir, 'w.pub') };
    await generateWriterKeys(files);
    expect((await fs.stat(files.privateKey)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(files.publicKey)).mode & 0o777).toBe(0o600);
    const pub = await readVerifyKey(files.publicKey);
    expect(pub.type).toBe('public');
    expect(defaultWriterId(pub)).toMatch(/^[0-9a-f]{12}$/);
    await expect(generateWriterKeys(files)).rejects.toMatchObject({ code: 'TC205' });
    await fs.chmod(files.privateKey, 0o644);
    await expect(readSigningKey(files.privateKey)).rejects.toMatchObject({
      code: 'TC205',
      hint: expect.stringMatching(/chmod 600/),
    });
    await fs.writeFile(files.publicKey, 'not a key');
    await expect(readVerifyKey(files.publicKey)).rejects.toMatchObject({ code: 'TC205' });
    await expect(readVerifyKey(path.join(dir, 'missing.pub'))).rejects.toMatchObject({ code: 'TC205', exit: 4 });
  });
});

describe('reconfiguration', () => {
  it('moves a data unit to a new cloud; readers accept the notice from f+1 clouds', async () => {
    const dir = path.join(root.dir, 'reconf');
    const all = localDrivers(dir, 5);
    const oldSet = all.slice(0, 4);
    const newSet = [all[0]!, all[1]!, all[2]!, all[4]!];
    const c = client(oldSet, 'depsky-a', keys);
    await c.put('moving', pattern(4000, 3));
    const target = client(newSet, 'depsky-a', keys);
    const r = await c.reconfigure('moving', target);
    // Let the background copies (puts past the quorum) land before the clouds are inspected.
    await target.close();
    expect(r).toMatchObject({ removedFrom: ['cloud3'], epoch: 1, version: '2.a1' });
    expect(await all[3]!.list(containerOf('moving'))).toEqual([]);
    const reader = client(newSet, 'depsky-a', { publicKey: keys.publicKey });
    expect((await reader.get('moving')).bytes).toEqual(pattern(4000, 3));
    const cfg = await reader.readConfig('moving');
    expect(cfg.config?.clouds).toEqual(['cloud0', 'cloud1', 'cloud2', 'cloud4']);
    expect(cfg.seenOn).toBe(4);
    // A reader still configured with the old clouds: once no cloud it knows holds the value (say they lost it),
    // its own read fails, and it follows the notice (seen on f+1 of its clouds) to the new set.
    const container = containerOf('moving');
    for (const d of [all[0]!, all[1]!, all[2]!])
      for (const n of await d.list(container)) if (n.startsWith('value')) await d.remove(container, n);
    const plainOld = client(oldSet, 'depsky-a', { publicKey: keys.publicKey });
    await expect(plainOld.get('moving')).rejects.toMatchObject({ code: 'TC204' });
    const follower = client(
      oldSet,
      'depsky-a',
      { publicKey: keys.publicKey },
      { resolveCloud: (c) => all.find((d) => d.cloud === c) },
    );
    const moved = await follower.get('moving');
    expect(moved.bytes).toEqual(pattern(4000, 3));
    expect(moved.info.from).toEqual(['cloud4']);
  });
});

describe('GCS driver (no emulator on this machine)', () => {
  it('maps names into the bucket, and an unreachable GCS cloud is just one faulty cloud', async () => {
    const g = new GcsDriver({ cloud: 'gcp', bucket: 'b', prefix: 'depsky/', apiEndpoint: 'http://127.0.0.1:9' });
    expect(g.key('c', 'metadata')).toBe('depsky/c/metadata');
    expect(() => g.key('..', 'x')).toThrow(/invalid container/);
    const dir = path.join(root.dir, 'gcs');
    const drivers = [...localDrivers(dir, 3), g];
    const c = client(drivers, 'depsky-ca', keys, { retry: { attempts: 1, timeoutMs: 5000 } });
    // The driver itself fails with an error (no hang, no fake success): no credentials / nothing listening.
    await expect(g.get('c', 'metadata')).rejects.toThrow();
    await c.put('g', pattern(777));
    expect((await c.get('g')).bytes).toEqual(pattern(777));
    await c.close();
  });
});
