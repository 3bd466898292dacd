/**
 * The GCS driver against a GCS JSON API stand-in on loopback: a put the retry layer gave up on (its attempt timed
 * out while the cloud was slow to read the body) cannot be cancelled in the storage SDK, so it may still be sending
 * when the caller reuses the buffer for other bytes (the streamed writer's pooled segment buffers). The object
 * that lands must be the bytes of the put, never what the buffer held later.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsDriver } from '../../components/storage/drivers/gcs.js';
import { ResilientDriver } from '../../components/storage/drivers/resilient.js';
import { type GcsStandIn, startGcsStandIn } from './cloud-standins.js';
import { pattern } from './support.js';

let gcs: GcsStandIn;
let release: () => void = () => {};
let held: Promise<void> | undefined;

beforeAll(async () => {
  gcs = await startGcsStandIn(
    () => ['token-1'],
    () => held ?? Promise.resolve(),
  );
});
afterAll(async () => {
  release();
  await gcs?.close();
});

/** Resolves with the bytes the stand-in stores under `key`, when it stores them. */
function landing(key: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const set = gcs.objects.set.bind(gcs.objects);
    gcs.objects.set = (k: string, v: Buffer) => {
      if (k === key) resolve(v);
      return set(k, v);
    };
  });
}

describe('GCS driver', () => {
  it('a timed-out put that still lands stores the bytes it was given, not what its buffer held later', async () => {
    const driver = new ResilientDriver(
      new GcsDriver({
        cloud: 'g1',
        bucket: 'bucket-g1',
        apiEndpoint: gcs.url,
        token: async () => ({ value: 'token-1', expiresAt: Date.now() + 3_600_000 }),
      }),
      { timeoutMs: 300, attempts: 1, backoffMs: 10 },
    );
    // Larger than the loopback socket's buffers: most of it waits in the client while the cloud does not read.
    const payload = new Uint8Array(pattern(8 << 20, 7));
    const original = Buffer.from(payload);
    const landed = landing('bucket-g1/du/block');
    held = new Promise<void>((r) => {
      release = r;
    });
    await expect(driver.put('du', 'block', payload)).rejects.toThrow(/timed out/);
    // The caller reuses its buffer, as the streamed writer does with a segment's once the put is settled.
    payload.fill(0xee);
    release();
    expect((await landed).equals(original)).toBe(true);
  });
});
