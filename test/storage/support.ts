/** Shared setup of the storage tests: temp dirs, keys, four local-directory clouds. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { DepSkyClient, type DepSkyOptions } from '../../components/storage/client.js';
import { LocalDirectoryDriver } from '../../components/storage/drivers/local.js';
import type { CloudDriver } from '../../components/storage/drivers/types.js';
import type { Protocol } from '../../components/storage/protocol/types.js';

export async function tempDir(prefix = 'tclouds-storage-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A temp dir made before the calling test file's tests and removed after them; read `.dir` inside tests. */
export function fileTempDir(prefix?: string): { readonly dir: string } {
  let made: { dir: string; cleanup: () => Promise<void> } | undefined;
  beforeAll(async () => {
    made = await tempDir(prefix);
  });
  afterAll(async () => {
    await made?.cleanup();
  });
  return {
    get dir(): string {
      if (!made) throw new Error('fileTempDir: read .dir inside a test or hook, after beforeAll');
      return made.dir;
    },
  };
}

export function keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

export function localDrivers(root: string, n = 4): LocalDirectoryDriver[] {
  return Array.from({ length: n }, (_, i) => new LocalDirectoryDriver(`cloud${i}`, path.join(root, `cloud${i}`)));
}

export function client(
  drivers: CloudDriver[],
  protocol: Protocol,
  keys: { privateKey?: KeyObject; publicKey: KeyObject },
  extra: Partial<DepSkyOptions> = {},
): DepSkyClient {
  return new DepSkyClient({
    drivers,
    f: 1,
    protocol,
    verifyKey: keys.publicKey,
    ...(keys.privateKey ? { signKey: keys.privateKey } : {}),
    writer: 'a1',
    retry: { attempts: 2, backoffMs: 10, timeoutMs: 10_000 },
    tickMs: 50,
    lingerMs: 200,
    ...extra,
  });
}

/** Deterministic pseudo-random bytes (xorshift), so failures are reproducible. */
export function pattern(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
