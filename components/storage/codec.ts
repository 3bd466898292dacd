/**
 * Encoders of DepSky values and the Ed25519 glue for the cores.
 *
 * DepSky-CA (Kra93, seed L1038): e = AES-256-GCM(value, fresh key k) with AAD (data unit, version);
 * s[0..n-1] = Shamir(k, n, f+1); e[0..n-1] = ReedSolomon(e, n, f+1); cloud i stores
 * d[i] = "DSCA" 0x01 len(s[i]) s[i] <zero padding to a multiple of 8> e[i] (the padding keeps e[i] word-aligned
 * for the erasure decoder), and the metadata holds H(d[i]) for every i.
 * No cloud holds the key or more than 1/(f+1) of the ciphertext; f clouds together learn nothing.
 *
 * Memory bound (CA): the writer holds the plaintext and the n payloads: (1 + n/(f+1)) x size, 3x for n=4, f=1.
 * The reader holds f+1 blocks and the plaintext: 2x size (3x when a data block is missing and must be rebuilt).
 * DepSky-A streams from and to files and holds about 1 MiB of buffers per cloud.
 */
import type { KeyObject } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { StorageCode } from './codes.js';
import { blockSize, encodeParity, decode as rsDecode } from './crypto/erasure.js';
import {
  AEAD_OVERHEAD,
  combineShares,
  decryptParts,
  encryptTo,
  generateSecretKey,
  sha256HexYielding,
  shareSecret,
  signEd25519,
  verifyEd25519,
} from './crypto/primitives.js';
import { encodeMetadataFile, metadataSigningBytes, parseMetadataFile } from './protocol/metadata.js';
import { versionString } from './protocol/names.js';
import type { CoreCrypto, Encoded, Fetched, Metadata, Version } from './protocol/types.js';

const MAGIC = [0x44, 0x53, 0x43, 0x41, 0x01]; // "DSCA" v1

/** Offset of the erasure-coded block inside d[i]: header and share, rounded up to 8 bytes. */
export function bodyOffset(shareLength: number): number {
  return Math.ceil((MAGIC.length + 1 + shareLength) / 8) * 8;
}

/** Format 1 DepSky-CA: cloud i's file d[i] from its key share and its erasure-coded block (scrub repairs). */
export function caBlockFile(share: Uint8Array, body: Uint8Array): Uint8Array {
  const head = bodyOffset(share.length);
  const d = new Uint8Array(head + body.length);
  d.set(MAGIC, 0);
  d[MAGIC.length] = share.length;
  d.set(share, MAGIC.length + 1);
  d.set(body, head);
  return d;
}

/** Format 1 DepSky-CA: the share and the block of a file d[i]; undefined when its header is damaged. */
export function parseCABlockFile(d: Uint8Array): { share: Uint8Array; body: Uint8Array } | undefined {
  if (d.length < MAGIC.length + 1 || MAGIC.some((b, i) => d[i] !== b)) return undefined;
  const sl = d[MAGIC.length]!;
  const head = bodyOffset(sl);
  if (d.length < head) return undefined;
  return { share: d.subarray(MAGIC.length + 1, MAGIC.length + 1 + sl), body: d.subarray(head) };
}

export function ed25519CoreCrypto(verifyKey: KeyObject, signKey?: KeyObject): CoreCrypto {
  return {
    signMetadata(meta: Metadata): Uint8Array {
      if (!signKey) {
        throw new TcError(StorageCode.badKey, 'this operation writes and needs the writer signing key', {
          exit: ExitCode.invalid,
          hint: 'pass --key <writer.key> (readers only need the verification key)',
        });
      }
      return encodeMetadataFile(meta, signEd25519(signKey, metadataSigningBytes(meta)));
    },
    openMetadata(bytes: Uint8Array): Metadata | undefined {
      const parsed = parseMetadataFile(bytes);
      if (!parsed) return undefined;
      return verifyEd25519(verifyKey, metadataSigningBytes(parsed.meta), parsed.signature) ? parsed.meta : undefined;
    },
  };
}

