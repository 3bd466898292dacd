/**
 * Streamed DepSky-CA (metadata format 2): the pure parts. Cutting an object into segments, the per-cloud
 * manifest, the bytes each segment's AEAD is bound to, and the two schedulers (upload, fetch) that the host
 * (../stream-write.ts, ../stream-read.ts) drives with its I/O results. No I/O, no clocks, no randomness.
 *
 * Layout of version v on cloud i:
 *   value<v>.s<j>  block i of segment j: erasure code (n, f+1) of AES-256-GCM(segment j) = ciphertext || tag
 *   value<v>.m     manifest of cloud i: "DSCM" 2, i, share length, Shamir share of the key, segment count
 *                  (u64), then the SHA-256 of each of cloud i's segment blocks
 *   metadata       signed; digests[i] = SHA-256 of cloud i's manifest, segmentBytes, size
 * The signature covers the manifests' digests and the manifests cover every block, so any change of a block on a
 * cloud is found before its bytes are used; the AEAD of segment j is bound to (data unit, version, j, last or not), so
 * blocks cannot be moved between segments, versions or objects even by someone holding the key.
 */
import { versionString } from './names.js';
import type { Version } from './types.js';

/** Plaintext bytes per segment: large enough that per-file costs vanish, small enough to keep a few in memory. */
export const SEGMENT_BYTES = 4 << 20;
/** Segments held in memory by a writer (encoded, being stored): the writer's memory bound is about this many. */
export const WRITE_SEGMENTS_IN_MEMORY = 6;
/** Plaintext buffers a file source keeps besides the one it reads ahead (the writer seals and codes one at a time). */
export const ENCODE_AHEAD = 2;
/** Puts in flight per cloud: one being sent while the next waits, so a cloud never idles between segments. */
export const PUTS_PER_CLOUD = 2;
/**
 * When the writer's memory is full and only clouds behind the quorum keep it full, they get this long to store
 * their next segment before they are dropped from the write (they will not hold this version). A cloud that is
 * slower but keeps moving slows the write down to its pace instead.
 */
export const LAGGARD_GRACE_MS = 2_000;
/** Segments a reader fetches ahead of the one it writes out. */
export const READ_AHEAD_SEGMENTS = 3;

const MANIFEST_MAGIC = [0x44, 0x53, 0x43, 0x4d, 0x02]; // "DSCM" v2
const DIGEST_BYTES = 32;
/** Largest share a manifest carries (Shamir share of a 32-byte key: 33 bytes). */
const MAX_SHARE_BYTES = 255;

/** Segments of an object of `size` bytes (0 for an empty object: nothing to store but the manifests). */
export function segmentCount(size: number, segmentBytes: number): number {
  return Math.ceil(size / segmentBytes);
}

/** Plaintext bytes of segment `index`. */
export function segmentLength(size: number, segmentBytes: number, index: number): number {
  return Math.min(segmentBytes, size - index * segmentBytes);
}

/** The 12-byte AES-GCM nonce of segment `index`: the index itself (the key is fresh per version, never reused). */
export function segmentNonce(index: number): Uint8Array {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setBigUint64(4, BigInt(index));
  return iv;
}

/**
 * What segment `index` is bound to: data unit, version, its place, and whether it is the last one (a writer
 * reading a pipe learns the count only at the end; the flag still makes a cut-off object fail to open).
 */
export function segmentAad(du: string, version: Version, index: number, last: boolean): Uint8Array {
  return new TextEncoder().encode(
    `tclouds-depsky-ca-segment\n${du}\n${versionString(version)}\n${index}\n${last ? 'last' : 'more'}`,
  );
}

export interface Manifest {
  cloud: number;
  share: Uint8Array;
  /** SHA-256 of this cloud's block of each segment, 32 bytes each. */
  digests: Uint8Array;
  segments: number;
}

export function encodeManifest(m: Manifest): Uint8Array {
  if (m.share.length > MAX_SHARE_BYTES) throw new RangeError('manifest: share too long');
  const head = MANIFEST_MAGIC.length + 2 + m.share.length + 8;
  const out = new Uint8Array(head + m.digests.length);
  out.set(MANIFEST_MAGIC, 0);
  out[MANIFEST_MAGIC.length] = m.cloud;
  out[MANIFEST_MAGIC.length + 1] = m.share.length;
  out.set(m.share, MANIFEST_MAGIC.length + 2);
  new DataView(out.buffer).setBigUint64(head - 8, BigInt(m.segments));
  out.set(m.digests, head);
  return out;
}

