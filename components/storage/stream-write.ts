/**
 * The shell of a streamed DepSky-CA write (protocol/segments.ts has the format and the scheduler): read a
 * segment, seal it (AES-256-GCM, nonce and AAD bound to its index), erasure-code it into n blocks, hash the
 * blocks, and hand it to the UploadSchedule, which says which cloud stores what and when a segment's memory can
 * go. Reading, sealing and the clouds' puts overlap: the clouds receive data while the source is still read.
 *
 * `quorum` resolves when n-f clouds hold every segment and their manifest; clouds still catching up then go on
 * in the background (`cloudDone(c)`), bounded by the caller (DepSkyClient.close, LATE_COPY_MS).
 */
import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { StorageCode } from './codes.js';
import { digestShared, isShared, sealOnThread } from './crypto/digest-thread.js';
import { blockSize, encodeParity } from './crypto/erasure.js';
import { generateSecretKey, SEGMENT_AEAD_OVERHEAD, sealSegmentInto, shareSecret } from './crypto/primitives.js';
import { giveShared, takeShared } from './crypto/shared-pool.js';
import type { CloudDriver } from './drivers/types.js';
import { manifestFile, segmentFile } from './protocol/names.js';
import {
  encodeManifest,
  LAGGARD_GRACE_MS,
  segmentAad,
  segmentNonce,
  type UploadAction,
  UploadSchedule,
} from './protocol/segments.js';
import type { Version } from './protocol/types.js';
import { type SegmentSource, type StageProfile, timed, timedAsync } from './segment-io.js';

export interface StreamedWriteParams {
  du: string;
  container: string;
  version: Version;
  f: number;
  drivers: readonly CloudDriver[];
  source: SegmentSource;
  segmentBytes: number;
  signal?: AbortSignal;
  profile?: StageProfile;
  /** Called after each stored item: `done` puts of `total` (total is known once the source ended). */
  onPut?: (done: number) => void;
}

export interface StreamedQuorum {
  /** Plaintext bytes read from the source. */
  size: number;
  /** SHA-256 of each cloud's manifest (the signed metadata's digests). */
  digests: string[];
  /** Clouds that hold every file of the version. */
  stored: number[];
  failed: { cloud: number; reason: string }[];
  /** Bytes stored on each cloud (blocks and manifest). */
  bytesPerCloud: number;
}

export interface StreamedWrite {
  quorum: Promise<StreamedQuorum>;
  /** Resolves true when `cloud` stored every file, false when it dropped out or the write was stopped. */
  cloudDone(cloud: number): Promise<boolean>;
  /** Stop every put still running (the caller's bound on late copies ran out, or the write failed). */
  stop(reason: string): void;
}

/**
 * Digest threads a writer spreads a segment's blocks over: one, the first (the last one seals: digest-thread.ts).
 * The hashing does not gate the puts (below), only the manifests at the end, so one thread hashing beside the
 * sealing and coding keeps up; spreading it over both made writes slower on a 2-core machine (2.9-3.2x a plain
 * copy against 2.8-2.9x).
 */
const WRITE_DIGEST_THREADS = 1;

/**
 * Segments being hashed at once: hashing one takes about as long as sealing and coding the next, so more would
 * only hold more buffers (peak memory).
 */
const HASH_AHEAD = 2;

/** One encoded segment: its buffer, the n blocks (views of it) and their digests, still being computed. */
interface EncodedSegment {
  all: Uint8Array;
  blocks: Uint8Array[];
  digests: Promise<Uint8Array[]>;
}

/**
 * Seal and erasure-code one segment into n blocks laid out back to back in one buffer (data blocks first), and
 * start hashing the blocks. The cipher thread seals straight into a pooled buffer (shared-pool.ts: no copy, no
 * fresh memory once the process wrote a segment of this size before) and this thread codes the parity into it; a
 * digest thread reads the shared buffer in place, so the blocks go to the clouds at once, while they are hashed and
 * while the next segment is sealed and coded: the digests are only needed for the manifests, stored after every
 * segment.
 */
