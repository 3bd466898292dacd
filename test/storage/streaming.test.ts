/**
 * Streamed DepSky-CA (metadata format 2) over four real local-directory clouds: objects of every size around the
 * segment boundaries read back equal through buffers, files and streams; one cloud corrupting or withholding any
 * segment (or its manifest) is survived; f+1 clouds corrupting the same segment fail loudly with TC220 naming it,
 * leaving no half-written output; objects of the old format (1) still read; the late copy of a slow cloud is
 * reported; and a round trip of a few hundred MiB stays within a bounded peak RSS (measured in a child process).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startDigestThread } from '../../components/storage/crypto/digest-thread.js';
import { LocalDirectoryDriver } from '../../components/storage/drivers/local.js';
import { type CallOptions, PermanentDriverError } from '../../components/storage/drivers/types.js';
import { containerOf } from '../../components/storage/protocol/names.js';
import { parseManifest, SegmentFetch, UploadSchedule } from '../../components/storage/protocol/segments.js';
import type { Payload } from '../../components/storage/protocol/types.js';
import { streamSource } from '../../components/storage/segment-io.js';
import { FaultyDriver } from './faulty-driver.js';
import { client, fileTempDir, keyPair, localDrivers, pattern } from './support.js';

const keys = keyPair();
const root = fileTempDir('tclouds-streaming-');
/** Small segments keep the tests fast; the code paths are the same as with SEGMENT_BYTES. */
const SEG = 64 << 10;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function collect(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

describe('streamed DepSky-CA round trips', () => {
  it('sizes around segment boundaries read back equal, through buffers, files and streams', async () => {
    const dir = path.join(root.dir, 'sizes');
    const c = client(localDrivers(dir), 'depsky-ca', keys, { segmentBytes: SEG });
    await fs.mkdir(dir, { recursive: true });
    const fixed = [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG + 17];
    let round = 0;
    const check = async (size: number) => {
      const data = Buffer.from(pattern(size, size + 7));
      const du = `obj-${round++}`;
      // Alternate the source kind: buffer, file, stream.
      const kind = round % 3;
      if (kind === 0) await c.put(du, data);
      else if (kind === 1) {
        const src = path.join(dir, `${du}.in`);
        await fs.writeFile(src, data);
        await c.put(du, { file: src });
      } else await c.putStream(du, Readable.from(chunksOf(data, 1000 + (size % 7919))));
      expect(Buffer.from((await c.get(du)).bytes).equals(data)).toBe(true);
      const out = path.join(dir, `${du}.out`);
      const info = await c.getToFile(du, out);
      expect(info.size).toBe(size);
      expect((await fs.readFile(out)).equals(data)).toBe(true);
      const { sink, bytes } = collect();
      await c.getToStream(du, sink);
      expect(bytes().equals(data)).toBe(true);
    };
    for (const size of fixed) await check(size);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 5 * SEG + 3 }), async (size) => check(size)),
      { numRuns: 12, seed: 20 },
    );
    // The metadata is format 2 and the files are segments plus one manifest per cloud.
    const names = await fs.readdir(path.join(dir, 'cloud0', containerOf('obj-5')));
    expect(names.sort()).toEqual([
      'metadata',
      'value1.a1.m',
      'value1.a1.s0',
      'value1.a1.s1',
      'value1.a1.s2',
      'value1.a1.s3',
    ]);
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'cloud0', containerOf('obj-5'), 'metadata'), 'utf8'));
    expect(meta.meta).toMatchObject({ format: 2, segmentBytes: SEG, size: 3 * SEG + 17 });
    await c.close();
  }, 120_000);
});

