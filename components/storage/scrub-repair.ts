/**
 * `storage scrub --repair`: rewrite the missing or bad copies of one data unit from verified ones, at the SAME
 * version. Nothing is signed and no version is bumped: the signed metadata file is copied as stored, and every
 * data file written is one the signed metadata already describes, so each is checked against its signed digest
 * before it is written.
 *
 * - DepSky-A: the value, read from a cloud whose copy matches the signed digest.
 * - DepSky-CA: a cloud's blocks are re-encoded from k = f+1 verified blocks of other clouds (erasure decode to the
 *   sealed bytes, encode again, take this cloud's block): the plaintext is never formed. A lost key share is
 *   interpolated from k verified shares (crypto/share-rederive.ts) at the coordinate whose rebuilt manifest (or
 *   block file) matches the signed digest.
 * Data first, the metadata last, so a cloud never shows metadata whose data it lacks.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { caBlockFile, parseCABlockFile } from './codec.js';
import { blockSize, decode, encode } from './crypto/erasure.js';
import { SEGMENT_AEAD_OVERHEAD } from './crypto/primitives.js';
import { freeCoordinates, shareAt } from './crypto/share-rederive.js';
import type { CallOptions, CloudDriver } from './drivers/types.js';
import { METADATA_FILE, manifestFile, segmentFile, valueFile } from './protocol/names.js';
import type { CopyFinding } from './protocol/scrub.js';
import { encodeManifest, type Manifest, manifestDigest, segmentCount, segmentLength } from './protocol/segments.js';
import type { Metadata, Payload } from './protocol/types.js';
import { type DataRead, HASH_IN_MEMORY_BYTES } from './scrub-observe.js';

export interface RepairInput {
  drivers: readonly CloudDriver[];
  f: number;
  container: string;
  meta: Metadata;
  /** The current signed metadata file, as stored on a cloud that holds it. */
  metaBytes: Uint8Array;
  /** Per driver (same order): its finding and what was read of its data. */
  findings: readonly CopyFinding[];
  data: readonly DataRead[];
  o: CallOptions;
}