async function encodeSegment(
  p: StreamedWriteParams,
  key: KeyObject,
  index: number,
  plain: Uint8Array,
  last: boolean,
): Promise<EncodedSegment> {
  const n = p.drivers.length;
  const k = p.f + 1;
  const sealedLength = plain.length + SEGMENT_AEAD_OVERHEAD;
  const bs = blockSize(sealedLength, k);
  const aad = segmentAad(p.du, p.version, index, last);
  const nonce = segmentNonce(index);
  const all = takeShared(n * bs);
  // An object of one segment is sealed and hashed here: for a small object the hand-off costs more than it saves.
  const single = index === 0 && last;
  const onThread = !single && (await timedAsync(p.profile, 'encrypt', sealShared(plain, key, nonce, aad, all)));
  if (!onThread) timed(p.profile, 'encrypt', () => sealSegmentInto(plain, key, nonce, aad, all));
  // The padding after the sealed bytes is part of the data blocks (and their digests): zero, whatever the buffer held.
  all.fill(0, sealedLength, k * bs);
  const views = (b: Uint8Array) => Array.from({ length: n }, (_, i) => b.subarray(i * bs, (i + 1) * bs));
  timed(p.profile, 'erasure', () => encodeParity(views(all), n, k));
  const ranges = Array.from({ length: n }, (_, i) => [i * bs, bs] as const);
  const digests = digestShared(all, ranges, single ? 0 : WRITE_DIGEST_THREADS);
  digests.catch(() => {});
  return { all, blocks: views(all), digests };
}

/**
 * Seal `plain` into `out` on the cipher thread (sealOnThread); plaintext that is not shared memory (the caller's
 * buffer) is copied into a pooled shared buffer first (wiped when it goes back), a copy that costs a fraction of
 * the sealing it moves off this thread. False when the thread cannot take it (the caller seals here).
 */
async function sealShared(
  plain: Uint8Array,
  key: KeyObject,
  nonce: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
): Promise<boolean> {
  const staged = isShared(plain) ? undefined : takeShared(plain.length);
  staged?.set(plain);
  try {
    return (await sealOnThread({ plain: staged ?? plain, key, nonce, aad, out })) === true;
  } finally {
    // The thread is done with it (answered, or gone: a thread that died reads nothing any more).
    if (staged) giveShared(staged, true);
  }
}

/** A deferred promise: resolved or rejected from outside. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One streamed write: the UploadSchedule's actions carried out against the drivers, fed by `produce`. */
class StreamedWriter implements StreamedWrite {
  private readonly n: number;
  private readonly sched: UploadSchedule;
  private readonly items = new Map<number, readonly Uint8Array[]>();
  /** The one buffer each held segment's blocks are views of, until it goes back to the pool. */
  private readonly buffers = new Map<number, Uint8Array>();
  /** Puts of each item that have not settled: its buffer goes back only when none is left (see release). */
  private readonly putsRunning = new Map<number, number>();
  /** Items no cloud needs any more, whose buffers go back once their puts settled and their blocks are hashed. */
  private readonly freed = new Set<number>();
  /**
   * Items a put of which failed, or had an attempt given up on: their buffers never go back. Such a put settled for
   * this writer, but the driver's own call may still be reading the block (ResilientDriver gives up on an attempt
   * without waiting for it, retries, and may succeed meanwhile; not every upload can be cancelled): that memory
   * must not become another segment's, or another object's.
   */
  private readonly tainted = new Set<number>();
  /** Each segment's block digests, in order (being computed by the digest threads). */
  private readonly digests: Promise<Uint8Array[]>[] = [];
  private readonly cloudCtl: AbortController[];
  private readonly cloudWaiters: ReturnType<typeof deferred<boolean>>[];
  private readonly bytesPerCloud: number[];
  /** The time each cloud last stored an item: a laggard is dropped only after LAGGARD_GRACE_MS without progress. */
  private readonly lastProgress: number[];
  private readonly q = deferred<StreamedQuorum>();
  private segments = 0;
  private size = 0;
  private manifestDigests: string[] = [];
  private stopped = false;
  private ended = false;
  private wake: (() => void) | undefined;
  private puts = 0;

