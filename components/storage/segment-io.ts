/**
 * Where the segments of a streamed DepSky-CA object come from and go to: a buffer, a file or a stream, cut into
 * SEGMENT_BYTES pieces with one segment of look-ahead (the writer must know which segment is the last one), and
 * the stage timers that `bench/storage.ts` reads to say where a write or a read spends its time.
 */

import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { sharedBytes } from './crypto/digest-thread.js';
import { giveShared, takeShared } from './crypto/shared-pool.js';
import { ENCODE_AHEAD } from './protocol/segments.js';

/** Milliseconds spent per stage (encrypt, erasure, hash, read, write, wait...), summed over segments. */
export type StageProfile = Record<string, number>;

/** Add the time `fn` took to `stage` of `profile` (no-op without a profile). */
export function timed<T>(profile: StageProfile | undefined, stage: string, fn: () => T): T {
  if (!profile) return fn();
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    profile[stage] = (profile[stage] ?? 0) + performance.now() - t0;
  }
}

export async function timedAsync<T>(profile: StageProfile | undefined, stage: string, p: Promise<T>): Promise<T> {
  if (!profile) return p;
  const t0 = performance.now();
  try {
    return await p;
  } finally {
    profile[stage] = (profile[stage] ?? 0) + performance.now() - t0;
  }
}

export interface Segment {
  bytes: Uint8Array;
  last: boolean;
}

/** Segments of an object in order; `next()` is undefined after the last one (at once for an empty object). */
export interface SegmentSource {
  next(): Promise<Segment | undefined>;
  /** Stop reading the input (a pending next() ends); the segments handed out stay valid. May be called again. */
  close(): Promise<void>;
  /** Give the segments' memory back (wiped): only once nothing reads a segment any more, after close(). */
  release(): void;
}

/** Views of a buffer: no copy. */
export function bufferSource(data: Uint8Array, segmentBytes: number): SegmentSource {
  let at = 0;
  return {
    async next() {
      if (at >= data.length) return undefined;
      const end = Math.min(data.length, at + segmentBytes);
      const bytes = data.subarray(at, end);
      at = end;
      return { bytes, last: end >= data.length };
    },
    async close() {},
    release() {},
  };
}

/** A file read at known offsets, one segment read ahead in the thread pool while the caller encodes. */
export async function fileSource(file: string, segmentBytes: number): Promise<SegmentSource> {
  const h: FileHandle = await fs.open(file, 'r');
  const size = (await h.stat()).size;
  let offset = 0;
  // Buffers in turn: the one being read ahead, and those the caller still encodes (ENCODE_AHEAD at most), plus one.
  // Pooled shared memory: the cipher thread seals straight from it (stream-write.ts).
  const ring = Array.from({ length: ENCODE_AHEAD + 2 }, () => takeShared(Math.min(segmentBytes, size)));
  let turn = 0;
  const readAt = async (pos: number): Promise<Segment | undefined> => {
    if (pos >= size) return undefined;
    const length = Math.min(segmentBytes, size - pos);
    const bytes = ring[turn++ % ring.length]!.subarray(0, length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await h.read(bytes, got, length - got, pos + got);
      if (bytesRead === 0) throw new Error(`${file} shrank while being stored`);
      got += bytesRead;
    }
    return { bytes, last: pos + length >= size };
  };
  let ahead: Promise<Segment | undefined> | undefined;
  return {
    async next() {
      const current = ahead ?? readAt(offset);
      const seg = await current;
      if (seg) offset += seg.bytes.length;
      ahead = seg && !seg.last ? readAt(offset) : undefined;
      // A read ahead that fails is reported by the next call; do not let it go unhandled meanwhile.
      ahead?.catch(() => {});
      return seg;
    },
    async close() {
      await ahead?.catch(() => {});
      await h.close();
    },
    release() {
      for (const b of ring.splice(0)) giveShared(b, true);
    },
  };
}

/**
 * A stream (standard input, an HTTP body) cut into segments. A segment is handed out as soon as it is full and the
 * next byte arrived (or the input ended, which makes it the last): the clouds receive it while the rest is still
 * coming. Segments are copied into buffers used in turn, as fileSource does (those the caller still encodes,
 * ENCODE_AHEAD at most, plus the one being filled, plus one): a long upload allocates them once instead of once per
 * segment, which would keep the garbage collector busy with external memory.
 */