function* chunksOf(data: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

describe('a stream cut into segments', () => {
  it('full segments of exactly the segment size, whatever the chunks; every byte kept; the last one flagged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 3 * 1000 }), { maxLength: 12 }), async (sizes) => {
        const chunks = sizes.map((n, i) => Buffer.alloc(n, i + 1));
        const src = streamSource(Readable.from(chunks), 1000);
        const got: { bytes: Uint8Array; last: boolean }[] = [];
        // A segment's memory is reused a few segments later (as the writer allows): keep a copy.
        for (let seg = await src.next(); seg; seg = await src.next())
          got.push({ ...seg, bytes: Buffer.from(seg.bytes) });
        expect(Buffer.concat(got.map((g) => g.bytes)).equals(Buffer.concat(chunks))).toBe(true);
        expect(got.slice(0, -1).every((g) => g.bytes.length === 1000 && !g.last)).toBe(true);
        if (got.length > 0) expect(got.at(-1)!.last).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('hands a full segment out once the next byte arrived, before the input ends; a broken input fails next()', async () => {
    const input = new PassThrough();
    const src = streamSource(input, 1000);
    input.write(Buffer.alloc(1001, 7));
    const first = await src.next();
    expect([first!.bytes.length, first!.last]).toEqual([1000, false]);
    input.destroy(new Error('connection reset'));
    await expect(src.next()).rejects.toThrow('connection reset');
  });
});

describe('faulty clouds, segment by segment', () => {
  const SEGMENTS = 4;
  const size = SEGMENTS * SEG - 5;

  it('one cloud corrupting or withholding any one segment (or its manifest) is survived', async () => {
    const dir = path.join(root.dir, 'one-bad');
    const c = client(localDrivers(dir), 'depsky-ca', keys, { segmentBytes: SEG });
    const data = Buffer.from(pattern(size, 3));
    await c.put('doc', data);
    await c.close();
    const file = (cloud: number, name: string) => path.join(dir, `cloud${cloud}`, containerOf('doc'), name);
    const names = [...Array.from({ length: SEGMENTS }, (_, j) => `value1.a1.s${j}`), 'value1.a1.m'];
    for (const name of names) {
      for (let cloud = 0; cloud < 4; cloud++) {
        const original = await fs.readFile(file(cloud, name));
        for (const fault of ['corrupt', 'withhold'] as const) {
          if (fault === 'corrupt') {
            const bad = Buffer.from(original);
            bad[bad.length >> 1]! ^= 0x40;
            await fs.writeFile(file(cloud, name), bad);
          } else await fs.rm(file(cloud, name));
          const got = await c.get('doc');
          expect(Buffer.from(got.bytes).equals(data), `${fault} ${name} on cloud${cloud}`).toBe(true);
          await fs.writeFile(file(cloud, name), original);
        }
      }
    }
  }, 120_000);

  it('large blocks (hashed on the digest thread, read into reused buffers): a bad block is survived, too many fail', async () => {
    const dir = path.join(root.dir, 'large-blocks');
    // 1 MiB segments: blocks of 512 KiB go through the digest thread (running from the start) and getInto.
    expect(await startDigestThread()).toBe(true);
    const big = 1 << 20;
    const c = client(localDrivers(dir), 'depsky-ca', keys, { segmentBytes: big });
    const data = Buffer.from(pattern(4 * big - 9, 12));
    await c.put('doc', data);
    await c.close();
    const file = (cloud: number, j: number) => path.join(dir, `cloud${cloud}`, containerOf('doc'), `value1.a1.s${j}`);
    const flip = async (cloud: number, j: number) => {
      const bad = await fs.readFile(file(cloud, j));
      bad[bad.length - 3]! ^= 0x10;
      await fs.writeFile(file(cloud, j), bad);
    };
    await flip(0, 1);
    await fs.truncate(file(1, 2), 1000);
    await fs.rm(file(2, 3));
    const got = await c.get('doc');
    expect(Buffer.from(got.bytes).equals(data)).toBe(true);
    // Which blocks are read depends on which clouds answered first; any bad one read was rejected, never used.
    for (const r of got.info.rejected)
      expect(r.reason).toMatch(/^segment [123]: (digest mismatch \(corrupt block\)|block missing)$/);
    const out = path.join(dir, 'doc.out');
    await c.getToFile('doc', out);
    expect((await fs.readFile(out)).equals(data)).toBe(true);
    const { sink, bytes } = collect();
    await c.getToStream('doc', sink);
    expect(bytes().equals(data)).toBe(true);
    // Segment 1 corrupt on three clouds: fewer than k valid blocks anywhere.
    await flip(1, 1);
    await flip(2, 1);
    await expect(c.get('doc')).rejects.toMatchObject({
      code: 'TC220',
      message: expect.stringMatching(/^segment 1 of 4/),
    });
  });

  it('a corrupt block among the k read first is caught by its digest, read elsewhere, and never reaches the output', async () => {
    // The fast path: the k data blocks are hashed and opened together on a digest thread (shared memory), the
    // plaintext used only once every digest matched. Clouds 2 and 3 answer slowly to this reader, so the first k
    // clouds are 0 and 1 (their manifests arrive first): exactly the blocks corrupted here.
    const dir = path.join(root.dir, 'fast-path');
    expect(await startDigestThread()).toBe(true);
    const big = 1 << 20;
    const drivers = localDrivers(dir);
    const w = client(drivers, 'depsky-ca', keys, { segmentBytes: big });
    const data = Buffer.from(pattern(4 * big - 21, 31));
    await w.put('doc', data);
    await w.close();
    const reader = client(
      [
        drivers[0]!,
        drivers[1]!,
        new FaultyDriver(drivers[2]!, 'slow', 400),
        new FaultyDriver(drivers[3]!, 'slow', 400),
      ],
      'depsky-ca',
      keys,
      { segmentBytes: big },
    );
    const file = (cloud: number, j: number) => path.join(dir, `cloud${cloud}`, containerOf('doc'), `value1.a1.s${j}`);
    // Cloud 0: a byte of ciphertext in segment 1; cloud 1: a byte of segment 2's GCM tag (end of the last data block).
    const sealedEnd = Math.ceil((big + 16) / 2);
    const flips: [number, number, number][] = [
      [0, 1, 100],
      [1, 2, sealedEnd - 3],
    ];
    for (const [cloud, j, at] of flips) {
      const original = await fs.readFile(file(cloud, j));
      const bad = Buffer.from(original);
      bad[at]! ^= 0x01;
      await fs.writeFile(file(cloud, j), bad);
      const expected = [{ cloud: `cloud${cloud}`, reason: `segment ${j}: digest mismatch (corrupt block)` }];
      const got = await reader.get('doc');
      expect(Buffer.from(got.bytes).equals(data)).toBe(true);
      expect(got.info.rejected).toEqual(expected);
      expect(got.info.from).toContain('cloud2');
      if (cloud === 0) {
        // The same through a file (opened into its write buffers) and a stream (a fresh copy of each segment).
        const out = path.join(dir, 'doc.out');
        expect((await reader.getToFile('doc', out)).rejected).toEqual(expected);
        expect((await fs.readFile(out)).equals(data)).toBe(true);
        const { sink, bytes } = collect();
        expect((await reader.getToStream('doc', sink)).rejected).toEqual(expected);
        expect(bytes().equals(data)).toBe(true);
      }
      await fs.writeFile(file(cloud, j), original);
    }
    await reader.close();
  }, 120_000);

  it('f+1 clouds corrupting a segment are reported; n-k+1 (no k valid blocks left) fail loudly, naming it', async () => {
    const dir = path.join(root.dir, 'two-bad');
    const c = client(localDrivers(dir), 'depsky-ca', keys, { segmentBytes: SEG });
    const data = Buffer.from(pattern(size, 4));
    await c.put('doc', data);
    await c.close();
    const corrupt = async (cloud: number) => {
      const f = path.join(dir, `cloud${cloud}`, containerOf('doc'), 'value1.a1.s2');
      const bad = await fs.readFile(f);
      bad[7]! ^= 1;
      await fs.writeFile(f, bad);
    };
    // f+1 = 2 of n = 4: k = f+1 = 2 valid blocks remain, so the data is still exact, and the culprits are named.
    await corrupt(0);
    await corrupt(2);
    const got = await c.get('doc');
    expect(Buffer.from(got.bytes).equals(data)).toBe(true);
    expect(got.info.rejected.map((r) => r.cloud).sort()).toEqual(['cloud0', 'cloud2']);
    expect(got.info.rejected[0]!.reason).toMatch(/^segment 2: digest mismatch/);
    // One more: fewer than k valid blocks of segment 2 exist anywhere.
    await corrupt(1);
    await expect(c.get('doc')).rejects.toMatchObject({
      code: 'TC220',
      message: expect.stringMatching(/^segment 2 of 4 of "doc" version 1\.a1: only 1 of 4 clouds hold a valid block/),
    });
    const out = path.join(dir, 'out', 'doc.bin');
    await fs.mkdir(path.dirname(out), { recursive: true });
    await expect(c.getToFile('doc', out)).rejects.toMatchObject({ code: 'TC220' });
    // Atomic output: no target, no temp file.
    expect(await fs.readdir(path.dirname(out))).toEqual([]);
    // A stream gets the verified segments before the lost one, never a byte of it.
    const { sink, bytes } = collect();
    await expect(c.getToStream('doc', sink)).rejects.toMatchObject({ code: 'TC220' });
    expect(bytes().length).toBeLessThanOrEqual(2 * SEG);
  });

  it('a slow cloud gets its copy after put returned; close() says it landed', async () => {
    const dir = path.join(root.dir, 'slow');
    const drivers = localDrivers(dir);
    const slow = new FaultyDriver(drivers[3]!, 'slow', 150);
    const c = client([drivers[0]!, drivers[1]!, drivers[2]!, slow], 'depsky-ca', keys, {
      segmentBytes: SEG,
      lingerMs: 30_000,
    });
    const data = pattern(2 * SEG + 1, 5);
    const put = await c.put('doc', data);
    expect(put.acked).toEqual(['cloud0', 'cloud1', 'cloud2']);
    expect(put.pending).toEqual(['cloud3']);
    const closed = await c.close();
    expect(closed.stored).toContain('cloud3');
    expect(closed.unfinished).toEqual([]);
    // The late copy is complete: the other three clouds can all go and cloud3 still serves its block.
    const names = await fs.readdir(path.join(dir, 'cloud3', containerOf('doc')));
    expect(names).toEqual(expect.arrayContaining(['metadata', 'value1.a1.m', 'value1.a1.s2']));
  });
});

/**
 * A cloud whose first put of segment 0 keeps the block it was given until the test lets it go, whatever its caller
 * says (an upload that cannot be cancelled). With `refuseSecond`, its put of segment 1 fails: the writer drops the
 * cloud while that put is still reading its block. Without, a retry of segment 0 (the first attempt timed out)
 * stores it. Every other call goes to the real local-directory driver behind.
 */
class StuckUploadDriver extends LocalDirectoryDriver {
  constructor(
    cloud: string,
    root: string,
    private readonly refuseSecond: boolean,
  ) {
    super(cloud, root);
  }

  held: { payload: Uint8Array; copy: Buffer } | undefined;
  private open: () => void = () => {};
  private readonly gate = new Promise<void>((r) => {
    this.open = r;
  });
  private onHold: () => void = () => {};
  /** Resolves once the put of segment 0 holds its block. */
  readonly holding = new Promise<void>((r) => {
    this.onHold = r;
  });

  release(): void {
    this.open();
  }

  override async put(container: string, name: string, payload: Payload, o?: CallOptions): Promise<void> {
    if (this.refuseSecond && name.endsWith('.s1')) throw new PermanentDriverError('refused');
    if (!name.endsWith('.s0') || !(payload instanceof Uint8Array) || this.held)
      return super.put(container, name, payload, o);
    this.held = { payload, copy: Buffer.from(payload) };
    this.onHold();
    await this.gate;
    return super.put(container, name, payload, {});
  }
}

describe('buffers reused from one operation to the next', () => {
  /** Large enough that the encoded segments and blocks go back to the process's pool of shared buffers. */
  const POOLED_SEG = 1 << 20;

  /** More writes in the same process, of segments of the same size: they take whatever buffers the pool has. */
  async function moreWrites(drivers: LocalDirectoryDriver[], seeds: number[]): Promise<void> {
    for (const seed of seeds) {
      const other = client(drivers, 'depsky-ca', keys, { segmentBytes: POOLED_SEG });
      await other.put(`other${seed}`, pattern(4 * POOLED_SEG, seed));
      await other.close();
    }
  }

  it('a block still read by a cut upload is never handed to the next write', async () => {
    expect(await startDigestThread()).toBe(true);
    const dir = path.join(root.dir, 'stuck');
    const drivers = localDrivers(dir);
    const stuck = new StuckUploadDriver('cloud3', path.join(dir, 'cloud3'), true);
    const c = client([drivers[0]!, drivers[1]!, drivers[2]!, stuck], 'depsky-ca', keys, { segmentBytes: POOLED_SEG });
    const first = await c.put('first', pattern(3 * POOLED_SEG, 21));
    expect(first.acked).toEqual(['cloud0', 'cloud1', 'cloud2']);
    await stuck.holding;
    await moreWrites(drivers, [22, 23]);
    // The cut upload's block is what it was given: its memory did not become another segment's.
    expect(Buffer.from(stuck.held!.payload).equals(stuck.held!.copy)).toBe(true);
    stuck.release();
    await c.close();
    const reader = client(drivers, 'depsky-ca', keys);
    expect(Buffer.from((await reader.get('first')).bytes).equals(Buffer.from(pattern(3 * POOLED_SEG, 21)))).toBe(true);
  });

  it('a block an abandoned attempt still reads is never reused, although the retry stored it', async () => {
    expect(await startDigestThread()).toBe(true);
    const dir = path.join(root.dir, 'retried');
    const drivers = localDrivers(dir);
    const stuck = new StuckUploadDriver('cloud3', path.join(dir, 'cloud3'), false);
    // The first attempt is given up on after its timeout; the second stores the block and the put succeeds.
    const c = client([drivers[0]!, drivers[1]!, drivers[2]!, stuck], 'depsky-ca', keys, {
      segmentBytes: POOLED_SEG,
      retry: { attempts: 2, backoffMs: 10, timeoutMs: 300 },
      // close() returns as soon as cloud3's late copy landed; this is only its bound.
      lingerMs: 30_000,
    });
    const data = pattern(3 * POOLED_SEG, 31);
    await c.put('retried', data);
    expect((await c.close()).stored).toContain('cloud3');
    await moreWrites(drivers, [32, 33]);
    expect(Buffer.from(stuck.held!.payload).equals(stuck.held!.copy)).toBe(true);
    stuck.release();
    const reader = client(drivers, 'depsky-ca', keys);
    expect(Buffer.from((await reader.get('retried')).bytes).equals(Buffer.from(data))).toBe(true);
  });

  it('concurrent streamed writes and reads in one process, through buffers, files and streams, all read back equal', async () => {
    expect(await startDigestThread()).toBe(true);
    const dir = path.join(root.dir, 'concurrent');
    const drivers = localDrivers(dir);
    const c = client(drivers, 'depsky-ca', keys, { segmentBytes: POOLED_SEG });
    // The first is read into one result buffer of shared memory (8 MiB or more) that the cipher thread opens into.
    const sizes = [9 * POOLED_SEG + 5, 2 * POOLED_SEG, 5 * POOLED_SEG - 1, POOLED_SEG + 1];
    const objects = sizes.map((size, i) => ({ du: `obj${i}`, data: pattern(size, 40 + i) }));
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        objects.map(async ({ du, data }, i) => {
          if (i % 2 === 0) await c.put(du, data);
          else await c.put(du, { stream: Readable.from([Buffer.from(data)]) });
        }),
      );
      await Promise.all(
        objects.map(async ({ du, data }, i) => {
          if (i % 2 === 0) {
            expect(Buffer.from((await c.get(du)).bytes).equals(Buffer.from(data))).toBe(true);
            return;
          }
          const out = path.join(dir, `${du}.out`);
          await c.getToFile(du, out);
          expect((await fs.readFile(out)).equals(Buffer.from(data))).toBe(true);
        }),
      );
    }
    await c.close();
  });
});