/** Parse a manifest (its digest was checked against the signed metadata first); undefined if malformed. */
export function parseManifest(bytes: Uint8Array): Manifest | undefined {
  const at = MANIFEST_MAGIC.length;
  if (bytes.length < at + 2 + 8 || MANIFEST_MAGIC.some((b, i) => bytes[i] !== b)) return undefined;
  const shareLength = bytes[at + 1]!;
  const head = at + 2 + shareLength + 8;
  if (bytes.length < head) return undefined;
  const segments = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(head - 8);
  if (segments > BigInt(Number.MAX_SAFE_INTEGER) || bytes.length !== head + Number(segments) * DIGEST_BYTES)
    return undefined;
  return {
    cloud: bytes[at]!,
    share: bytes.subarray(at + 2, at + 2 + shareLength),
    segments: Number(segments),
    digests: bytes.subarray(head),
  };
}

/** Lowercase hex SHA-256 of cloud's block of segment `index`, as listed in its manifest. */
export function manifestDigest(m: Manifest, index: number): string {
  return Buffer.from(m.digests.subarray(index * DIGEST_BYTES, (index + 1) * DIGEST_BYTES)).toString('hex');
}

export type UploadAction =
  /** Store item `item` (a segment index, or `count` for the manifest) on `cloud`. */
  | { type: 'put'; item: number; cloud: number }
  /** No cloud needs item `item` any more: release its buffers. */
  | { type: 'free'; item: number }
  /** `cloud` is out of this write (failed, or too far behind to keep within memory): stop its puts. */
  | { type: 'drop'; cloud: number; reason: string }
  /** Every item is on `cloud` (its manifest included). */
  | { type: 'cloudDone'; cloud: number }
  /** n-f clouds hold every item: the metadata may be written. Emitted once. */
  | { type: 'quorum'; clouds: number[] }
  /** More than f clouds dropped out: the write cannot complete. */
  | { type: 'fail'; failed: { cloud: number; reason: string }[] };

/**
 * The upload scheduler: per cloud, items in order with PUTS_PER_CLOUD in flight. Items are the segments, then the
 * manifest (item `count`, known once the source ended). An item stays in memory until every cloud still in the
 * write stored it; when WRITE_SEGMENTS_IN_MEMORY items are held and the oldest is on n-f clouds, `laggards()`
 * names the clouds holding memory up, and the host drops them (`dropLaggards`) when they made no progress for
 * LAGGARD_GRACE_MS (they would otherwise make memory grow with the object).
 */
export class UploadSchedule {
  readonly quorum: number;
  private readonly next: number[];
  private readonly inFlight: number[];
  private readonly acked: Set<number>[];
  private readonly dropped = new Map<number, string>();
  private readonly done = new Set<number>();
  /** Items added so far (segments, then the manifest). */
  private added = 0;
  private count: number | undefined;
  /** Held items: index -> clouds that stored it. */
  private readonly held = new Map<number, Set<number>>();
  private quorumSent = false;
  private failed = false;

  constructor(
    readonly n: number,
    readonly f: number,
    private readonly maxHeld = WRITE_SEGMENTS_IN_MEMORY,
    private readonly perCloud = PUTS_PER_CLOUD,
  ) {
    this.quorum = n - f;
    this.next = new Array<number>(n).fill(0);
    this.inFlight = new Array<number>(n).fill(0);
    this.acked = Array.from({ length: n }, () => new Set<number>());
  }

  /** Whether the host may read and encode the next segment now (memory bound; source not ended). */
  wantsSegment(): boolean {
    return this.count === undefined && !this.failed && this.held.size < this.maxHeld;
  }

  /** Segments held in memory (for tests and the memory bound). */
  get heldItems(): number {
    return this.held.size;
  }

  /** Segment `this.added` is encoded and ready to store. */
  addSegment(): UploadAction[] {
    if (this.count !== undefined) throw new Error('upload schedule: segment after the end');
    this.held.set(this.added++, new Set());
    return this.pump();
  }

  /** The source ended after `count` segments; the manifests (item `count`) are ready. */
  end(): UploadAction[] {
    this.count = this.added;
    this.held.set(this.added++, new Set());
    return this.pump();
  }

  /** A put finished: stored (`ok`) or failed for good (the driver already retried). */
  result(item: number, cloud: number, ok: boolean, reason = 'put failed'): UploadAction[] {
    if (this.dropped.has(cloud)) return this.pump();
    this.inFlight[cloud]!--;
    if (!ok) return [...this.drop(cloud, reason), ...this.pump()];
    this.acked[cloud]!.add(item);
    this.held.get(item)?.add(cloud);
    return this.pump();
  }

