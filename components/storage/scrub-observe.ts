/**
 * What `storage scrub` reads of one data unit on one cloud: its metadata file (parsed and its signature checked)
 * and the data of the current version, each file hashed and compared with what the signed metadata says (the
 * value's digest for DepSky-A, the cloud's block digest for DepSky-CA written whole, the manifest's digest and
 * then every segment block's digest for streamed DepSky-CA). The results feed the pure core, protocol/scrub.ts;
 * the valid manifests and the bad segments are kept for a repair.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { verifyEd25519 } from './crypto/primitives.js';
import type { CallOptions, CloudDriver } from './drivers/types.js';
import { metadataSigningBytes, parseMetadataFile } from './protocol/metadata.js';
import { METADATA_FILE, manifestFile, segmentFile, valueFile } from './protocol/names.js';
import type { DataObservation, MetaObservation } from './protocol/scrub.js';
import { type Manifest, manifestDigest, parseManifest, segmentCount } from './protocol/segments.js';
import type { Metadata } from './protocol/types.js';

/** DepSky-A values up to this size are hashed from one buffer; larger ones are streamed through the hash. */
export const HASH_IN_MEMORY_BYTES = 16 << 20;

export interface MetaRead {
  obs: MetaObservation;
  /** The signed file as stored (a repair copies these bytes to the clouds that lack them). */
  bytes?: Uint8Array;
  meta?: Metadata;
}

/** What a repair needs to know of one cloud's data beyond its observation. */
export interface DataRead {
  obs: DataObservation;
  /** Streamed CA: this cloud's manifest, when its digest matched the signed one. */
  manifest?: Manifest;
  /** Streamed CA with a valid manifest: segments whose block is missing or corrupt. */
  badSegments?: number[];
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * How one data unit's metadata files are judged: parsed, and the signature checked once per distinct file (the
 * clouds of a healthy object hold the same bytes, so a scrub verifies one signature per object, not n).
 */
export function metaJudge(du: string, verifyKey: KeyObject): (bytes: Uint8Array) => MetaRead {
  const seen: { bytes: Uint8Array; read: MetaRead }[] = [];
  return (bytes) => {
    const hit = seen.find((s) => Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength).equals(bytes));
    if (hit) return { ...hit.read, bytes };
    const parsed = parseMetadataFile(bytes);
    let read: MetaRead;
    if (!parsed) read = { obs: { kind: 'garbled' } };
    // A correctly signed file of another data unit is a replay by the cloud: as good as a foreign signature.
    else if (parsed.meta.du !== du || !verifyEd25519(verifyKey, metadataSigningBytes(parsed.meta), parsed.signature))
      read = { obs: { kind: 'foreign' } };
    else read = { obs: { kind: 'valid', version: parsed.meta.version }, bytes, meta: parsed.meta };
    seen.push({ bytes, read });
    return read;
  };
}

export async function readMeta(
  driver: CloudDriver,
  container: string,
  judge: (bytes: Uint8Array) => MetaRead,
  o: CallOptions,
): Promise<MetaRead> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await driver.get(container, METADATA_FILE, o);
  } catch (e) {
    if (o.signal?.aborted) throw o.signal.reason ?? e;
    return { obs: { kind: 'error', message: message(e) } };
  }
  return bytes === undefined ? { obs: { kind: 'absent' } } : judge(bytes);
}

async function hashA(driver: CloudDriver, container: string, m: Metadata, o: CallOptions) {
  const name = valueFile(m.version);
  if (m.size <= HASH_IN_MEMORY_BYTES) {
    const b = await driver.get(container, name, o);
    return b === undefined ? undefined : { digest: sha256(b), size: b.length };
  }
  const s = await driver.getStream(container, name, o);
  if (s === undefined) return undefined;
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of s) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: h.digest('hex'), size };
}

/** Streamed CA: the manifest, then every segment block, checked against it. */
async function readSegments(
  driver: CloudDriver,
  container: string,
  m: Metadata,
  pos: number,
  o: CallOptions,
): Promise<DataRead> {
  const name = manifestFile(m.version);
  const bytes = await driver.get(container, name, o);
  if (bytes === undefined) return { obs: { kind: 'missing', what: 'manifest missing' } };
  const count = segmentCount(m.size, m.segmentBytes!);
  const manifest = sha256(bytes) === m.digests[pos] ? parseManifest(bytes) : undefined;
  if (!manifest || manifest.cloud !== pos || manifest.segments !== count)
    return { obs: { kind: 'corrupt', what: 'manifest corrupt' } };
  const missing: number[] = [];
  const corrupt: number[] = [];
  for (let j = 0; j < count; j++) {
    const block = await driver.get(container, segmentFile(m.version, j), o);
    if (block === undefined) missing.push(j);
    else if (sha256(block) !== manifestDigest(manifest, j)) corrupt.push(j);
  }
  const badSegments = [...missing, ...corrupt].sort((a, b) => a - b);
  const list = (xs: number[]) =>
    `block${xs.length === 1 ? '' : 's'} of segment${xs.length === 1 ? '' : 's'} ${xs.join(', ')}`;
  if (corrupt.length > 0)
    return {
      obs: { kind: 'corrupt', what: `${list(corrupt)} corrupt${missing.length ? `, ${list(missing)} missing` : ''}` },
      manifest,
      badSegments,
    };
  if (missing.length > 0) return { obs: { kind: 'missing', what: `${list(missing)} missing` }, manifest, badSegments };
  return { obs: { kind: 'ok' }, manifest, badSegments };
}

/** The data of version `m` on `driver`'s cloud, verified against the signed metadata. */
export async function readData(driver: CloudDriver, container: string, m: Metadata, o: CallOptions): Promise<DataRead> {
  if (m.version.counter === 0) return { obs: { kind: 'none' } };
  try {
    if (m.protocol === 'depsky-a') {
      const got = await hashA(driver, container, m, o);
      if (got === undefined) return { obs: { kind: 'missing', what: 'value missing' } };
      if (got.digest !== m.digests[0] || got.size !== m.size)
        return { obs: { kind: 'corrupt', what: 'value corrupt' } };
      return { obs: { kind: 'ok' } };
    }
    const pos = m.clouds.indexOf(driver.cloud);
    if (pos < 0) return { obs: { kind: 'none' } };
    if (m.format === 2) return await readSegments(driver, container, m, pos, o);
    const b = await driver.get(container, valueFile(m.version), o);
    if (b === undefined) return { obs: { kind: 'missing', what: 'block missing' } };
    if (sha256(b) !== m.digests[pos]) return { obs: { kind: 'corrupt', what: 'block corrupt' } };
    return { obs: { kind: 'ok' } };
  } catch (e) {
    if (o.signal?.aborted) throw o.signal.reason ?? e;
    return { obs: { kind: 'error', message: message(e) } };
  }
}