describe('format compatibility and maintenance', () => {
  it('objects written in the old format still read; gc removes old segments too', async () => {
    const dir = path.join(root.dir, 'compat');
    const drivers = localDrivers(dir);
    const old = client(drivers, 'depsky-ca', keys, { caFormat: 1 });
    const v1 = pattern(300_000, 9);
    await old.put('doc', v1);
    await old.close();
    const metaFile = path.join(dir, 'cloud0', containerOf('doc'), 'metadata');
    expect(JSON.parse(await fs.readFile(metaFile, 'utf8')).meta.format).toBe(1);
    const c = client(drivers, 'depsky-ca', keys, { segmentBytes: SEG });
    expect(Buffer.from((await c.get('doc')).bytes).equals(Buffer.from(v1))).toBe(true);
    // A new version is streamed; both kinds of files coexist until gc.
    const v2 = pattern(3 * SEG, 10);
    await c.put('doc', v2);
    const v3 = pattern(2 * SEG, 11);
    await c.put('doc', v3);
    await c.close();
    expect(Buffer.from((await c.get('doc')).bytes).equals(Buffer.from(v3))).toBe(true);
    const gc = await c.gc('doc', 1);
    expect(gc.removed).toBe(4 * (1 + 3 + 1));
    const left = await fs.readdir(path.join(dir, 'cloud0', containerOf('doc')));
    expect(left.sort()).toEqual(['metadata', 'value3.a1.m', 'value3.a1.s0', 'value3.a1.s1']);
    expect(Buffer.from((await c.get('doc')).bytes).equals(Buffer.from(v3))).toBe(true);
  });

  it('a manifest lists one digest per segment and the share of its cloud', async () => {
    const dir = path.join(root.dir, 'manifest');
    const drivers = localDrivers(dir);
    const c = client(drivers, 'depsky-ca', keys, { segmentBytes: SEG });
    await c.put('doc', pattern(5 * SEG, 2));
    await c.close();
    for (let i = 0; i < 4; i++) {
      const m = parseManifest((await drivers[i]!.get(containerOf('doc'), 'value1.a1.m'))!)!;
      expect(m).toMatchObject({ cloud: i, segments: 5 });
      expect(m.digests).toHaveLength(5 * 32);
      expect(m.share.length).toBeGreaterThan(32);
    }
  });
});