  private drop(cloud: number, reason: string): UploadAction[] {
    if (this.dropped.has(cloud)) return [];
    this.dropped.set(cloud, reason);
    const out: UploadAction[] = [{ type: 'drop', cloud, reason }];
    if (this.dropped.size > this.f && !this.failed) {
      this.failed = true;
      out.push({ type: 'fail', failed: [...this.dropped].map(([c, r]) => ({ cloud: c, reason: r })) });
    }
    return out;
  }

  /** Clouds that dropped out, with why. */
  get droppedClouds(): { cloud: number; reason: string }[] {
    return [...this.dropped].map(([cloud, reason]) => ({ cloud, reason }));
  }

  private live(cloud: number): boolean {
    return !this.dropped.has(cloud);
  }

  /** Issue puts, free items every live cloud stored, drop laggards at the memory bound, report progress. */
  private pump(): UploadAction[] {
    const out: UploadAction[] = [];
    if (this.failed) return out;
    for (const [item, have] of this.held) {
      let needed = false;
      for (let c = 0; c < this.n; c++) if (this.live(c) && !have.has(c)) needed = true;
      if (!needed) {
        this.held.delete(item);
        out.push({ type: 'free', item });
      }
    }
    for (let c = 0; c < this.n; c++) {
      while (this.live(c) && this.inFlight[c]! < this.perCloud && this.next[c]! < this.added) {
        out.push({ type: 'put', item: this.next[c]!++, cloud: c });
        this.inFlight[c]!++;
      }
    }
    this.reportDone(out);
    return out;
  }

  /** Clouds that alone keep the memory full: the oldest held item is on n-f clouds but not on them. */
  laggards(): number[] {
    if (this.held.size < this.maxHeld || this.count !== undefined || this.failed) return [];
    const oldest = Math.min(...this.held.keys());
    const have = this.held.get(oldest)!;
    if (have.size < this.quorum) return [];
    return Array.from({ length: this.n }, (_, c) => c).filter((c) => this.live(c) && !have.has(c));
  }

  /** Drop `clouds` (from laggards(), after their grace ran out) so the write can go on within its memory. */
  dropLaggards(clouds: readonly number[]): UploadAction[] {
    const out: UploadAction[] = [];
    for (const c of clouds) {
      out.push(...this.drop(c, `fell ${this.added - this.acked[c]!.size} segments behind the others`));
    }
    return [...out, ...this.pump()];
  }

  private reportDone(out: UploadAction[]): void {
    if (this.count === undefined) return;
    const total = this.count + 1;
    const complete: number[] = [];
    for (let c = 0; c < this.n; c++) {
      if (!this.live(c) || this.acked[c]!.size < total) continue;
      complete.push(c);
      if (!this.done.has(c)) {
        this.done.add(c);
        out.push({ type: 'cloudDone', cloud: c });
      }
    }
    if (!this.quorumSent && complete.length >= this.quorum) {
      this.quorumSent = true;
      out.push({ type: 'quorum', clouds: complete });
    }
  }

  /** Every live cloud stored every item (nothing left to do). */
  get finished(): boolean {
    if (this.count === undefined) return this.failed;
    for (let c = 0; c < this.n; c++) if (this.live(c) && !this.done.has(c)) return false;
    return true;
  }
}

/**
 * Which clouds to read one segment from: k blocks are needed, asked in the reader's order (the host puts the
 * clouds that answered first, data blocks before parity, ahead). Each failure (missing, corrupt, no valid manifest)
 * starts the next cloud; when none is left the segment is lost and `failure` names it.
 */
export class SegmentFetch {
  private readonly order: number[];
  private nextAt = 0;
  private inFlight = 0;
  readonly good = new Set<number>();
  readonly rejected: { cloud: number; reason: string }[] = [];

  constructor(
    readonly index: number,
    readonly k: number,
    order: readonly number[],
  ) {
    this.order = [...order];
  }

  /** The clouds to ask now (k at first; after a failure, one more). */
  launch(): number[] {
    const out: number[] = [];
    while (this.inFlight + this.good.size < this.k && this.nextAt < this.order.length) {
      out.push(this.order[this.nextAt++]!);
      this.inFlight++;
    }
    return out;
  }

  /** A block arrived and matched its digest (`reason` undefined) or not. Returns the clouds to ask next. */
  result(cloud: number, reason?: string): number[] {
    this.inFlight--;
    if (reason === undefined) this.good.add(cloud);
    else this.rejected.push({ cloud, reason });
    return this.launch();
  }

  get ready(): boolean {
    return this.good.size >= this.k;
  }

  /** No block is in flight, too few are good and no cloud is left to try. */
  get lost(): boolean {
    return !this.ready && this.inFlight === 0 && this.nextAt >= this.order.length;
  }
}
