/**
 * The shell of a streamed DepSky-CA read (format 2, protocol/segments.ts): the ReadCore already chose the version
 * and fetched f+1 manifests that match the signed digests. From them: the key (f+1 shares) and the digest of
 * every block. Then segment by segment, READ_AHEAD_SEGMENTS at a time: fetch k blocks (SegmentFetch says from
 * whom), check each against its cloud's manifest, rebuild and open the segment, and write it out in order.
 * A block that is missing or corrupt is read from another cloud (whose manifest is fetched and checked first);
 * a segment that no k clouds hold correctly fails the read with TC220 naming the segment, before any byte of it
 * is written.
 */
import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { StorageCode } from './codes.js';
import { DIGEST_THREADS, digestShared, digestWhole, isShared, openOnThread } from './crypto/digest-thread.js';
import { blockSize, decode as rsDecode } from './crypto/erasure.js';
import { combineShares, openSegment, SEGMENT_AEAD_OVERHEAD } from './crypto/primitives.js';
import { giveShared, takeShared } from './crypto/shared-pool.js';
import type { CloudDriver } from './drivers/types.js';
import { containerOf, manifestFile, segmentFile, versionString } from './protocol/names.js';
import {
  type Manifest,
  manifestDigest,
  parseManifest,
  READ_AHEAD_SEGMENTS,
  SegmentFetch,
  segmentAad,
  segmentCount,
  segmentLength,
  segmentNonce,
} from './protocol/segments.js';
import type { Fetched, Metadata } from './protocol/types.js';
import { type SegmentSink, type StageProfile, timed, timedAsync } from './segment-io.js';

export interface StreamedReadParams {
  meta: Metadata;
  /** Driver of each block position (meta.clouds order); undefined where this client does not know the cloud. */
  drivers: readonly (CloudDriver | undefined)[];
  /** The manifests the ReadCore fetched (position -> bytes whose digest matched). */
  manifests: Map<number, Fetched>;
  /** Positions whose metadata showed this version, first answers first (they answer about as fast as the rest). */
  showed?: readonly number[];
  /** Positions the caller wants read first (`--prefer`: the cheapest clouds), whatever they hold. */
  preferred?: readonly number[];
  sink: SegmentSink;
  signal?: AbortSignal;
  profile?: StageProfile;
}

export interface StreamedReadResult {
  /** Positions whose blocks were used. */
  from: Set<number>;
  rejected: { position: number; reason: string }[];
  dataGets: number;
}

function integrityError(message: string, hint: string): TcError {
  return new TcError(StorageCode.segmentLost, message, { exit: ExitCode.failure, hint });
}

/** One streamed read: manifests (lazily beyond the first f+1), blocks, segments, in order to the sink. */
class StreamedReader {
  private readonly m: Metadata;
  private readonly n: number;
  private readonly k: number;
  private readonly count: number;
  private readonly container: string;
  private readonly label: string;
  private readonly manifests = new Map<number, Promise<Manifest>>();
  /** Clouds whose manifests arrived first (they answered fast), data blocks (no decoding) first; then the rest. */
  private order: number[];
  readonly result: StreamedReadResult = { from: new Set(), rejected: [], dataGets: 0 };
  private aesKey: KeyObject | undefined;
  /**
   * Plaintext buffers for a sink that is done with the bytes once written (a file, a socket), reused:
   * READ_AHEAD_SEGMENTS being opened, one written. From the pool, wiped when they go back.
   */
  private readonly ring: Uint8Array[] = [];

  constructor(private readonly p: StreamedReadParams) {
    this.m = p.meta;
    this.n = this.m.n;
    this.k = this.m.f + 1;
    this.count = segmentCount(this.m.size, this.m.segmentBytes!);
    this.container = containerOf(this.m.du);
    this.label = `"${this.m.du}" version ${versionString(this.m.version)}`;
    // The clouds the caller prefers go first (it pays for what it reads). Then, as data blocks need no decoding,
    // the data clouds among those that answered the metadata quorum (their manifests are fetched beside their
    // first block), then the clouds whose manifests arrived first, then the rest.
    const preferred = (p.preferred ?? []).filter((pos) => p.drivers[pos] !== undefined);
    const quickData = (p.showed ?? []).filter((pos) => pos < this.k && p.drivers[pos] !== undefined);
    const fast = [...p.manifests.keys()].sort((a, b) => a - b);
    const all = [...preferred, ...quickData, ...fast, ...Array.from({ length: this.n }, (_, i) => i)];
    this.order = all.filter((pos, i) => all.indexOf(pos) === i);
  }