describe('the pure schedulers', () => {
  it('upload: bounded items held, quorum once, a failing cloud dropped, f+1 failures fail', () => {
    const s = new UploadSchedule(4, 1, 3, 1);
    let acts = s.addSegment();
    expect(acts.filter((a) => a.type === 'put')).toHaveLength(4);
    acts = [...s.addSegment(), ...s.addSegment()];
    expect(s.wantsSegment()).toBe(false);
    expect(s.heldItems).toBe(3);
    // Three clouds store everything; cloud 3 is stuck: it alone holds memory up.
    for (const item of [0, 1, 2]) for (const c of [0, 1, 2]) s.result(item, c, true);
    expect(s.laggards()).toEqual([3]);
    acts = s.dropLaggards([3]);
    expect(acts.some((a) => a.type === 'drop' && a.cloud === 3)).toBe(true);
    expect(s.wantsSegment()).toBe(true);
    acts = s.end();
    for (const c of [0, 1]) acts.push(...s.result(3, c, true));
    expect(acts.some((a) => a.type === 'quorum')).toBe(false);
    acts = s.result(3, 2, true);
    expect(acts.find((a) => a.type === 'quorum')).toEqual({ type: 'quorum', clouds: [0, 1, 2] });
    const t = new UploadSchedule(4, 1);
    t.addSegment();
    t.result(0, 0, false, 'down');
    expect(t.result(0, 1, false, 'down').some((a) => a.type === 'fail')).toBe(true);
  });

  it('fetch: k clouds at first, one more per failure, lost when none is left', () => {
    const f = new SegmentFetch(7, 2, [1, 2, 0, 3]);
    expect(f.launch()).toEqual([1, 2]);
    expect(f.result(1, 'digest mismatch')).toEqual([0]);
    expect(f.result(2)).toEqual([]);
    expect(f.result(0, 'missing')).toEqual([3]);
    expect(f.result(3, 'missing')).toEqual([]);
    expect(f.lost).toBe(true);
  });
});

describe('bounded memory', () => {
  it('a 192 MiB round trip through files peaks under 300 MB RSS (own process)', async () => {
    const dir = path.join(root.dir, 'rss');
    await fs.mkdir(dir, { recursive: true });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(repo, 'bench', 'storage-rss.ts'), dir],
      { env: { ...process.env, STORAGE_RSS_BYTES: String(192 << 20) }, cwd: repo, maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { equal: boolean; peakRssBytes: number };
    expect(r.equal).toBe(true);
    expect(r.peakRssBytes).toBeLessThan(300e6);
  }, 180_000);
});