function aad(du: string, v: Version): Uint8Array {
  return new TextEncoder().encode(`tclouds-depsky-ca\n${du}\n${versionString(v)}`);
}

/**
 * DepSky-CA encode of `value` for `version`: one <share, block> payload per cloud and its digest.
 * The ciphertext is written straight into the data blocks of the payloads and the parity is computed in place,
 * so the writer holds the plaintext plus the n payloads (about n/(f+1) x size) and nothing else.
 */
export async function encodeCA(
  du: string,
  version: Version,
  value: Uint8Array,
  n: number,
  f: number,
): Promise<Encoded & { later: Promise<string[]> }> {
  const k = f + 1;
  const key = generateSecretKey();
  const shares = await shareSecret(key, n, k);
  const sealedSize = value.length + AEAD_OVERHEAD;
  const size = blockSize(sealedSize, k);
  const payloads: Uint8Array[] = [];
  const blocks: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = shares[i]!;
    const head = bodyOffset(s.length);
    const d = new Uint8Array(head + size);
    d.set(MAGIC, 0);
    d[MAGIC.length] = s.length;
    d.set(s, MAGIC.length + 1);
    payloads.push(d);
    blocks.push(d.subarray(head));
  }
  let at = 0;
  encryptTo(value, key, aad(du, version), (bytes) => {
    let off = 0;
    while (off < bytes.length) {
      const b = Math.floor(at / size);
      const inBlock = at % size;
      const take = Math.min(bytes.length - off, size - inBlock);
      blocks[b]!.set(bytes.subarray(off, off + take), inBlock);
      off += take;
      at += take;
    }
  });
  key.fill(0);
  encodeParity(blocks, n, k);
  // Digests are only needed for the metadata: they are computed while the payloads are being stored.
  return { payloads, size: value.length, sealedSize, later: sha256HexYielding(payloads) };
}

function decodeError(message: string): TcError {
  return new TcError(StorageCode.decode, message, {
    exit: ExitCode.failure,
    hint: 'the blocks matched the signed digests, so the writer wrote inconsistent data; rewrite the object',
  });
}

/** DepSky-CA decode from f+1 valid blocks (cloud name -> fetched bytes). */
export async function decodeCA(meta: Metadata, blocksByCloud: Map<string, Fetched>): Promise<Uint8Array> {
  const n = meta.n;
  const k = meta.f + 1;
  const sealedSize = meta.sealedSize ?? 0;
  const size = blockSize(sealedSize, k);
  const blocks: (Uint8Array | undefined)[] = new Array(n).fill(undefined);
  const shares: Uint8Array[] = [];
  for (const [cloud, fetched] of blocksByCloud) {
    const pos = meta.clouds.indexOf(cloud);
    const d = fetched.bytes;
    if (pos < 0 || d === undefined) continue;
    if (d.length < MAGIC.length + 1 || MAGIC.some((b, i) => d[i] !== b))
      throw decodeError(`block of ${cloud} has a bad header`);
    const sl = d[MAGIC.length]!;
    const head = bodyOffset(sl);
    if (d.length < head) throw decodeError(`block of ${cloud} is truncated`);
    const body = d.subarray(head);
    if (body.length !== size) throw decodeError(`block of ${cloud} has ${body.length} bytes, expected ${size}`);
    shares.push(d.subarray(MAGIC.length + 1, MAGIC.length + 1 + sl));
    blocks[pos] = body;
  }
  if (shares.length < k) throw decodeError(`need ${k} blocks, got ${shares.length}`);
  // With every data block at hand (the common case) decrypt straight from them; otherwise rebuild first.
  const parts = blocks.slice(0, k).every((b) => b !== undefined)
    ? (blocks.slice(0, k) as Uint8Array[])
    : [rsDecode(blocks, n, k, sealedSize)];
  const key = await combineShares(shares.slice(0, k));
  try {
    return decryptParts(parts, sealedSize, key, aad(meta.du, meta.version));
  } catch {
    throw decodeError(`decryption of "${meta.du}" version ${versionString(meta.version)} failed`);
  } finally {
    key.fill(0);
  }
}