export function streamSource(input: Readable, segmentBytes: number): SegmentSource {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  /** Received bytes not yet in a segment. */
  let carry: Uint8Array = new Uint8Array(0);
  let ended = false;
  const ring: Uint8Array[] = [];
  let turn = 0;
  /** Makes `carry` non-empty unless the input ended; says which. */
  const more = async (): Promise<boolean> => {
    while (carry.length === 0 && !ended) {
      const r = await it.next();
      if (r.done) ended = true;
      else carry = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
    return carry.length > 0;
  };
  return {
    async next() {
      const parts: Uint8Array[] = [];
      let got = 0;
      while (got < segmentBytes && (await more())) {
        const take = Math.min(carry.length, segmentBytes - got);
        parts.push(carry.subarray(0, take));
        carry = carry.subarray(take);
        got += take;
      }
      if (got === 0) return undefined;
      // Not zero-filled: every byte handed out is copied over first. A short segment is the last one (the input
      // ended): it gets its exact size, so a small object never costs a whole segment's memory.
      let bytes: Uint8Array;
      if (got < segmentBytes) bytes = Buffer.allocUnsafeSlow(got);
      else {
        const slot = turn++ % (ENCODE_AHEAD + 2);
        ring[slot] ??= takeShared(segmentBytes);
        bytes = ring[slot]!;
      }
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      return { bytes, last: !(await more()) };
    },
    async close() {
      await it.return?.();
    },
    release() {
      for (const b of ring.splice(0)) giveShared(b, true);
    },
  };
}

/** Where verified plaintext goes, in order. */
export interface SegmentSink {
  write(bytes: Uint8Array): Promise<void>;
  /**
   * The memory where bytes [offset, offset + length) of the object end up, when the sink is one buffer: the reader
   * opens segments straight into it (no copy), and write() of that very view only records it.
   */
  at?(offset: number, length: number): Uint8Array;
  /** The sink is done with the bytes once write() resolved (a file): the reader may reuse that memory. */
  readonly reuses?: boolean;
}

/** Write to a stream, waiting for it to drain (bounded memory even when stdout is slow). */
export function writableSink(out: Writable): SegmentSink {
  return {
    write(bytes) {
      if (out.write(bytes)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const settle = (e?: Error) => {
          out.off('drain', onDrain);
          out.off('error', onError);
          out.off('close', onClose);
          if (e) reject(e);
          else resolve();
        };
        const onDrain = () => settle();
        const onError = (e: Error) => settle(e);
        // Closed without an error (the reader went away): it will never drain.
        const onClose = () => settle(new Error('the output was closed'));
        out.once('drain', onDrain);
        out.once('error', onError);
        out.once('close', onClose);
      });
    },
  };
}

/**
 * Write to a stream that calls a write back only once it is done with the bytes (a socket, an HTTP response: the
 * kernel has them), waiting for that callback: the reader may then reuse the memory (`reuses`), and one write at a
 * time is the backpressure. Not for a stream that hands the chunk itself on (a PassThrough): use writableSink. The
 * stream's 'error' events are taken here: its failures reach the reader through the rejected write.
 */
export function flushedSink(out: Writable): SegmentSink {
  // A failed write is reported to its callback, then emitted as 'error': the reader learns it from the first
  // (its write rejects); the second must not go unhandled (a client that went away would end the process).
  out.on('error', () => {});
  return {
    reuses: true,
    write(bytes) {
      return new Promise<void>((resolve, reject) => {
        out.write(bytes, (e) => (e ? reject(e) : resolve()));
      });
    },
  };
}

/** Sequential writes to an open file. */
export function fileSink(h: FileHandle): SegmentSink {
  let position = 0;
  return {
    reuses: true,
    async write(bytes) {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await h.write(bytes, done, bytes.length - done, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    },
  };
}

/**
 * Objects of at least this size are read into shared memory, where the cipher thread opens their segments
 * (openOnThread); below it the whole object is a segment or two and the hand-off is not worth it.
 */
export const SHARED_SINK_MIN_BYTES = 8 << 20;

/**
 * Into one buffer of the object's (signed) size: the in-memory get. A large object's buffer is shared memory (a
 * Uint8Array like any other to its user; its `buffer` is a SharedArrayBuffer).
 */
export function bufferSink(size: number): SegmentSink & { bytes: Uint8Array } {
  const bytes = size >= SHARED_SINK_MIN_BYTES ? sharedBytes(size) : new Uint8Array(size);
  let at = 0;
  return {
    bytes,
    at(offset, length) {
      return bytes.subarray(offset, offset + length);
    },
    async write(b) {
      if (at + b.length > size) throw new Error('object larger than its signed size');
      // Opened in place (at()): already there.
      if (b.buffer !== bytes.buffer || b.byteOffset !== bytes.byteOffset + at) bytes.set(b, at);
      at += b.length;
    },
  };
}