  private checkManifest(pos: number, bytes: Uint8Array): Manifest {
    const man = parseManifest(bytes);
    if (man === undefined || man.cloud !== pos || man.segments !== this.count)
      throw new Error('manifest does not describe this version');
    return man;
  }

  /** The key from k shares (the ReadCore gave at least k manifests), as a node:crypto key object (raw bytes wiped). */
  private async openKey(): Promise<KeyObject> {
    for (const [pos, f] of this.p.manifests)
      this.manifests.set(pos, Promise.resolve(this.checkManifest(pos, f.bytes!)));
    const first = await Promise.all([...this.manifests.values()].slice(0, this.k));
    const key = await combineShares(first.map((x) => x.share));
    try {
      return createSecretKey(key);
    } finally {
      key.fill(0);
    }
  }

  private manifestOf(pos: number): Promise<Manifest> {
    let man = this.manifests.get(pos);
    if (man === undefined) {
      man = (async () => {
        const d = this.p.drivers[pos];
        if (!d) throw new Error('cloud not known to this client');
        const o = this.p.signal ? { signal: this.p.signal } : {};
        const bytes = await d.get(this.container, manifestFile(this.m.version), o);
        if (bytes === undefined) throw new Error('manifest missing');
        if (createHash('sha256').update(bytes).digest('hex') !== this.m.digests[pos])
          throw new Error('manifest digest mismatch (corrupt manifest)');
        return this.checkManifest(pos, bytes);
      })();
      man.catch(() => {});
      this.manifests.set(pos, man);
    }
    return man;
  }

  /** Cloud `pos`'s block of segment `index`, unchecked (read in the thread pool into a reused shared buffer). */
  private async getBlock(pos: number, index: number, size: number): Promise<Uint8Array | string> {
    const p = this.p;
    this.result.dataGets++;
    const d = p.drivers[pos];
    if (!d) return 'cloud not known to this client';
    const name = segmentFile(this.m.version, index);
    const o = p.signal ? { signal: p.signal } : {};
    const got = d.getInto
      ? await d.getInto(this.container, name, this.spareBlock(size), o)
      : await d.get(this.container, name, o);
    if (got === undefined) return 'block missing';
    if (got.length !== size) return 'digest mismatch (corrupt block)';
    return got;
  }

  /** One block, checked against its cloud's manifest: its bytes, or the reason it cannot be used. */
  private async fetchBlock(pos: number, index: number, size: number): Promise<Uint8Array | string> {
    const p = this.p;
    try {
      const man = await this.manifestOf(pos);
      // Hashed on a digest thread (shared memory read in place, or moved there and back): this thread opens
      // segments meanwhile.
      const got = await this.getBlock(pos, index, size);
      if (typeof got === 'string') return got;
      const { bytes, digest } = await timedAsync(
        p.profile,
        'hash',
        digestWhole(got, this.count > 1 ? DIGEST_THREADS : 0),
      );
      if (Buffer.from(digest).toString('hex') !== manifestDigest(man, index)) return 'digest mismatch (corrupt block)';
      return bytes;
    } catch (e) {
      if (p.signal?.aborted) throw p.signal.reason ?? e;
      return e instanceof Error ? e.message : String(e);
    }
  }

  /** k valid blocks of segment `index` (SegmentFetch picks the clouds), or TC220. */
  private fetchBlocks(index: number, size: number): Promise<(Uint8Array | undefined)[]> {
    const fetch = new SegmentFetch(index, this.k, this.order);
    const blocks: (Uint8Array | undefined)[] = new Array(this.n).fill(undefined);
    return new Promise((resolve, reject) => {
      const launch = (positions: number[]) => {
        for (const pos of positions) {
          this.fetchBlock(pos, index, size).then((r) => {
            if (typeof r === 'string') {
              this.result.rejected.push({ position: pos, reason: `segment ${index}: ${r}` });
              launch(fetch.result(pos, r));
            } else {
              blocks[pos] = r;
              launch(fetch.result(pos));
            }
            if (fetch.ready) {
              for (const c of fetch.good) this.result.from.add(c);
              resolve(blocks);
            } else if (fetch.lost) reject(this.lostError(index, fetch));
          }, reject);
        }
      };
      launch(fetch.launch());
      if (fetch.lost) reject(this.lostError(index, fetch));
    });
  }

