/**
 * The digest thread (components/storage/crypto/digest-thread.ts): the same SHA-256 as node:crypto for every range,
 * whether the buffer is moved to the thread and back (large, whole buffers) or hashed here (small ones, views into
 * a larger buffer, which must never be detached since their neighbours belong to someone else), and shared memory
 * hashed in place, spread over the threads, staying usable.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DIGEST_THREADS,
  digestRanges,
  digestShared,
  OFF_THREAD_MIN_BYTES,
  sharedBytes,
  startDigestThread,
  touchShared,
} from '../../components/storage/crypto/digest-thread.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('digest thread', () => {
  it('gives node:crypto digests for random ranges, moving whole large buffers and back', async () => {
    expect(await startDigestThread()).toBe(true);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: OFF_THREAD_MIN_BYTES, max: 3 * OFF_THREAD_MIN_BYTES }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 5 }),
        async (size, cuts) => {
          const bytes = new Uint8Array(randomBytes(size));
          const copy = Buffer.from(bytes);
          const ranges = cuts.map(([a, b]) => {
            const o = a % size;
            return [o, b % (size - o + 1)] as const;
          });
          // Two at once: both digest threads get one.
          const other = new Uint8Array(randomBytes(size));
          const otherDigest = sha(other);
          const [r, o] = await Promise.all([
            digestRanges(bytes, ranges, DIGEST_THREADS),
            digestRanges(other, [[0, size]], DIGEST_THREADS),
          ]);
          expect(hex(o.digests[0]!)).toBe(otherDigest);
          // Moved: the old view is detached, the returned one holds the same bytes.
          expect(bytes.byteLength).toBe(0);
          expect(Buffer.from(r.bytes).equals(copy)).toBe(true);
          expect(r.digests.map(hex)).toEqual(ranges.map(([o, l]) => sha(copy.subarray(o, o + l))));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('hashes small buffers and views of larger ones here, leaving them attached', async () => {
    expect(await startDigestThread()).toBe(true);
    const whole = new Uint8Array(randomBytes(4 * OFF_THREAD_MIN_BYTES));
    const view = whole.subarray(OFF_THREAD_MIN_BYTES);
    const r = await digestRanges(view, [[0, view.length]], 2);
    expect(whole.byteLength).toBe(4 * OFF_THREAD_MIN_BYTES);
    expect(r.bytes).toBe(view);
    expect(hex(r.digests[0]!)).toBe(sha(view));
    const small = new Uint8Array(randomBytes(1000));
    const s = await digestRanges(small, [[0, 1000]], 2);
    expect(s.bytes).toBe(small);
    expect(hex(s.digests[0]!)).toBe(sha(small));
    const here = new Uint8Array(randomBytes(2 * OFF_THREAD_MIN_BYTES));
    const h = await digestRanges(here, [[5, 100]], 0);
    expect(here.byteLength).toBe(2 * OFF_THREAD_MIN_BYTES);
    expect(hex(h.digests[0]!)).toBe(sha(here.subarray(5, 105)));
  });

  it('hashes shared memory in place over both threads, leaving it usable', async () => {
    expect(await startDigestThread()).toBe(true);
    const bytes = sharedBytes(4 * OFF_THREAD_MIN_BYTES + 7);
    bytes.set(randomBytes(bytes.length));
    const ranges = [0, 1, 2, 3].map(
      (i) => [i * OFF_THREAD_MIN_BYTES, OFF_THREAD_MIN_BYTES + (i === 3 ? 7 : 0)] as const,
    );
    const digests = await digestShared(bytes, ranges, DIGEST_THREADS);
    expect(bytes.byteLength).toBe(4 * OFF_THREAD_MIN_BYTES + 7);
    expect(digests.map(hex)).toEqual(ranges.map(([o, l]) => sha(bytes.subarray(o, o + l))));
    const r = await digestRanges(bytes, [[3, 1000]], DIGEST_THREADS);
    expect(r.bytes).toBe(bytes);
    expect(hex(r.digests[0]!)).toBe(sha(bytes.subarray(3, 1003)));
  });

  it('maps pages of shared memory on a thread while this one writes them, losing no byte written here', async () => {
    expect(await startDigestThread()).toBe(true);
    // Odd sizes and offsets: the last partial page and views that do not start on a page.
    for (const size of [(8 << 20) + 13, 3 * 4096 + 1]) {
      const whole = sharedBytes(size + 7);
      const view = whole.subarray(7);
      const pattern = new Uint8Array(randomBytes(size));
      // This thread writes every other 64 KiB slice while the thread touches every page of the view.
      const touched = touchShared(view, [[0, size]]);
      for (let o = 0; o < size; o += 128 << 10) view.set(pattern.subarray(o, o + (64 << 10)), o);
      // Every page of the view was touched (the stride is the page size; the partial last one too).
      expect(await touched).toBe(Math.ceil((size + 7 - 4) / 4 / 1024));
      for (let o = 64 << 10; o < size; o += 128 << 10) view.set(pattern.subarray(o, o + (64 << 10)), o);
      expect(Buffer.from(view).equals(Buffer.from(pattern))).toBe(true);
      // The 7 bytes before the view were never written.
      expect([...whole.subarray(0, 7)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    }
    // Memory that is not shared: nothing to do, nothing changed.
    const plain = new Uint8Array(randomBytes(OFF_THREAD_MIN_BYTES));
    const copy = Buffer.from(plain);
    expect(await touchShared(plain, [[0, plain.length]])).toBe(0);
    expect(Buffer.from(plain).equals(copy)).toBe(true);
  });

  it('touches pages past 2 GiB (a result buffer of a large object), and the thread keeps hashing after', async () => {
    expect(await startDigestThread()).toBe(true);
    // Only the pages touched are ever mapped: the 2 GiB before them cost nothing.
    const big = sharedBytes(2 ** 31 + (1 << 20));
    const tail = big.subarray(2 ** 31);
    tail[5] = 42;
    expect(await touchShared(tail, [[0, 1 << 20]])).toBe(256);
    expect(tail[5]).toBe(42);
    const bytes = sharedBytes(OFF_THREAD_MIN_BYTES);
    bytes.set(randomBytes(bytes.length));
    const [d] = await digestShared(bytes, [[0, bytes.length]], DIGEST_THREADS);
    expect(hex(d!)).toBe(sha(bytes));
  });
});
