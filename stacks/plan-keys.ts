/**
 * Where the keys a plan asks for live, and how they are made. Shared by every realizer (local and Pulumi), so a
 * stack deployed to several targets uses one key per planned key id, in one layout under `<stackDir>/keys/`:
 * - node and client keys: X25519 (runtime/keys.ts) at `keys/<id>.key`, PKCS8 PEM, 0600;
 * - SMR client signing keys: Ed25519, one more key pair per client key of an smr component (never the X25519 key
 *   reused), at `keys/<id>.sign.key`, PKCS8 PEM, 0600; its public key goes to the replicas' `clientSigners`;
 * - a storage writer key: the Ed25519 signing key of the storage component, where `tclouds storage` looks for it
 *   (components/storage/keys.ts: `keys/storage-<component>-writer.key` + `.pub`).
 * Keys are created once and then reused: a new key on every deploy would change every node's spec (and, on a cloud,
 * every VM's user data).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { PlannedKey } from '../components/plan-types.js';
import { defaultKeyFiles, generateWriterKeys, readVerifyKey } from '../components/storage/keys.js';
import {
  generateNodeKey,
  generateSigningKey,
  publicKeyOf,
  readPrivateKey,
  readSigningKey,
  signingPublicKeyOf,
  writePrivateKey,
  writeSigningKey,
} from '../runtime/keys.js';

/** Private key file of a planned key (node ids are key ids of kind `node`). */
export function keyFileOf(stackDir: string, k: Pick<PlannedKey, 'id' | 'kind' | 'for'>): string {
  return k.kind === 'storage-writer'
    ? defaultKeyFiles(stackDir, k.for).privateKey
    : path.join(stackDir, 'keys', `${k.id}.key`);
}

/** base64url of the raw 32-byte public key (last 32 bytes of the SPKI DER; X25519 and Ed25519 alike). */
export function rawPublicKey(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32).toString('base64url');
}

/** The public key of a planned key that exists on disk, or undefined. */
export async function readPlannedPublicKey(stackDir: string, k: PlannedKey): Promise<string | undefined> {
  const file = keyFileOf(stackDir, k);
  if (!existsSync(file)) return undefined;
  if (k.kind === 'storage-writer') return rawPublicKey(await readVerifyKey(defaultKeyFiles(stackDir, k.for).publicKey));
  return publicKeyOf(await readPrivateKey(file));
}

/** Reads a planned key, creating it (0600, atomic) when it does not exist yet. */
export async function ensurePlannedKey(
  stackDir: string,
  k: PlannedKey,
): Promise<{ publicKey: string; created: boolean }> {
  const existing = await readPlannedPublicKey(stackDir, k);
  if (existing) return { publicKey: existing, created: false };
  if (k.kind === 'storage-writer') {
    const { publicKey } = await generateWriterKeys(defaultKeyFiles(stackDir, k.for), true);
    return { publicKey: rawPublicKey(publicKey), created: true };
  }
  const { privateKey, publicKey } = generateNodeKey();
  await writePrivateKey(keyFileOf(stackDir, k), privateKey);
  return { publicKey, created: true };
}

/** A throwaway public key of the right algorithm for a planned key (previews, which write nothing). */
export function ephemeralPublicKey(k: Pick<PlannedKey, 'kind'>): string {
  if (k.kind === 'storage-writer') return rawPublicKey(generateKeyPairSync('ed25519').publicKey);
  return generateNodeKey().publicKey;
}

/** Does this planned key get an Ed25519 signing key beside it? Client keys of smr components do. */
export function hasSigningKey(k: Pick<PlannedKey, 'kind'>, componentKind: string): boolean {
  return k.kind === 'client' && componentKind === 'smr';
}

/** The Ed25519 signing key file of a client key: `keys/<id>.sign.key`, next to the X25519 `keys/<id>.key`. */
export function signingKeyFileOf(stackDir: string, k: Pick<PlannedKey, 'id'>): string {
  return path.join(stackDir, 'keys', `${k.id}.sign.key`);
}

/** The signing public key of a client key whose signing key exists on disk, or undefined. */
export async function readSigningPublicKey(stackDir: string, k: Pick<PlannedKey, 'id'>): Promise<string | undefined> {
  const file = signingKeyFileOf(stackDir, k);
  if (!existsSync(file)) return undefined;
  return signingPublicKeyOf(await readSigningKey(file));
}

/** Reads a client's Ed25519 signing key, creating it (0600, atomic) when it does not exist yet. */
export async function ensureSigningKey(
  stackDir: string,
  k: Pick<PlannedKey, 'id'>,
): Promise<{ publicKey: string; created: boolean }> {
  const existing = await readSigningPublicKey(stackDir, k);
  if (existing) return { publicKey: existing, created: false };
  const { privateKey, publicKey } = generateSigningKey();
  await writeSigningKey(signingKeyFileOf(stackDir, k), privateKey);
  return { publicKey, created: true };
}

/** A throwaway Ed25519 public key (previews, which write nothing). */
export function ephemeralSigningPublicKey(): string {
  return generateSigningKey().publicKey;
}