  /**
   * Segment `index`: the fast path when it succeeds, else block by block (each block checked before it is used,
   * another cloud for each bad one).
   */
  private async readSegment(index: number): Promise<Uint8Array> {
    const fast = await this.readSegmentFast(index);
    if (fast !== undefined) return fast;
    return this.readSegmentChecked(index);
  }

  /**
   * The fast path of a segment: the k blocks of the first k clouds in the order are fetched, and while the digest
   * threads hash them (shared memory, read in place) this thread decodes and opens the segment from the same,
   * still unchecked, bytes into where its plaintext goes. The plaintext is used only if every block then matches
   * its cloud's manifest: the output is exactly what the checked path gives, and a corrupt block never reaches
   * the sink; only the time of the hashing and the opening overlap. Anything else (a block missing, of the wrong
   * size, not matching, a cloud failing) gives undefined and the segment is read again block by block, the
   * clouds that failed put last for this and later segments; their faults are reported in `rejected`.
   *
   * Why not rely on the AES-GCM tag alone and hash only when it fails: the tag binds the segment to the key, and
   * every reader holds the key (readers may be Byzantine, TClouds D2.2.1, ch. 6.2). Knowing the key, GHASH is a
   * linear function of the ciphertext, so a reader colluding with one cloud could make a changed block that
   * still opens; only the writer-signed digests rule that out. So every block used is still hashed; the k of one
   * segment, not the n.
   */
  private async readSegmentFast(index: number): Promise<Uint8Array | undefined> {
    const { m, k, p } = this;
    const sealed = segmentLength(m.size, m.segmentBytes!, index) + SEGMENT_AEAD_OVERHEAD;
    const picked = this.order.slice(0, k);
    if (picked.length < k) return undefined;
    const blocks: (Uint8Array | undefined)[] = new Array(this.n).fill(undefined);
    const got = await this.getUnchecked(index, picked, blocks, blockSize(sealed, k));
    if (got === undefined) return undefined;
    const onThread = await this.openDataOnThread(index, got, blocks, sealed);
    if (onThread !== 'here') return onThread;
    const threads = this.count > 1 ? DIGEST_THREADS : 0;
    // A driver's own buffers (not shared) go to a digest thread and back first: they cannot be read here meanwhile.
    const moved = new Map<number, Uint8Array>();
    await Promise.all(
      got
        .filter((c) => !isShared(c.got))
        .map(async (c) => {
          const r = await timedAsync(p.profile, 'hash', digestWhole(c.got, threads));
          blocks[c.pos] = c.got = r.bytes;
          moved.set(c.pos, r.digest);
        }),
    );
    const digests = got.map(async (c) => {
      const digest = moved.get(c.pos) ?? (await digestShared(c.got, [[0, c.got.length]], threads))[0]!;
      return this.matches(c, index, digest);
    });
    let plain: Uint8Array | undefined;
    try {
      plain = this.open(index, blocks, sealed);
    } catch {
      plain = undefined;
    }
    const verified = (await timedAsync(p.profile, 'hash', Promise.all(digests))).every(Boolean);
    for (const b of blocks) if (b) this.giveBlock(b);
    if (!verified) return undefined;
    for (const pos of picked) this.result.from.add(pos);
    // Every block matched the writer's digests: a segment that does not open is the writer's fault, as below.
    return plain ?? this.undecryptable(index);
  }

