/**
 * The shell of a streamed DepSky-CA read (format 2, protocol/segments.ts): the ReadCore already chose the version
 * and fetched f+1 manifests that match the signed digests. From them: the key (f+1 shares) and the digest of
 * every block. Then segment by segment, READ_AHEAD_SEGMENTS at a time: fetch k blocks (SegmentFetch says from
 * whom), check each against its cloud's manifest, rebuild and open the segment, and write it out in order.
 * A block that is missing or corrupt is read from another cloud (whose manifest is fetched and checked first);
 * a segment that no k clouds hold correctly fails the read with TC220 naming the segment, before any byte of it
 * is written.
 */
import { createHash, webcrypto } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { StorageCode } from './codes.js';
import { blockSize, decode as rsDecode } from './crypto/erasure.js';
import { combineShares, SEGMENT_AEAD_OVERHEAD } from './crypto/primitives.js';
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

/** The first `length` bytes of the concatenation of `parts`. */
function join(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    const take = Math.min(p.length, length - at);
    out.set(p.subarray(0, take), at);
    at += take;
    if (at >= length) break;
  }
  return out;
}

export async function streamedRead(p: StreamedReadParams): Promise<StreamedReadResult> {
  const m = p.meta;
  const n = m.n;
  const k = m.f + 1;
  const segBytes = m.segmentBytes!;
  const count = segmentCount(m.size, segBytes);
  const container = containerOf(m.du);
  const manifests = new Map<number, Promise<Manifest>>();
  const label = `"${m.du}" version ${versionString(m.version)}`;
  const result: StreamedReadResult = { from: new Set(), rejected: [], dataGets: 0 };

  const checkManifest = (pos: number, bytes: Uint8Array): Manifest => {
    const man = parseManifest(bytes);
    if (man === undefined || man.cloud !== pos || man.segments !== count)
      throw new Error('manifest does not describe this version');
    return man;
  };
  for (const [pos, f] of p.manifests) manifests.set(pos, Promise.resolve(checkManifest(pos, f.bytes!)));
  // Any k shares rebuild the key; the ReadCore gave at least k manifests.
  const first = await Promise.all([...manifests.values()].slice(0, k));
  const key = await combineShares(first.map((x) => x.share));
  const aesKey = await webcrypto.subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
  key.fill(0);

  const manifestOf = (pos: number): Promise<Manifest> => {
    let man = manifests.get(pos);
    if (man === undefined) {
      man = (async () => {
        const d = p.drivers[pos];
        if (!d) throw new Error('cloud not known to this client');
        const bytes = await d.get(container, manifestFile(m.version), p.signal ? { signal: p.signal } : {});
        if (bytes === undefined) throw new Error('manifest missing');
        if (createHash('sha256').update(bytes).digest('hex') !== m.digests[pos])
          throw new Error('manifest digest mismatch (corrupt manifest)');
        return checkManifest(pos, bytes);
      })();
      man.catch(() => {});
      manifests.set(pos, man);
    }
    return man;
  };

  /** One block, checked: its bytes, or the reason it cannot be used. */
  const fetchBlock = async (pos: number, index: number, size: number): Promise<Uint8Array | string> => {
    try {
      const man = await manifestOf(pos);
      const d = p.drivers[pos]!;
      const o = p.signal ? { signal: p.signal } : {};
      result.dataGets++;
      const name = segmentFile(m.version, index);
      // Read in the thread pool, hash there too (a WebCrypto job): this thread only decrypts and writes out.
      const bytes = await d.get(container, name, o);
      if (bytes === undefined) return 'block missing';
      const digest = Buffer.from(
        await timedAsync(p.profile, 'hash', webcrypto.subtle.digest('SHA-256', bytes)),
      ).toString('hex');
      if (bytes.length !== size || digest !== manifestDigest(man, index)) return 'digest mismatch (corrupt block)';
      return bytes;
    } catch (e) {
      if (p.signal?.aborted) throw p.signal.reason ?? e;
      return e instanceof Error ? e.message : String(e);
    }
  };

  // Clouds whose manifests arrived first (they answered fast), data blocks (no decoding) before parity; then the rest.
  const fast = [...p.manifests.keys()].sort((a, b) => a - b);
  const order = [...fast, ...Array.from({ length: n }, (_, i) => i).filter((i) => !p.manifests.has(i))];
  const readSegment = async (index: number): Promise<Uint8Array> => {
    const plainLength = segmentLength(m.size, segBytes, index);
    const sealed = plainLength + SEGMENT_AEAD_OVERHEAD;
    const size = blockSize(sealed, k);
    const fetch = new SegmentFetch(index, k, order);
    const blocks: (Uint8Array | undefined)[] = new Array(n).fill(undefined);
    await new Promise<void>((resolve, reject) => {
      const launch = (positions: number[]) => {
        for (const pos of positions) {
          fetchBlock(pos, index, size).then((r) => {
            if (typeof r === 'string') {
              result.rejected.push({ position: pos, reason: `segment ${index}: ${r}` });
              launch(fetch.result(pos, r));
            } else {
              blocks[pos] = r;
              launch(fetch.result(pos));
            }
            if (fetch.ready) resolve();
            else if (fetch.lost) reject(lostError(index, fetch));
          }, reject);
        }
      };
      launch(fetch.launch());
      if (fetch.lost) reject(lostError(index, fetch));
    });
    for (const pos of fetch.good) result.from.add(pos);
    const data = blocks.slice(0, k);
    const parts = data.every((b) => b !== undefined)
      ? (data as Uint8Array[])
      : [timed(p.profile, 'erasure', () => rsDecode(blocks, n, k, sealed))];
    // The sealed bytes in one piece (the data blocks are separate reads), opened by a WebCrypto job in the pool.
    const whole =
      parts.length === 1 ? parts[0]!.subarray(0, sealed) : timed(p.profile, 'copy', () => join(parts, sealed));
    try {
      const aad = segmentAad(m.du, m.version, index, index === count - 1);
      const plain = await timedAsync(
        p.profile,
        'decrypt',
        webcrypto.subtle.decrypt({ name: 'AES-GCM', iv: segmentNonce(index), additionalData: aad }, aesKey, whole),
      );
      return new Uint8Array(plain);
    } catch {
      throw new TcError(StorageCode.decode, `segment ${index} of ${label} does not decrypt`, {
        exit: ExitCode.failure,
        hint: 'its blocks matched the signed digests, so the writer stored inconsistent data; rewrite the object',
      });
    }
  };

  const lostError = (index: number, fetch: SegmentFetch): TcError => {
    const why = fetch.rejected.map((r) => `${m.clouds[r.cloud] ?? r.cloud}: ${r.reason}`).join('; ');
    return integrityError(
      `segment ${index} of ${count} of ${label}: only ${fetch.good.size} of ${n} clouds hold a valid block, ${k} needed (${why})`,
      'more than f clouds lost or corrupted this segment; an older version may still be readable',
    );
  };

  const window: Promise<Uint8Array>[] = [];
  let next = 0;
  const refill = () => {
    while (window.length < READ_AHEAD_SEGMENTS && next < count) {
      const s = readSegment(next++);
      s.catch(() => {});
      window.push(s);
    }
  };
  refill();
  while (window.length > 0) {
    const plain = await timedAsync(p.profile, 'waitClouds', window.shift()!);
    refill();
    await timedAsync(p.profile, 'write', p.sink.write(plain));
  }
  return result;
}
