/**
 * The digest thread (components/storage/crypto/digest-thread.ts): the same SHA-256 as node:crypto for every range,
 * whether the buffer is moved to the thread and back (large, whole buffers) or hashed here (small ones, views into
 * a larger buffer, which must never be detached since their neighbours belong to someone else), and shared memory
 * hashed in place, spread over the threads, staying usable; segments sealed and opened on the cipher thread with the
 * bytes of the same-thread code; and the pool of shared buffers that streamed operations reuse.
 */
import { createHash, createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DIGEST_THREADS,
  digestRanges,
  digestShared,
  OFF_THREAD_MIN_BYTES,
  openOnThread,
  sealOnThread,
  sharedBytes,
  startDigestThread,
} from '../../components/storage/crypto/digest-thread.js';
import { openSegment, SEGMENT_AEAD_OVERHEAD, sealSegmentInto } from '../../components/storage/crypto/primitives.js';
import {
  giveShared,
  SHARED_POOL_MAX_BYTES,
  SHARED_POOL_MIN_BYTES,
  sharedPoolBytes,
  takeShared,
} from '../../components/storage/crypto/shared-pool.js';
import { segmentNonce } from '../../components/storage/protocol/segments.js';

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

  it('seals like sealSegmentInto and opens what it sealed, k parts with the tag anywhere, on the cipher thread', async () => {
    expect(await startDigestThread()).toBe(true);
    const key = createSecretKey(randomBytes(32));
    await fc.assert(
      fc.asyncProperty(
        // Lengths around slice and part boundaries: the tag inside one part or across two, padding or none.
        fc.integer({ min: 0, max: (1 << 20) + 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat({ max: 1000 }),
        async (length, k, index) => {
          const plain = sharedBytes(length);
          plain.set(randomBytes(length));
          const nonce = segmentNonce(index);
          const aad = new TextEncoder().encode(`segment ${index}`);
          const sealed = length + SEGMENT_AEAD_OVERHEAD;
          const bs = Math.ceil(sealed / k);
          // The layout of an encoded segment: k data blocks back to back, zero padding after the sealed bytes.
          const all = sharedBytes(k * bs + 5);
          expect(await sealOnThread({ plain, key, nonce, aad, out: all })).toBe(true);
          const here = new Uint8Array(sealed);
          sealSegmentInto(plain, key, nonce, aad, here);
          expect(Buffer.from(all.subarray(0, sealed)).equals(here)).toBe(true);
          const parts = Array.from({ length: k }, (_, i) => all.subarray(i * bs, (i + 1) * bs));
          const out = sharedBytes(length + 3);
          expect(await openOnThread({ parts, sealed, key, nonce, aad, out })).toBe(true);
          expect(Buffer.from(out.subarray(0, length)).equals(Buffer.from(plain))).toBe(true);
          expect(Buffer.from(openSegment(parts, sealed, key, nonce, aad)).equals(Buffer.from(plain))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a changed byte, tag, AAD or nonce (false), and memory it cannot share (undefined); keeps serving', async () => {
    expect(await startDigestThread()).toBe(true);
    const key = createSecretKey(randomBytes(32));
    const plain = sharedBytes(3 << 20);
    plain.set(randomBytes(plain.length));
    const nonce = segmentNonce(7);
    const aad = new TextEncoder().encode('aad');
    const sealed = plain.length + SEGMENT_AEAD_OVERHEAD;
    const all = sharedBytes(sealed);
    expect(await sealOnThread({ plain, key, nonce, aad, out: all })).toBe(true);
    const out = sharedBytes(plain.length);
    const open = (o: { parts?: Uint8Array[]; aad?: Uint8Array; nonce?: Uint8Array; out?: Uint8Array }) =>
      openOnThread({
        parts: o.parts ?? [all],
        sealed,
        key,
        nonce: o.nonce ?? nonce,
        aad: o.aad ?? aad,
        out: o.out ?? out,
      });
    for (const at of [0, 1 << 20, sealed - 1]) {
      const bad = sharedBytes(sealed);
      bad.set(all);
      bad[at]! ^= 1;
      expect(await open({ parts: [bad] })).toBe(false);
    }
    expect(await open({ aad: new TextEncoder().encode('other') })).toBe(false);
    expect(await open({ nonce: segmentNonce(8) })).toBe(false);
    // An output too small, and parts too short for the tag: refused, not a crash of the thread.
    expect(await open({ out: sharedBytes(10) })).toBe(false);
    expect(await openOnThread({ parts: [all.subarray(0, 8)], sealed: 8, key, nonce, aad, out })).toBe(false);
    // Not shared: the caller does it on its own thread.
    expect(await open({ parts: [new Uint8Array(all)] })).toBeUndefined();
    expect(await open({ out: new Uint8Array(plain.length) })).toBeUndefined();
    expect(await sealOnThread({ plain: new Uint8Array(10), key, nonce, aad, out: sharedBytes(26) })).toBeUndefined();
    // The same thread still opens and hashes.
    expect(await open({})).toBe(true);
    expect(Buffer.from(out).equals(Buffer.from(plain))).toBe(true);
    const [d] = await digestShared(all, [[0, all.length]], DIGEST_THREADS);
    expect(hex(d!)).toBe(sha(all));
  });
});

describe('shared buffer pool', () => {
  it('hands back what it was given, smaller takes from larger memory, wipes plaintext, stays bounded', () => {
    const size = SHARED_POOL_MIN_BYTES + 3;
    const before = sharedPoolBytes();
    const a = takeShared(size);
    a.fill(7);
    giveShared(a);
    const again = takeShared(size);
    expect(again.buffer).toBe(a.buffer);
    // Ciphertext comes back as it was (every user overwrites it); plaintext comes back zeroed.
    expect(again[0]).toBe(7);
    giveShared(again, true);
    const wiped = takeShared(size);
    expect(wiped.buffer).toBe(a.buffer);
    expect(wiped.every((b) => b === 0)).toBe(true);
    // A smaller take gets the start of larger idle memory; given back, the whole of it is idle again.
    wiped.fill(9);
    giveShared(wiped);
    const small = takeShared(SHARED_POOL_MIN_BYTES);
    expect(small.buffer).toBe(a.buffer);
    expect(small.length).toBe(SHARED_POOL_MIN_BYTES);
    giveShared(small);
    expect(sharedPoolBytes()).toBe(before + size);
    // Refused: a view that does not start its memory, a view of shared memory the pool never handed out, memory
    // that is not shared, small memory, and memory given twice (kept once).
    const foreign = sharedBytes(size * 2);
    giveShared(foreign.subarray(1));
    giveShared(foreign.subarray(0, size));
    giveShared(new Uint8Array(size));
    giveShared(sharedBytes(SHARED_POOL_MIN_BYTES - 1));
    giveShared(small);
    expect(sharedPoolBytes()).toBe(before + size);
    expect(takeShared(size).buffer).toBe(a.buffer);
    expect(takeShared(size).buffer).not.toBe(a.buffer);
    // Never more than the bound idle: the oldest go.
    const count = Math.floor(SHARED_POOL_MAX_BYTES / size) + 3;
    const many = Array.from({ length: count }, () => takeShared(size));
    for (const b of many) giveShared(b);
    expect(sharedPoolBytes()).toBeLessThanOrEqual(SHARED_POOL_MAX_BYTES);
    expect(takeShared(size).buffer).toBe(many.at(-1)!.buffer);
  });
});
