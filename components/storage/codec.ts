/**
 * Encoders of DepSky values and the Ed25519 glue for the cores.
 *
 * DepSky-CA (Kra93, seed L1038): e = AES-256-GCM(value, fresh key k) with AAD (data unit, version);
 * s[0..n-1] = Shamir(k, n, f+1); e[0..n-1] = ReedSolomon(e, n, f+1); cloud i stores
 * d[i] = "DSCA" 0x01 len(s[i]) s[i] e[i], and the metadata holds H(d[i]) for every i.
 * No cloud holds the key or more than 1/(f+1) of the ciphertext; f clouds together learn nothing.
 *
 * Memory bound (CA): the writer holds the plaintext, the sealed copy and the n-k parity blocks
 * (about (2 + (n-k)/k) x size, 3x for n=4, f=1); the reader holds f+1 blocks, the sealed copy and the plaintext
 * (about 3x size). DepSky-A streams from and to files and holds only 1 MiB buffers per cloud.
 */
import type { KeyObject } from 'node:crypto';
import { ExitCode, TcError } from '../../runtime/errors.js';
import { StorageCode } from './codes.js';
import { blockSize, decode as rsDecode, encode as rsEncode } from './crypto/erasure.js';
import {
  combineShares,
  decrypt,
  encrypt,
  generateSecretKey,
  sha256Hex,
  shareSecret,
  signEd25519,
  verifyEd25519,
} from './crypto/primitives.js';
import { encodeMetadataFile, metadataSigningBytes, parseMetadataFile } from './protocol/metadata.js';
import { versionString } from './protocol/names.js';
import type { CoreCrypto, Encoded, Fetched, Metadata, Version } from './protocol/types.js';

const MAGIC = [0x44, 0x53, 0x43, 0x41, 0x01]; // "DSCA" v1

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

/** DepSky-CA encode of `value` for `version`: one <share, block> payload per cloud and its digest. */
export async function encodeCA(
  du: string,
  version: Version,
  value: Uint8Array,
  n: number,
  f: number,
): Promise<Encoded> {
  const key = generateSecretKey();
  const sealed = encrypt(value, key, aad(du, version));
  const shares = await shareSecret(key, n, f + 1);
  key.fill(0);
  const blocks = rsEncode(sealed, n, f + 1);
  const payloads: Uint8Array[] = [];
  const digests: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = shares[i]!;
    const b = blocks[i]!;
    const d = new Uint8Array(MAGIC.length + 1 + s.length + b.length);
    d.set(MAGIC, 0);
    d[MAGIC.length] = s.length;
    d.set(s, MAGIC.length + 1);
    d.set(b, MAGIC.length + 1 + s.length);
    payloads.push(d);
    digests.push(sha256Hex(d));
  }
  return { payloads, digests, size: value.length, sealedSize: sealed.length };
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
    const body = d.subarray(MAGIC.length + 1 + sl);
    if (body.length !== size) throw decodeError(`block of ${cloud} has ${body.length} bytes, expected ${size}`);
    shares.push(d.subarray(MAGIC.length + 1, MAGIC.length + 1 + sl));
    blocks[pos] = body;
  }
  if (shares.length < k) throw decodeError(`need ${k} blocks, got ${shares.length}`);
  const sealed = rsDecode(blocks, n, k, sealedSize);
  const key = await combineShares(shares.slice(0, k));
  try {
    return decrypt(sealed, key, aad(meta.du, meta.version));
  } catch {
    throw decodeError(`decryption of "${meta.du}" version ${versionString(meta.version)} failed`);
  } finally {
    key.fill(0);
  }
}
