/**
 * Canonical encoding of DepSky metadata and of the signed metadata file (pure; the signature itself is injected).
 *
 * The signature covers (data unit, version, protocol, sizes, n, f, clouds, digests) in one canonical byte string,
 * so a cloud cannot move a valid metadata file to another data unit, or bump its version, without the key.
 */
import { checkDataUnitName, isWriterId } from './names.js';
import type { Metadata, Version } from './types.js';

const DOMAIN = 'tclouds-depsky-metadata-v1\n';
const HEX64 = /^[0-9a-f]{64}$/;

/** Bytes that are signed: a domain tag plus JSON with a fixed key order. */
export function metadataSigningBytes(m: Metadata): Uint8Array {
  const canonical = {
    format: m.format,
    // Format 1 files were signed without this key: adding it only for format 2 keeps their signatures valid.
    ...(m.format === 2 ? { segmentBytes: m.segmentBytes ?? null } : {}),
    du: m.du,
    protocol: m.protocol,
    version: { counter: m.version.counter, writer: m.version.writer },
    size: m.size,
    sealedSize: m.sealedSize ?? null,
    n: m.n,
    f: m.f,
    clouds: m.clouds,
    digests: m.digests,
  };
  return new TextEncoder().encode(DOMAIN + JSON.stringify(canonical));
}

/** The metadata file: `{"meta": {...}, "sig": "<base64>"}`. */
export function encodeMetadataFile(m: Metadata, signature: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify({ meta: m, sig: Buffer.from(signature).toString('base64') })}\n`);
}

function isVersion(v: unknown): v is Version {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.counter === 'number' &&
    Number.isSafeInteger(o.counter) &&
    o.counter >= 0 &&
    typeof o.writer === 'string' &&
    (o.writer === '' ? o.counter === 0 : isWriterId(o.writer))
  );
}

/** Parse and shape-check a metadata file; undefined if anything is off. Does NOT check the signature. */
export function parseMetadataFile(bytes: Uint8Array): { meta: Metadata; signature: Uint8Array } | undefined {
  if (bytes.length > 1 << 20) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { meta, sig } = doc as { meta?: unknown; sig?: unknown };
  if (typeof sig !== 'string' || typeof meta !== 'object' || meta === null) return undefined;
  const m = meta as Record<string, unknown>;
  const sizeOk = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if ((m.format !== 1 && m.format !== 2) || typeof m.du !== 'string' || checkDataUnitName(m.du) !== undefined)
    return undefined;
  if (m.protocol !== 'depsky-a' && m.protocol !== 'depsky-ca') return undefined;
  if (!isVersion(m.version) || !sizeOk(m.size) || !sizeOk(m.n) || !sizeOk(m.f)) return undefined;
  if (m.sealedSize !== undefined && !sizeOk(m.sealedSize)) return undefined;
  const streamed = m.format === 2;
  if (streamed && (m.protocol !== 'depsky-ca' || !sizeOk(m.segmentBytes) || (m.segmentBytes as number) < 1))
    return undefined;
  if (!Array.isArray(m.clouds) || !m.clouds.every((c) => typeof c === 'string')) return undefined;
  if (!Array.isArray(m.digests) || !m.digests.every((d) => typeof d === 'string' && HEX64.test(d))) return undefined;
  const n = m.n as number;
  if (m.clouds.length !== n) return undefined;
  const version = m.version as Version;
  if (version.counter > 0) {
    const want = m.protocol === 'depsky-a' ? 1 : n;
    if (m.digests.length !== want) return undefined;
    if (m.protocol === 'depsky-ca' && m.sealedSize === undefined && !streamed) return undefined;
  }
  const clean: Metadata = {
    format: streamed ? 2 : 1,
    ...(streamed ? { segmentBytes: m.segmentBytes as number } : {}),
    du: m.du,
    protocol: m.protocol,
    version: { counter: version.counter, writer: version.writer },
    size: m.size as number,
    ...(m.sealedSize === undefined ? {} : { sealedSize: m.sealedSize as number }),
    n,
    f: m.f as number,
    clouds: [...(m.clouds as string[])],
    digests: [...(m.digests as string[])],
  };
  return { meta: clean, signature: new Uint8Array(Buffer.from(sig, 'base64')) };
}