export interface RepairOutcome {
  /** Clouds whose copy was rewritten. */
  rewritten: string[];
  failed: { cloud: string; reason: string }[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

class RepairError extends Error {}

/** DepSky-A: the verified value from the first source that still has it (large values via a temp file). */
async function verifiedValue(p: RepairInput, spool: string): Promise<Payload> {
  for (let c = 0; c < p.drivers.length; c++) {
    if (p.data[c]!.obs.kind !== 'ok') continue;
    const d = p.drivers[c]!;
    const name = valueFile(p.meta.version);
    if (p.meta.size <= HASH_IN_MEMORY_BYTES) {
      const b = await d.get(p.container, name, p.o).catch(() => undefined);
      if (b !== undefined && b.length === p.meta.size && sha256(b) === p.meta.digests[0]) return b;
      continue;
    }
    const s = await d.getStream(p.container, name, p.o).catch(() => undefined);
    if (s === undefined) continue;
    const h = createHash('sha256');
    const file = path.join(spool, 'value');
    const ok = await pipeline(
      s,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          h.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(file, { mode: 0o600 }),
    ).then(
      () => true,
      () => false,
    );
    if (ok && h.digest('hex') === p.meta.digests[0]) return { kind: 'file', path: file, size: p.meta.size };
  }
  throw new RepairError('no cloud holds a verified copy of the value any more');
}

/** The first share (of those `x` tries) whose rebuilt file `build(share)` has the signed digest `digest`. */
function findShare(
  shares: readonly Uint8Array[],
  digest: string,
  build: (share: Uint8Array) => Uint8Array,
): Uint8Array | undefined {
  for (const x of freeCoordinates(shares)) {
    const file = build(shareAt(shares, x));
    if (sha256(file) === digest) return file;
  }
  return undefined;
}

/** Format 1 CA: k verified block files, decoded and encoded again; each target's file checked before it is put. */
async function repairCAWhole(p: RepairInput, targets: number[]): Promise<Map<number, Uint8Array>> {
  const { meta, f } = p;
  const n = meta.n;
  const k = f + 1;
  const blocks: (Uint8Array | undefined)[] = new Array(n).fill(undefined);
  const shares: Uint8Array[] = [];
  for (let c = 0; c < p.drivers.length && shares.length < k; c++) {
    const pos = meta.clouds.indexOf(p.drivers[c]!.cloud);
    if (pos < 0 || p.data[c]!.obs.kind !== 'ok') continue;
    const d = await p.drivers[c]!.get(p.container, valueFile(meta.version), p.o).catch(() => undefined);
    const parsed = d !== undefined && sha256(d) === meta.digests[pos] ? parseCABlockFile(d) : undefined;
    if (!parsed) continue;
    blocks[pos] = parsed.body;
    shares.push(parsed.share);
  }
  if (shares.length < k) throw new RepairError(`fewer than ${k} clouds hold a verified block any more`);
  const size = blockSize(meta.sealedSize ?? 0, k);
  const all = encode(decode(blocks, n, k, k * size), n, k);
  const out = new Map<number, Uint8Array>();
  for (const c of targets) {
    const pos = meta.clouds.indexOf(p.drivers[c]!.cloud);
    const file = findShare(shares, meta.digests[pos]!, (s) => caBlockFile(s, all[pos]!));
    if (!file) throw new RepairError('no key share rebuilds the signed block digest');
    out.set(c, file);
  }
  return out;
}

/** Streamed CA: k verified blocks of segment `j` from clouds with valid manifests, re-encoded into all n. */
async function segmentBlocks(p: RepairInput, j: number): Promise<Uint8Array[]> {
  const { meta, f } = p;
  const n = meta.n;
  const k = f + 1;
  const bs = blockSize(segmentLength(meta.size, meta.segmentBytes!, j) + SEGMENT_AEAD_OVERHEAD, k);
  const blocks: (Uint8Array | undefined)[] = new Array(n).fill(undefined);
  let got = 0;
  for (let c = 0; c < p.drivers.length && got < k; c++) {
    const d = p.data[c]!;
    const pos = meta.clouds.indexOf(p.drivers[c]!.cloud);
    if (pos < 0 || !d.manifest || d.badSegments?.includes(j)) continue;
    const b = await p.drivers[c]!.get(p.container, segmentFile(meta.version, j), p.o).catch(() => undefined);
    if (b === undefined || b.length !== bs || sha256(b) !== manifestDigest(d.manifest, j)) continue;
    blocks[pos] = b;
    got++;
  }
  if (got < k) throw new RepairError(`segment ${j}: fewer than ${k} clouds hold a verified block`);
  return encode(decode(blocks, n, k, k * bs), n, k);
}

/** Streamed CA: the bad blocks of each target, and the manifest of targets that lost it (share re-derived). */
async function repairSegments(p: RepairInput, targets: number[]): Promise<Map<number, Uint8Array>> {
  const { meta } = p;
  const count = segmentCount(meta.size, meta.segmentBytes!);
  const posOf = (c: number) => meta.clouds.indexOf(p.drivers[c]!.cloud);
  const rebuildManifest = targets.filter((c) => !p.data[c]!.manifest);
  const need = (c: number, j: number) => !p.data[c]!.manifest || p.data[c]!.badSegments!.includes(j);
  const digests = new Map(rebuildManifest.map((c) => [c, new Uint8Array(32 * count)]));
  for (let j = 0; j < count; j++) {
    const wanting = targets.filter((c) => need(c, j));
    if (wanting.length === 0) continue;
    const all = await segmentBlocks(p, j);
    for (const c of wanting) {
      const block = all[posOf(c)]!;
      const d = p.data[c]!;
      // A target that kept its manifest: the rebuilt block must match it before it is written.
      if (d.manifest && sha256(block) !== manifestDigest(d.manifest, j))
        throw new RepairError(`segment ${j}: rebuilt block does not match the manifest`);
      digests.get(c)?.set(createHash('sha256').update(block).digest(), 32 * j);
      await p.drivers[c]!.put(p.container, segmentFile(meta.version, j), block, p.o);
    }
  }
  const out = new Map<number, Uint8Array>();
  if (rebuildManifest.length === 0) return out;
  const shares: Uint8Array[] = [];
  for (const d of p.data) if (d.manifest && shares.length < p.f + 1) shares.push(d.manifest.share);
  if (shares.length < p.f + 1) throw new RepairError(`fewer than ${p.f + 1} clouds hold a verified manifest`);
  for (const c of rebuildManifest) {
    const pos = posOf(c);
    const build = (share: Uint8Array) =>
      encodeManifest({ cloud: pos, share, digests: digests.get(c)!, segments: count } satisfies Manifest);
    const file = findShare(shares, meta.digests[pos]!, build);
    if (!file) throw new RepairError('no key share rebuilds the signed manifest digest');
    out.set(c, file);
  }
  return out;
}

/** Rewrite the data files of `targets` (driver indexes): blocks first, the manifest or block file last. */
async function repairData(p: RepairInput, targets: number[]): Promise<void> {
  const m = p.meta;
  if (targets.length === 0 || m.version.counter === 0) return;
  if (m.protocol === 'depsky-a') {
    const spool = m.size > HASH_IN_MEMORY_BYTES ? await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-scrub-')) : '';
    try {
      const value = await verifiedValue(p, spool);
      for (const c of targets) await p.drivers[c]!.put(p.container, valueFile(m.version), value, p.o);
    } finally {
      if (spool) await fs.rm(spool, { recursive: true, force: true });
    }
    return;
  }
  const streamed = m.format === 2;
  const last = streamed ? await repairSegments(p, targets) : await repairCAWhole(p, targets);
  const name = streamed ? manifestFile(m.version) : valueFile(m.version);
  for (const [c, bytes] of last) await p.drivers[c]!.put(p.container, name, bytes, p.o);
}

/** Repair one data unit: data of every cloud that needs it, then its metadata. */
export async function repairObject(p: RepairInput): Promise<RepairOutcome> {
  const dataTargets = p.findings.flatMap((x, c) => (x.rewriteData ? [c] : []));
  const metaTargets = p.findings.flatMap((x, c) => (x.rewriteMeta ? [c] : []));
  const out: RepairOutcome = { rewritten: [], failed: [] };
  try {
    await repairData(p, dataTargets);
  } catch (e) {
    if (p.o.signal?.aborted) throw p.o.signal.reason ?? e;
    // Without its data a cloud must not get the metadata: every data target fails; the others may go on.
    for (const c of dataTargets) out.failed.push({ cloud: p.drivers[c]!.cloud, reason: message(e) });
  }
  for (const c of metaTargets) {
    const cloud = p.drivers[c]!.cloud;
    if (out.failed.some((x) => x.cloud === cloud)) continue;
    try {
      await p.drivers[c]!.put(p.container, METADATA_FILE, p.metaBytes, p.o);
      out.rewritten.push(cloud);
    } catch (e) {
      if (p.o.signal?.aborted) throw p.o.signal.reason ?? e;
      out.failed.push({ cloud, reason: message(e) });
    }
  }
  return out;
}