  constructor(private readonly p: StreamedWriteParams) {
    this.n = p.drivers.length;
    this.sched = new UploadSchedule(this.n, p.f);
    this.cloudCtl = p.drivers.map(() => new AbortController());
    this.cloudWaiters = p.drivers.map(() => deferred<boolean>());
    this.bytesPerCloud = new Array<number>(this.n).fill(0);
    this.lastProgress = p.drivers.map(() => performance.now());
    // The quorum promise may be rejected before anyone awaits it (e.g. the source fails at once).
    this.q.promise.catch(() => {});
    p.signal?.addEventListener('abort', () => this.failWith(p.signal?.reason ?? new Error('aborted')), { once: true });
  }

  get quorum(): Promise<StreamedQuorum> {
    return this.q.promise;
  }

  cloudDone(cloud: number): Promise<boolean> {
    return this.cloudWaiters[cloud]!.promise;
  }

  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.cloudCtl) c.abort(new Error(reason));
    for (const w of this.cloudWaiters) w.resolve(false);
    this.items.clear();
    this.buffers.clear();
    this.wake?.();
  }

  private failWith(e: unknown): void {
    this.q.reject(e);
    this.stop(e instanceof Error ? e.message : String(e));
  }

  private apply(actions: UploadAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'put':
          this.startPut(a.item, a.cloud);
          break;
        case 'free':
          this.items.delete(a.item);
          this.freed.add(a.item);
          this.release(a.item);
          break;
        case 'drop':
          this.cloudCtl[a.cloud]!.abort(new Error(a.reason));
          this.cloudWaiters[a.cloud]!.resolve(false);
          break;
        case 'cloudDone':
          this.cloudWaiters[a.cloud]!.resolve(true);
          break;
        case 'quorum':
          this.q.resolve({
            size: this.size,
            digests: this.manifestDigests,
            stored: a.clouds,
            failed: this.sched.droppedClouds,
            bytesPerCloud: Math.max(...this.bytesPerCloud),
          });
          break;
        case 'fail':
          this.failWith(this.noQuorum(a.failed));
          break;
      }
    }
    this.wake?.();
  }

  private noQuorum(failed: { cloud: number; reason: string }[]): TcError {
    const why = failed.map((x) => `${this.p.drivers[x.cloud]!.cloud}: ${x.reason}`).join('; ');
    return new TcError(
      StorageCode.noQuorum,
      `only ${this.n - failed.length} of ${this.n} clouds could store the segments, ${this.n - this.p.f} needed (${why})`,
      { exit: ExitCode.unavailable, hint: 'at most f clouds may be down; the previous version stays readable' },
    );
  }

  /**
   * Give item `item`'s buffer back to the pool once no cloud needs it, every put of it settled and succeeded (see
   * `tainted`) and the digest threads are done with it. A write that stops gives back only what was released
   * before: the rest goes to the garbage collector, whoever may still read it.
   */
  private release(item: number): void {
    const b = this.buffers.get(item);
    if (b === undefined || !this.freed.has(item) || (this.putsRunning.get(item) ?? 0) > 0) return;
    this.buffers.delete(item);
    this.freed.delete(item);
    this.putsRunning.delete(item);
    if (this.tainted.has(item)) return;
    this.digests[item]?.then(
      () => giveShared(b),
      () => {},
    );
  }

  private startPut(item: number, cloud: number): void {
    const payload = this.items.get(item)?.[cloud];
    if (payload === undefined || this.stopped) return;
    // Item `segments` is the manifest once the source ended (segments are numbered from 0).
    const p = this.p;
    const name = this.ended && item === this.segments ? manifestFile(p.version) : segmentFile(p.version, item);
    // The directory is synced by the metadata put, which comes after every item of this cloud (see CallOptions).
    const o = {
      signal: this.cloudCtl[cloud]!.signal,
      deferDirectorySync: true,
      // An attempt given up on may still read the block after the put settled, even when a retry succeeded.
      onAbandoned: () => this.tainted.add(item),
    };
    this.putsRunning.set(item, (this.putsRunning.get(item) ?? 0) + 1);
    const settled = (ok: boolean) => {
      this.putsRunning.set(item, this.putsRunning.get(item)! - 1);
      if (!ok) this.tainted.add(item);
      this.release(item);
    };
    p.drivers[cloud]!.put(p.container, name, payload, o).then(
      () => {
        settled(true);
        if (this.stopped) return;
        this.bytesPerCloud[cloud]! += payload.length;
        this.lastProgress[cloud] = performance.now();
        p.onPut?.(++this.puts);
        this.apply(this.sched.result(item, cloud, true));
      },
      (e: unknown) => {
        settled(false);
        if (this.stopped) return;
        this.apply(this.sched.result(item, cloud, false, e instanceof Error ? e.message : String(e)));
      },
    );
  }

  /** Wait until a cloud stored something (or LAGGARD_GRACE_MS); drop the laggards that made no progress. */
  private async waitForClouds(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((r) => {
      this.wake = r;
      timer = setTimeout(r, LAGGARD_GRACE_MS);
    });
    clearTimeout(timer);
    this.wake = undefined;
    const now = performance.now();
    const stuck = this.sched.laggards().filter((c) => now - this.lastProgress[c]! >= LAGGARD_GRACE_MS);
    if (stuck.length > 0) this.apply(this.sched.dropLaggards(stuck));
  }

  /** Read, seal, encode and hand over segments (hashed in the background), then the manifests. */
  async produce(): Promise<void> {
    const { p, n } = this;
    const raw = generateSecretKey();
    const shares = await shareSecret(raw, n, p.f + 1);
    const key = createSecretKey(raw);
    raw.fill(0);
    for (;;) {
      if (this.stopped) return;
      if (!this.sched.wantsSegment()) {
        await timedAsync(p.profile, 'waitClouds', this.waitForClouds());
        continue;
      }
      // Memory bound: segments being hashed hold their buffers too; at most HASH_AHEAD of them.
      const behind = this.digests[this.segments - HASH_AHEAD];
      if (behind) await timedAsync(p.profile, 'hash', behind);
      const seg = await timedAsync(p.profile, 'read', p.source.next());
      if (this.stopped) return;
      if (seg === undefined) break;
      this.size += seg.bytes.length;
      const encoded = await encodeSegment(p, key, this.segments, seg.bytes, seg.last);
      if (this.stopped) return;
      this.addSegment(encoded);
      // Let the puts just started and those that finished move on before the next segment takes this thread.
      await new Promise<void>((r) => setImmediate(r));
    }
    if (this.stopped) return;
    const digests = await timedAsync(p.profile, 'hash', Promise.all(this.digests));
    if (!this.stopped) this.addManifests(shares, digests);
  }

  private addSegment(e: EncodedSegment): void {
    this.digests.push(e.digests);
    this.buffers.set(this.segments, e.all);
    this.items.set(this.segments++, e.blocks);
    this.apply(this.sched.addSegment());
  }

  private addManifests(shares: Uint8Array[], digests: Uint8Array[][]): void {
    const segments = this.segments;
    const manifests = shares.map((share, c) =>
      encodeManifest({ cloud: c, share, segments, digests: Buffer.concat(digests.map((d) => d[c]!)) }),
    );
    this.manifestDigests = timed(this.p.profile, 'hash', () =>
      manifests.map((m) => createHash('sha256').update(m).digest('hex')),
    );
    this.ended = true;
    this.items.set(segments, manifests);
    this.apply(this.sched.end());
  }

  /** Report a failed production (source error, abort) through the quorum promise. */
  fail(e: unknown): void {
    this.failWith(e);
  }
}

export function startStreamedWrite(p: StreamedWriteParams): StreamedWrite {
  const w = new StreamedWriter(p);
  w.produce()
    .catch((e: unknown) => w.fail(e))
    .finally(async () => {
      await p.source.close().catch(() => {});
      // Nothing seals from the source any more (produce awaits each segment's sealing): its memory may go back.
      p.source.release();
    });
  return w;
}
