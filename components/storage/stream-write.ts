/**
 * The shell of a streamed DepSky-CA write (protocol/segments.ts has the format and the scheduler): read a
 * segment, seal it (AES-256-GCM, nonce and AAD bound to its index), erasure-code it into n blocks, hash the
 * blocks, and hand it to the UploadSchedule, which says which cloud stores what and when a segment's memory can
 * go. Reading, sealing and the clouds' puts overlap: the clouds receive data while the source is still read.
 *
 * `quorum` resolves when n-f clouds hold every segment and their manifest; clouds still catching up then go on
 * in the background (`cloudDone(c)`), bounded by the caller (DepSkyClient.close, LATE_COPY_MS).
 */
import { createHash, webcrypto } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { StorageCode } from './codes.js';
import { blockSize, encodeParity } from './crypto/erasure.js';
import { generateSecretKey, SEGMENT_AEAD_OVERHEAD, shareSecret } from './crypto/primitives.js';
import type { CloudDriver } from './drivers/types.js';
import { manifestFile, segmentFile } from './protocol/names.js';
import {
  ENCODE_AHEAD,
  encodeManifest,
  LAGGARD_GRACE_MS,
  segmentAad,
  segmentNonce,
  type UploadAction,
  UploadSchedule,
  WRITE_SEGMENTS_IN_MEMORY,
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
 * Buffers of encoded segments, reused once every cloud stored them: the writer's memory is then a fixed number of
 * buffers instead of whatever the garbage collector has not reclaimed yet.
 */
class BufferPool {
  private readonly free: Uint8Array[] = [];
  take(size: number): Uint8Array {
    const i = this.free.findIndex((b) => b.length === size);
    return i >= 0 ? this.free.splice(i, 1)[0]! : new Uint8Array(size);
  }
  give(b: Uint8Array): void {
    if (this.free.length < WRITE_SEGMENTS_IN_MEMORY) this.free.push(b);
  }
}

/**
 * Seal and erasure-code one segment into n blocks laid out back to back in one buffer (data blocks first).
 * Sealing and hashing run in the thread pool (WebCrypto jobs), so while this thread erasure-codes one segment the
 * other core seals the next one and hashes the previous one; the plaintext is copied by the job when it starts.
 */
async function encodeSegment(
  p: StreamedWriteParams,
  pool: BufferPool,
  key: webcrypto.CryptoKey,
  index: number,
  plain: Uint8Array,
  last: boolean,
): Promise<{ all: Uint8Array; blocks: Uint8Array[]; digests: Uint8Array[] }> {
  const n = p.drivers.length;
  const k = p.f + 1;
  const sealedLength = plain.length + SEGMENT_AEAD_OVERHEAD;
  const bs = blockSize(sealedLength, k);
  const aad = segmentAad(p.du, p.version, index, last);
  const sealed = await timedAsync(
    p.profile,
    'encrypt',
    webcrypto.subtle.encrypt({ name: 'AES-GCM', iv: segmentNonce(index), additionalData: aad }, key, plain),
  );
  const all = pool.take(n * bs);
  timed(p.profile, 'copy', () => all.set(new Uint8Array(sealed), 0));
  // The padding after the sealed bytes is part of the data blocks (and their digests): zero, whatever the buffer held.
  all.fill(0, sealedLength, k * bs);
  const blocks = Array.from({ length: n }, (_, i) => all.subarray(i * bs, (i + 1) * bs));
  timed(p.profile, 'erasure', () => encodeParity(blocks, n, k));
  const digests = await timedAsync(
    p.profile,
    'hash',
    Promise.all(blocks.map(async (b) => new Uint8Array(await webcrypto.subtle.digest('SHA-256', b)))),
  );
  return { all, blocks, digests };
}

export function startStreamedWrite(p: StreamedWriteParams): StreamedWrite {
  const n = p.drivers.length;
  const sched = new UploadSchedule(n, p.f);
  const items = new Map<number, readonly Uint8Array[]>();
  /** The one buffer each held segment's blocks are views of. */
  const buffers = new Map<number, Uint8Array>();
  const pool = new BufferPool();
  const digestLists: Uint8Array[][] = Array.from({ length: n }, () => []);
  const cloudCtl = p.drivers.map(() => new AbortController());
  const cloudWaiters = p.drivers.map(() => {
    let resolve!: (ok: boolean) => void;
    const promise = new Promise<boolean>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  });
  const bytesPerCloud = new Array<number>(n).fill(0);
  let quorumResolve!: (q: StreamedQuorum) => void;
  let quorumReject!: (e: unknown) => void;
  const quorum = new Promise<StreamedQuorum>((res, rej) => {
    quorumResolve = res;
    quorumReject = rej;
  });
  let segments = 0;
  let size = 0;
  let manifestDigests: string[] = [];
  let stopped = false;
  let ended = false;
  let wake: (() => void) | undefined;
  let puts = 0;

  const stop = (reason: string) => {
    if (stopped) return;
    stopped = true;
    for (const c of cloudCtl) c.abort(new Error(reason));
    for (const w of cloudWaiters) w.resolve(false);
    items.clear();
    buffers.clear();
    wake?.();
  };
  const failWith = (e: unknown) => {
    quorumReject(e);
    stop(e instanceof Error ? e.message : String(e));
  };
  p.signal?.addEventListener('abort', () => failWith(p.signal?.reason ?? new Error('aborted')), { once: true });

  const apply = (actions: UploadAction[]): void => {
    for (const a of actions) {
      switch (a.type) {
        case 'put':
          startPut(a.item, a.cloud);
          break;
        case 'free': {
          items.delete(a.item);
          const b = buffers.get(a.item);
          buffers.delete(a.item);
          if (b) pool.give(b);
          break;
        }
        case 'drop':
          cloudCtl[a.cloud]!.abort(new Error(a.reason));
          cloudWaiters[a.cloud]!.resolve(false);
          break;
        case 'cloudDone':
          cloudWaiters[a.cloud]!.resolve(true);
          break;
        case 'quorum':
          quorumResolve({
            size,
            digests: manifestDigests,
            stored: a.clouds,
            failed: sched.droppedClouds,
            bytesPerCloud: Math.max(...bytesPerCloud),
          });
          break;
        case 'fail': {
          const why = a.failed.map((x) => `${p.drivers[x.cloud]!.cloud}: ${x.reason}`).join('; ');
          failWith(
            new TcError(
              StorageCode.noQuorum,
              `only ${n - a.failed.length} of ${n} clouds could store the segments, ${n - p.f} needed (${why})`,
              { exit: ExitCode.unavailable, hint: 'at most f clouds may be down; the previous version stays readable' },
            ),
          );
          break;
        }
      }
    }
    wake?.();
  };

  function startPut(item: number, cloud: number): void {
    const payload = items.get(item)?.[cloud];
    if (payload === undefined || stopped) return;
    // Item `segments` is the manifest once the source ended (segments are numbered from 0).
    const name = ended && item === segments ? manifestFile(p.version) : segmentFile(p.version, item);
    const driver = p.drivers[cloud]!;
    driver.put(p.container, name, payload, { signal: cloudCtl[cloud]!.signal }).then(
      () => {
        if (stopped) return;
        bytesPerCloud[cloud]! += payload.length;
        lastProgress[cloud] = performance.now();
        p.onPut?.(++puts);
        apply(sched.result(item, cloud, true));
      },
      (e: unknown) => {
        if (stopped) return;
        apply(sched.result(item, cloud, false, e instanceof Error ? e.message : String(e)));
      },
    );
  }

  /** The time each cloud last stored an item: a laggard is dropped only after LAGGARD_GRACE_MS without progress. */
  const lastProgress = p.drivers.map(() => performance.now());
  const waitForClouds = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((r) => {
      wake = r;
      timer = setTimeout(r, LAGGARD_GRACE_MS);
    });
    clearTimeout(timer);
    wake = undefined;
    const now = performance.now();
    const stuck = sched.laggards().filter((c) => now - lastProgress[c]! >= LAGGARD_GRACE_MS);
    if (stuck.length > 0) apply(sched.dropLaggards(stuck));
  };

  const produce = async (): Promise<void> => {
    const raw = generateSecretKey();
    const shares = await shareSecret(raw, n, p.f + 1);
    const key = await webcrypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
    raw.fill(0);
    // Segments being sealed and encoded, in order: ENCODE_AHEAD at a time keeps both cores busy.
    const encoding: ReturnType<typeof encodeSegment>[] = [];
    let next = 0;
    const addOldest = async () => {
      const { all, blocks, digests } = await encoding.shift()!;
      if (stopped) return;
      for (let c = 0; c < n; c++) digestLists[c]!.push(digests[c]!);
      buffers.set(segments, all);
      items.set(segments++, blocks);
      apply(sched.addSegment());
    };
    for (;;) {
      if (stopped) return;
      if (!sched.wantsSegment()) {
        await timedAsync(p.profile, 'waitClouds', waitForClouds());
        continue;
      }
      const seg = await timedAsync(p.profile, 'read', p.source.next());
      if (stopped) return;
      if (seg === undefined) break;
      size += seg.bytes.length;
      const e = encodeSegment(p, pool, key, next++, seg.bytes, seg.last);
      e.catch(() => {});
      encoding.push(e);
      if (encoding.length >= ENCODE_AHEAD) await addOldest();
    }
    while (encoding.length > 0 && !stopped) await addOldest();
    if (stopped) return;
    const manifests = shares.map((share, c) =>
      encodeManifest({ cloud: c, share, segments, digests: Buffer.concat(digestLists[c]!) }),
    );
    digestLists.length = 0;
    manifestDigests = timed(p.profile, 'hash', () =>
      manifests.map((m) => createHash('sha256').update(m).digest('hex')),
    );
    ended = true;
    items.set(segments, manifests);
    apply(sched.end());
  };
  produce()
    .catch(failWith)
    .finally(() => p.source.close().catch(() => {}));

  return { quorum, cloudDone: (c) => cloudWaiters[c]!.promise, stop };
}