  /**
   * The fast path when the k clouds picked are the data clouds, their blocks and the plaintext's place (a large
   * result buffer, a file's ring) are shared memory and the digest threads run: the blocks are hashed on the
   * digest threads, and only once every one matched its manifest is the segment opened, on the cipher thread, into
   * its place (openOnThread). This thread is left to the I/O. 'here' when that cannot be (the caller does the same
   * on this thread); undefined when a block did not match (rejected: the segment is read block by block).
   */
  private async openDataOnThread(
    index: number,
    got: { pos: number; man: Manifest; got: Uint8Array }[],
    blocks: (Uint8Array | undefined)[],
    sealed: number,
  ): Promise<Uint8Array | undefined | 'here'> {
    const { m, k, p } = this;
    if (this.count === 1 || !got.every((c) => c.pos < k && isShared(c.got))) return 'here';
    const length = sealed - SEGMENT_AEAD_OVERHEAD;
    // Only into memory that stays this read's: a sink that keeps what it is given (a stream) gets fresh memory per
    // segment, and fresh shared memory would not count towards the collector's pressure (shared-pool.ts).
    const out = this.plainBuffer(index, length);
    if (out === undefined || !isShared(out)) return 'here';
    const data = [...got].sort((a, b) => a.pos - b.pos);
    const digests = await timedAsync(
      p.profile,
      'hash',
      Promise.all(data.map((c) => digestShared(c.got, [[0, c.got.length]], DIGEST_THREADS))),
    );
    const verified = data.map((c, i) => this.matches(c, index, digests[i]![0]!)).every(Boolean);
    try {
      if (!verified) return undefined;
      const opened = await timedAsync(
        p.profile,
        'decrypt',
        openOnThread({
          parts: data.map((c) => c.got),
          sealed,
          key: this.aesKey!,
          nonce: segmentNonce(index),
          aad: segmentAad(m.du, m.version, index, index === this.count - 1),
          out,
        }),
      );
      // Checked, but the cipher thread could not open it (gone, or a failure of its own): opened here instead.
      const plain = opened === undefined ? this.openChecked(index, blocks, sealed) : out.subarray(0, length);
      // Every block matched the writer's digests: a segment that does not open is the writer's fault.
      if (opened === false) this.undecryptable(index);
      for (const c of data) this.result.from.add(c.pos);
      return plain;
    } finally {
      for (const b of blocks) if (b) this.giveBlock(b);
    }
  }

  /** The blocks of segment `index` from `picked` (with their manifests), unchecked; undefined if any failed. */
  private async getUnchecked(
    index: number,
    picked: number[],
    blocks: (Uint8Array | undefined)[],
    size: number,
  ): Promise<{ pos: number; man: Manifest; got: Uint8Array }[] | undefined> {
    const p = this.p;
    const got = await Promise.all(
      picked.map(async (pos) => {
        try {
          const [man, bytes] = await Promise.all([this.manifestOf(pos), this.getBlock(pos, index, size)]);
          if (typeof bytes === 'string') return this.reject(pos, index, bytes);
          blocks[pos] = bytes;
          return { pos, man, got: bytes };
        } catch (e) {
          if (p.signal?.aborted) throw p.signal.reason ?? e;
          return this.reject(pos, index, e instanceof Error ? e.message : String(e));
        }
      }),
    );
    if (got.every((c) => c !== undefined)) return got;
    for (const b of blocks) if (b) this.giveBlock(b);
    return undefined;
  }

  /** Whether cloud `c.pos`'s block of segment `index` has the digest its manifest lists (else it is rejected). */
  private matches(c: { pos: number; man: Manifest }, index: number, digest: Uint8Array): boolean {
    if (Buffer.from(digest).toString('hex') === manifestDigest(c.man, index)) return true;
    this.reject(c.pos, index, 'digest mismatch (corrupt block)');
    return false;
  }

  /** Note why cloud `pos` failed for segment `index`, and ask it last from now on. */
  private reject(pos: number, index: number, reason: string): undefined {
    this.result.rejected.push({ position: pos, reason: `segment ${index}: ${reason}` });
    this.order = [...this.order.filter((c) => c !== pos), pos];
    return undefined;
  }

