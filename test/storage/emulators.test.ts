/**
 * The S3 and Azure Blob drivers against real servers started here on loopback: s3rver (in-process, temp dir,
 * random port) and Azurite (child process, `--disableTelemetry`, temp dir, port 0). DepSky-A and -CA round
 * trips over four buckets of each, plus the driver contract (missing objects, idempotent removes, listings).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureBlobDriver } from '../../components/storage/drivers/azure.js';
import { S3Driver } from '../../components/storage/drivers/s3.js';
import type { CloudDriver } from '../../components/storage/drivers/types.js';
import { client, keyPair, pattern, tempDir } from './support.js';

const keys = keyPair();
const SIZES = [0, 1, 1 << 20];
// Azurite's well-known development account (public, documented by Microsoft; not a secret).
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

async function contract(d: CloudDriver): Promise<void> {
  await d.createContainer();
  expect(await d.get('c', 'missing')).toBeUndefined();
  expect(await d.getStream('c', 'missing')).toBeUndefined();
  expect(await d.list('nothing-here')).toEqual([]);
  await d.remove('c', 'missing');
  await d.put('c', 'one', new Uint8Array([1, 2, 3]));
  await d.put('c', 'one', new Uint8Array([4, 5]));
  expect(await d.get('c', 'one')).toEqual(new Uint8Array([4, 5]));
  expect(await d.list('c')).toEqual(['one']);
  expect(await d.listContainers()).toContain('c');
  await d.removeContainer('c');
  expect(await d.list('c')).toEqual([]);
}

async function roundTrips(drivers: CloudDriver[], spoolDir: string): Promise<void> {
  for (const protocol of ['depsky-a', 'depsky-ca'] as const) {
    // 1 MiB segments: the 3 MiB file below is a streamed CA object of three segments on each emulator.
    const c = client(drivers, protocol, keys, protocol === 'depsky-ca' ? { segmentBytes: 1 << 20 } : {});
    for (const size of SIZES) {
      const du = `${protocol}/obj-${size}`;
      const data = pattern(size, size + 11);
      await c.put(du, data);
      const got = await c.get(du);
      expect(got.info.size).toBe(size);
      expect(Buffer.from(got.bytes).equals(Buffer.from(data))).toBe(true);
    }
    // Through files: DepSky-A streams the file to each cloud and the value back into a spool file.
    const src = path.join(spoolDir, `${protocol}.in`);
    const data = pattern(3 << 20, 5);
    await writeFile(src, data);
    await c.put(`${protocol}/file`, { file: src });
    await c.getToFile(`${protocol}/file`, path.join(spoolDir, `${protocol}.out`));
    expect((await readFile(path.join(spoolDir, `${protocol}.out`))).equals(Buffer.from(data))).toBe(true);
    expect((await c.ls()).dataUnits.filter((d) => d.startsWith(protocol))).toHaveLength(SIZES.length + 1);
    await c.rm(`${protocol}/obj-1`);
    await expect(c.get(`${protocol}/obj-1`)).rejects.toMatchObject({ code: 'TC202' });
    await c.close();
  }
}

/** The tests every emulated driver passes: four drivers (one per bucket) made once the emulator runs. */
function driverTests(drivers: () => CloudDriver[], spoolDir: () => string): void {
  it('meets the driver contract', async () => {
    await contract(drivers()[0]!);
  });

  it('round-trips DepSky-A and DepSky-CA objects (0 B, 1 B, 1 MiB in memory, 3 MiB (three CA segments) through files)', async () => {
    const ds = drivers();
    for (const d of ds) await d.createContainer();
    await roundTrips(ds, spoolDir());
  }, 180_000);
}

describe('S3 driver on s3rver', () => {
  let server: { close(): Promise<void> } | undefined;
  let endpoint = '';
  let tmp: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    tmp = await tempDir('tclouds-s3rver-');
    const moduleName = 's3rver'; // untyped package: imported by name so that tsc does not look for types
    const { default: S3rver } = (await import(moduleName)) as {
      default: new (o: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };
    };
    const s = new S3rver({ address: '127.0.0.1', port: 0, directory: tmp.dir, silent: true });
    const addr = await s.run();
    server = s;
    endpoint = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await tmp.cleanup();
  });

  const drivers = () =>
    Array.from(
      { length: 4 },
      (_, i) =>
        new S3Driver({
          cloud: `s3-${i}`,
          bucket: `depsky-${i}`,
          endpoint,
          region: 'us-east-1',
          prefix: 'du/',
          credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        }),
    );

  driverTests(drivers, () => tmp.dir);
});

describe('Azure Blob driver on Azurite', () => {
  let proc: ChildProcess | undefined;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let blobUrl = '';

  beforeAll(async () => {
    tmp = await tempDir('tclouds-azurite-');
    const bin = path.resolve('node_modules/.bin/azurite-blob');
    proc = spawn(
      bin,
      [
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        '0',
        '--location',
        tmp.dir,
        '--silent',
        '--disableTelemetry',
        '--skipApiVersionCheck',
        '--loose',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    blobUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`Azurite did not start: ${out}`)), 30_000);
      proc!.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      proc!.on('exit', (code) => reject(new Error(`Azurite exited with ${code}: ${out}`)));
    });
  });
  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    await tmp.cleanup();
  });

  const drivers = () => {
    const cs = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=${blobUrl}/devstoreaccount1;`;
    return Array.from(
      { length: 4 },
      (_, i) => new AzureBlobDriver({ cloud: `az-${i}`, bucket: `depsky-${i}`, connectionString: cs }),
    );
  };

  driverTests(drivers, () => tmp.dir);
});
