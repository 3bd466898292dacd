/**
 * Gateways of one storage component on loopback, in this process: `count` gateway roles (distinct node ids, so
 * distinct writer ids) over the same four local-directory clouds, and access keys issued as the CLI does.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { DepSkyClient } from '../../components/storage/client.js';
import { LocalDirectoryDriver } from '../../components/storage/drivers/local.js';
import { generateWriterKeys, readSigningKey, readVerifyKey } from '../../components/storage/keys.js';
import { roles } from '../../components/storage/node.js';
import { createCredential, revokeCredential } from '../../components/storage/s3/issue.js';
import { generateNodeKey } from '../../runtime/keys.js';
import { JsonLogger } from '../../runtime/logger.js';
import { MetricsRegistry } from '../../runtime/metrics.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import type { RoleInstance } from '../../runtime/role.js';

export const CLOUDS = ['l1', 'l2', 'l3', 'l4'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Gateways {
  urls: string[];
  roles: RoleInstance[];
  fatal: unknown[];
  cloudDir: (cloud: string) => string;
  /** A DepSky client with the writer key (what `tclouds storage credentials` uses). */
  admin: DepSkyClient;
  issue(o?: { buckets?: string[]; readOnly?: boolean }): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  revoke(accessKeyId: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startGateways(
  dir: string,
  component: string,
  count: number,
  protocol: 'depsky-ca' | 'depsky-a' = 'depsky-ca',
): Promise<Gateways> {
  const keysDir = path.join(dir, 'keys');
  const keyFile = path.join(keysDir, `storage-${component}-writer.key`);
  await generateWriterKeys({ privateKey: keyFile, publicKey: path.join(keysDir, `storage-${component}-writer.pub`) });
  const cloudDir = (c: string) => path.join(dir, 'clouds', c);
  for (const c of CLOUDS) await fs.mkdir(cloudDir(c), { recursive: true });
  const started: RoleInstance[] = [];
  const urls: string[] = [];
  const fatal: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const node = generateNodeKey();
    const spec: NodeSpec = {
      version: 1,
      stack: 'demo',
      component,
      kind: 'storage',
      role: 'gateway',
      id: `${component}-gateway-${i}`,
      index: i,
      cloud: CLOUDS[i % CLOUDS.length]!,
      domain: i,
      host: '127.0.0.1',
      ports: { http: port },
      controlPort: 0,
      peers: [],
      clients: {},
      dataDir: path.join(dir, `data-${i}`),
      keyFile: path.join(keysDir, `${component}-gateway-${i}.key`),
      publicKey: node.publicKey,
      config: {
        protocol,
        f: 1,
        n: 4,
        clouds: CLOUDS,
        buckets: Object.fromEntries(CLOUDS.map((c) => [c, `demo-${component}-${c}`])),
        bucketPaths: Object.fromEntries(CLOUDS.map((c) => [c, cloudDir(c)])),
      },
      adminTokenFile: path.join(keysDir, 'admin.token'),
    };
    started.push(
      await roles.gateway!({
        spec,
        log: new JsonLogger([{ write: () => {} }]),
        metrics: new MetricsRegistry(),
        signal: new AbortController().signal,
        privateKey: node.privateKey,
        fatal: (e) => fatal.push(e),
      }),
    );
    urls.push(`http://127.0.0.1:${port}`);
  }
  const signKey = await readSigningKey(keyFile);
  const admin = new DepSkyClient({
    drivers: CLOUDS.map((c) => new LocalDirectoryDriver(c, cloudDir(c))),
    f: 1,
    protocol,
    verifyKey: await readVerifyKey(keyFile),
    signKey,
    writer: 'ad',
  });
  return {
    urls,
    roles: started,
    fatal,
    cloudDir,
    admin,
    async issue(o = {}) {
      const r = await createCredential(admin, signKey, component, {
        buckets: o.buckets ?? [],
        readOnly: o.readOnly ?? false,
      });
      return { accessKeyId: r.record.accessKeyId, secretAccessKey: r.secretAccessKey };
    },
    async revoke(id) {
      await revokeCredential(admin, id);
    },
    async stop() {
      for (const r of started) await r.stop();
      await admin.close();
    },
  };
}

export function s3(
  url: string,
  creds: { accessKeyId: string; secretAccessKey: string },
  extra: { systemClockOffset?: number } = {},
): S3Client {
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: creds,
    // One attempt: a refused request must surface, not be retried with a corrected clock.
    maxAttempts: 1,
    ...extra,
  });
}

/** Deterministic bytes of a size (cheap to compare). */
export function bytesOf(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4096) b.writeUInt32LE((seed * 2654435761 + i) >>> 0, i);
  return b;
}