  /** Decode (when a data block is missing) and open segment `index` into where its plaintext goes; throws if the tag fails. */
  private open(index: number, blocks: (Uint8Array | undefined)[], sealed: number): Uint8Array {
    const { m, n, k, p } = this;
    const data = blocks.slice(0, k);
    const parts = data.every((b) => b !== undefined)
      ? (data as Uint8Array[])
      : [timed(p.profile, 'erasure', () => rsDecode(blocks, n, k, sealed))];
    const aad = segmentAad(m.du, m.version, index, index === this.count - 1);
    const out = this.plainBuffer(index, sealed - SEGMENT_AEAD_OVERHEAD);
    return timed(p.profile, 'decrypt', () => openSegment(parts, sealed, this.aesKey!, segmentNonce(index), aad, out));
  }

  /** Open segment `index` from blocks that all matched their manifests (straight into where the plaintext goes). */
  private openChecked(index: number, blocks: (Uint8Array | undefined)[], sealed: number): Uint8Array {
    try {
      return this.open(index, blocks, sealed);
    } catch {
      return this.undecryptable(index);
    }
  }

  private undecryptable(index: number): never {
    throw new TcError(StorageCode.decode, `segment ${index} of ${this.label} does not decrypt`, {
      exit: ExitCode.failure,
      hint: 'its blocks matched the signed digests, so the writer stored inconsistent data; rewrite the object',
    });
  }

  /** Segment `index` block by block: each block checked against its manifest before it is decoded or opened. */
  private async readSegmentChecked(index: number): Promise<Uint8Array> {
    const { m, k } = this;
    const sealed = segmentLength(m.size, m.segmentBytes!, index) + SEGMENT_AEAD_OVERHEAD;
    const blocks = await this.fetchBlocks(index, blockSize(sealed, k));
    const plain = this.openChecked(index, blocks, sealed);
    for (const b of blocks) if (b) this.giveBlock(b);
    return plain;
  }

  /** A block buffer of `size` bytes: one an earlier segment (of this read or another) gave back, or a new one. */
  private spareBlock(size: number): Uint8Array {
    return takeShared(size);
  }

  /**
   * Keep a block's buffer for a later segment once nothing reads it any more (giveShared takes only whole shared
   * buffers: a driver's own memory, or a view of part of one, stays with the garbage collector).
   */
  private giveBlock(b: Uint8Array): void {
    giveShared(b);
  }

  /** Where segment `index` is opened: in place in a buffer sink, a ring buffer for a file, else a new buffer. */
  private plainBuffer(index: number, length: number): Uint8Array | undefined {
    const { sink } = this.p;
    if (sink.at) return sink.at(index * this.m.segmentBytes!, length);
    if (!sink.reuses) return undefined;
    const slot = index % (READ_AHEAD_SEGMENTS + 1);
    this.ring[slot] ??= takeShared(Math.min(this.m.segmentBytes!, this.m.size));
    return this.ring[slot];
  }

  private lostError(index: number, fetch: SegmentFetch): TcError {
    const why = fetch.rejected.map((r) => `${this.m.clouds[r.cloud] ?? r.cloud}: ${r.reason}`).join('; ');
    return integrityError(
      `segment ${index} of ${this.count} of ${this.label}: only ${fetch.good.size} of ${this.n} clouds hold a valid block, ${this.k} needed (${why})`,
      'more than f clouds lost or corrupted this segment; an older version may still be readable',
    );
  }

  /** READ_AHEAD_SEGMENTS segments in flight, written out in order. */
  async run(): Promise<StreamedReadResult> {
    this.aesKey = await this.openKey();
    const window: Promise<Uint8Array>[] = [];
    let next = 0;
    const refill = () => {
      while (window.length < READ_AHEAD_SEGMENTS && next < this.count) {
        const s = this.readSegment(next++);
        s.catch(() => {});
        window.push(s);
      }
    };
    refill();
    while (window.length > 0) {
      const plain = await timedAsync(this.p.profile, 'waitClouds', window.shift()!);
      refill();
      await timedAsync(this.p.profile, 'write', this.p.sink.write(plain));
    }
    // Every segment was opened and written: nothing uses the ring any more (after a failure, segments still being
    // opened may, and it is left to the collector).
    for (const b of this.ring.splice(0)) giveShared(b, true);
    return this.result;
  }
}

export function streamedRead(p: StreamedReadParams): Promise<StreamedReadResult> {
  return new StreamedReader(p).run();
}
