/**
 * A storage gateway's per-bucket credential sources against real parts on loopback: a metadata stand-in answering
 * as EC2 IMDSv2, Azure IMDS and the GCE metadata server; s3rver behind a recording proxy; Azurite over HTTPS with
 * OAuth on (bearer tokens checked); a GCS JSON API stand-in that answers only issued tokens. The drivers are built
 * from spec configs by the gateway's own code (gateway-drivers.ts), and a gateway whose four clouds use the four
 * sources serves put and get end to end.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsInstanceRole, gcpServiceAccount } from '../../components/storage/cloud-credentials/identities.js';
import { metadataEndpoint } from '../../components/storage/cloud-credentials/metadata.js';
import { parseStorageGatewayConfig, type StorageGatewayConfigInput } from '../../components/storage/config.js';
import { GcsDriver } from '../../components/storage/drivers/gcs.js';
import { ResilientDriver } from '../../components/storage/drivers/resilient.js';
import { S3Driver } from '../../components/storage/drivers/s3.js';
import type { CloudDriver } from '../../components/storage/drivers/types.js';
import { gatewayDrivers } from '../../components/storage/gateway-drivers.js';
import { generateWriterKeys } from '../../components/storage/keys.js';
import { rejectedTcError as tcError } from '../support/tc-error.js';
import {
  type AzuriteHttps,
  type GcsStandIn,
  type MetadataStandIn,
  type RecordingProxy,
  S3RVER_KEYS,
  startAzuriteHttps,
  startGcsStandIn,
  startMetadataStandIn,
  startRecordingProxy,
} from './cloud-standins.js';
import { startGatewayNode } from './gateway-node.js';
import { pattern, tempDir } from './support.js';

// Azurite's well-known development account (public, documented by Microsoft; not a secret).
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

let tmp: { dir: string; cleanup: () => Promise<void> };
let meta: MetadataStandIn;
let s3: { close(): Promise<void> };
let proxy: RecordingProxy;
let azurite: AzuriteHttps;
let gcs: GcsStandIn;

beforeAll(async () => {
  tmp = await tempDir('tclouds-creds-');
  meta = await startMetadataStandIn();
  const moduleName = 's3rver'; // untyped package: imported by name so that tsc does not look for types
  const { default: S3rver } = (await import(moduleName)) as {
    default: new (o: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };
  };
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory: path.join(tmp.dir, 's3'), silent: true });
  const addr = await server.run();
  s3 = server;
  proxy = await startRecordingProxy(`http://127.0.0.1:${addr.port}`);
  azurite = await startAzuriteHttps(tmp.dir);
  gcs = await startGcsStandIn(() => meta.issued.gcp);
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await s3?.close();
  await azurite?.stop();
  await gcs?.close();
  await meta?.close();
  await tmp?.cleanup();
});

/** A gateway config over one cloud of `provider` with `source`, as a cloud deploy writes it (plus test endpoints). */
function oneCloud(
  cloud: string,
  provider: 'aws' | 'azure' | 'gcp',
  source: NonNullable<StorageGatewayConfigInput['credentials']>[string],
  extra: Partial<StorageGatewayConfigInput> = {},
): StorageGatewayConfigInput {
  const endpoint = { aws: proxy.url, azure: `${azurite.url}/${AZURITE_ACCOUNT}`, gcp: gcs.url }[provider];
  return {
    f: 0,
    clouds: [cloud],
    buckets: { [cloud]: `bucket-${cloud}` },
    providers: { [cloud]: provider },
    regions: { [cloud]: 'us-east-1' },
    credentials: { [cloud]: source },
    endpoints: { [cloud]: endpoint },
    ...(provider === 'azure'
      ? { accounts: { [cloud]: AZURITE_ACCOUNT }, tlsCaFiles: { [cloud]: azurite.caFile } }
      : {}),
    metadataEndpoints: { aws: meta.url, azure: meta.url, gcp: meta.url },
    ...extra,
  };
}

async function driverOf(cfg: StorageGatewayConfigInput): Promise<CloudDriver> {
  return (await gatewayDrivers(parseStorageGatewayConfig(cfg)))[0]!;
}

/** Create, put, get, list, remove: the calls a gateway makes. */
async function roundTrip(d: CloudDriver, name: string): Promise<void> {
  await d.createContainer();
  const data = pattern(70_000, name.length);
  await d.put('du', name, data);
  expect(Buffer.from((await d.get('du', name))!).equals(Buffer.from(data))).toBe(true);
  expect(await d.list('du')).toContain(name);
  expect(await d.get('du', 'missing')).toBeUndefined();
  await d.remove('du', name);
  expect(await d.get('du', name)).toBeUndefined();
}

/** A bucket-credentials file as node-boot writes it, with `records` by cloud (the other targets' records). */
async function credentialsFile(name: string, clouds: Record<string, unknown>): Promise<string> {
  const file = path.join(tmp.dir, name);
  await writeFile(file, `${JSON.stringify({ version: 1, clouds }, null, 2)}\n`, { mode: 0o600 });
  return file;
}

describe('instance identities', () => {
  it('S3 with the instance role: an IMDSv2 session, the role keys, and the session token on every request', async () => {
    const d = await driverOf(oneCloud('a1', 'aws', { source: 'aws-instance-role' }));
    const from = proxy.seen.length;
    await roundTrip(d, 'obj');
    await d.close?.();
    const seen = proxy.seen.slice(from);
    expect(seen.length).toBeGreaterThan(4);
    for (const r of seen) {
      expect(r.accessKeyId).toBe(S3RVER_KEYS.accessKeyId);
      expect(meta.issued.aws).toContain(r.sessionToken);
    }
    // IMDSv2: the session token first, and every credentials request carries it.
    const imds = meta.requests.filter((r) => r.path.startsWith('/latest/'));
    expect(imds[0]).toMatchObject({ method: 'PUT', path: '/latest/api/token' });
    for (const r of imds.filter((x) => x.path.includes('security-credentials')))
      expect(r.headers['x-aws-ec2-metadata-token']).toBeTruthy();
  });

  it('Azure Blob with the managed identity: IMDS tokens for storage, accepted by Azurite (HTTPS, OAuth on)', async () => {
    const d = await driverOf(oneCloud('z1', 'azure', { source: 'azure-managed-identity' }));
    const before = meta.issued.azure.length;
    await roundTrip(d, 'obj');
    expect(meta.issued.azure.length).toBeGreaterThan(before);
    const asked = meta.requests.filter((r) => r.path === '/metadata/identity/oauth2/token');
    expect(asked.every((r) => r.headers.metadata === 'true')).toBe(true);
    // Azurite does check the token: one the identity service issued already expired is refused.
    meta.lifetime.azure = -600;
    try {
      const stale = await driverOf(oneCloud('z2', 'azure', { source: 'azure-managed-identity' }));
      await expect(stale.get('du', 'obj')).rejects.toThrow(/denied \(AuthenticationFailed\)/);
    } finally {
      meta.lifetime.azure = 3600;
    }
  });

  it('GCS with the VM service account: metadata-server tokens on every request', async () => {
    const d = await driverOf(oneCloud('g1', 'gcp', { source: 'gcp-service-account' }));
    const from = gcs.tokens.length;
    await roundTrip(d, 'obj');
    const tokens = gcs.tokens.slice(from);
    expect(tokens.length).toBeGreaterThan(4);
    for (const t of tokens) expect(meta.issued.gcp).toContain(t);
  });

  it('fetches the credentials again before they expire (AWS keys, GCP token)', async () => {
    let clock = Date.now();
    const now = () => clock;
    // Two minutes: inside the SDK's own five-minute expiry window, so it asks our provider at every request.
    meta.lifetime.aws = 120;
    meta.lifetime.gcp = 120;
    const who = (cloud: string, source: 'aws-instance-role' | 'gcp-service-account') => ({
      cloud,
      bucket: 'b',
      source,
    });
    const role = awsInstanceRole(meta.url, who('r1', 'aws-instance-role'), now);
    const s3d = new S3Driver({
      cloud: 'r1',
      bucket: 'bucket-r1',
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: async () => {
        const c = await role.get();
        return { ...c.value, expiration: new Date(c.expiresAt) };
      },
    });
    await s3d.createContainer();
    await s3d.put('du', 'x', new Uint8Array([1]));
    const first = proxy.seen.at(-1)!.sessionToken;
    await s3d.put('du', 'x', new Uint8Array([2]));
    expect(proxy.seen.at(-1)!.sessionToken).toBe(first);
    expect(role.fetches).toBe(1);
    clock += 61_000; // past half of the lifetime
    await s3d.put('du', 'x', new Uint8Array([3]));
    expect(role.fetches).toBe(2);
    expect(proxy.seen.at(-1)!.sessionToken).not.toBe(first);
    expect(meta.issued.aws).toContain(proxy.seen.at(-1)!.sessionToken);
    await s3d.close();

    const account = gcpServiceAccount(meta.url, who('r2', 'gcp-service-account'), now);
    const g = new GcsDriver({ cloud: 'r2', bucket: 'bucket-r2', apiEndpoint: gcs.url, token: () => account.get() });
    await g.put('du', 'y', new Uint8Array([1]));
    const t1 = gcs.tokens.at(-1);
    clock += 61_000;
    await g.put('du', 'y', new Uint8Array([2]));
    expect(account.fetches).toBe(2);
    expect(gcs.tokens.at(-1)).not.toBe(t1);
    meta.lifetime.aws = 3600;
    meta.lifetime.gcp = 3600;
  });

  it('a metadata service that is down: TC218 naming the cloud, bucket and source (not retried by the driver)', async () => {
    const down = await startMetadataStandIn();
    await down.close();
    const cfg = oneCloud('a2', 'aws', { source: 'aws-instance-role' }, { metadataEndpoints: { aws: down.url } });
    const d = new ResilientDriver(await driverOf(cfg), { attempts: 3, backoffMs: 10 });
    const e = await tcError(d.put('du', 'x', new Uint8Array([1])));
    expect(e.code).toBe('TC218');
    expect(e.message).toContain('cloud a2, bucket bucket-a2, credentials aws-instance-role');
    expect(e.message).toContain(new URL(down.url).origin);
    expect(e.hint).toContain('TCLOUDS_AWS_METADATA_ENDPOINT');
    expect(e.location?.path).toBe('config.credentials.a2');
    const g = await driverOf(
      oneCloud('g2', 'gcp', { source: 'gcp-service-account' }, { metadataEndpoints: { gcp: down.url } }),
    );
    expect((await tcError(g.get('du', 'x'))).code).toBe('TC218');
  });

  it('a VM without a role or identity: TC219 at once, with what to attach', async () => {
    meta.noIdentity = true;
    try {
      const cases = [
        ['a6', 'aws', { source: 'aws-instance-role' }, 'instance profile'],
        ['z6', 'azure', { source: 'azure-managed-identity' }, 'Storage Blob Data Contributor'],
        ['g6', 'gcp', { source: 'gcp-service-account' }, 'roles/storage.objectAdmin'],
      ] as const;
      for (const [cloud, provider, source, hint] of cases) {
        const d = new ResilientDriver(await driverOf(oneCloud(cloud, provider, source)), { backoffMs: 10 });
        const e = await tcError(d.get('du', 'x'));
        expect(e.code, cloud).toBe('TC219');
        expect(e.message).toContain(`cloud ${cloud}, bucket bucket-${cloud}, credentials ${source.source}`);
        expect(e.hint).toContain(hint);
      }
    } finally {
      meta.noIdentity = false;
    }
  });
});

describe('credentials files', () => {
  it('S3 keys and an Azure container SAS or account key from the bucket-credentials file', async () => {
    const sas = generateBlobSASQueryParameters(
      {
        containerName: 'bucket-z3',
        permissions: ContainerSASPermissions.parse('rwdl'),
        expiresOn: new Date(Date.now() + 3_600_000),
      },
      new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    ).toString();
    const file = await credentialsFile('bucket-credentials.json', {
      a3: {
        provider: 'aws',
        bucket: 'bucket-a3',
        source: 'credentials',
        credentials: { provider: 'aws', region: 'us-east-1', credentials: S3RVER_KEYS },
      },
      z3: {
        provider: 'azure',
        bucket: 'bucket-z3',
        source: 'credentials',
        credentials: {
          provider: 'azure',
          endpoint: `${azurite.url}/${AZURITE_ACCOUNT}`,
          credentials: { sasToken: sas, container: 'bucket-z3' },
        },
      },
      z4: {
        provider: 'azure',
        bucket: 'bucket-z4',
        source: 'credentials',
        credentials: { provider: 'azure', credentials: { accountKey: AZURITE_KEY } },
      },
    });
    const from = proxy.seen.length;
    await roundTrip(await driverOf(oneCloud('a3', 'aws', { source: 'file', file })), 'obj');
    expect(proxy.seen.slice(from).every((r) => r.accessKeyId === 'S3RVER' && r.sessionToken === undefined)).toBe(true);
    // The SAS opens its container only: created here with the account key, then used through the SAS.
    const z4 = await driverOf(oneCloud('z4', 'azure', { source: 'file', file }));
    await roundTrip(z4, 'obj');
    const keyed = await driverOf(
      oneCloud(
        'z3',
        'azure',
        { source: 'file', file },
        { credentials: { z3: { source: 'file', file: path.join(tmp.dir, 'key-z3.json') } } },
      ),
    );
    await writeFile(
      path.join(tmp.dir, 'key-z3.json'),
      JSON.stringify({
        version: 1,
        clouds: {
          z3: {
            provider: 'azure',
            bucket: 'bucket-z3',
            source: 'credentials',
            credentials: { credentials: { accountKey: AZURITE_KEY } },
          },
        },
      }),
    );
    await keyed.createContainer();
    const z3 = await driverOf(oneCloud('z3', 'azure', { source: 'file', file }));
    await z3.put('du', 'via-sas', new Uint8Array([7, 7]));
    expect(await z3.get('du', 'via-sas')).toEqual(new Uint8Array([7, 7]));
    expect(await z3.list('du')).toEqual(['via-sas']);
  });

  it('a missing file is TC216, a cloud whose target was not deployed TC217, read again once it arrives', async () => {
    const file = path.join(tmp.dir, 'later.json');
    const d = await driverOf(oneCloud('a5', 'aws', { source: 'file', file }));
    const e = await tcError(d.list('du'));
    expect(e.code).toBe('TC216');
    expect(e.message).toContain('cloud a5, bucket bucket-a5, credentials file');
    await credentialsFile('later.json', { a5: { provider: 'aws', bucket: 'bucket-a5', source: 'missing' } });
    const missing = await tcError(d.list('du'));
    expect(missing.code).toBe('TC217');
    expect(missing.hint).toContain('deploy --target aws');
    // A GCP bucket whose target was not deployed: deploy it (it records the federation audiences).
    const gfile = await credentialsFile('gcp-missing.json', {
      g5: { provider: 'gcp', bucket: 'bucket-g5', source: 'missing' },
    });
    const g = await driverOf(oneCloud('g5', 'gcp', { source: 'file', file: gfile }));
    expect((await tcError(g.list('du'))).hint).toContain('deploy --target gcp');
    const a5 = (credentials: unknown) =>
      credentialsFile('later.json', {
        a5: { provider: 'aws', bucket: 'bucket-a5', source: 'credentials', credentials: { credentials } },
      });
    await a5({ sasToken: 'not aws' });
    expect((await tcError(d.list('du'))).code).toBe('TC217');
    await a5(S3RVER_KEYS);
    await d.createContainer();
    expect(await d.list('du')).toEqual([]);
  });
});

describe('metadata endpoints', () => {
  it('the config wins over the environment, which wins over the link-local default', () => {
    const env = { TCLOUDS_GCP_METADATA_ENDPOINT: 'http://127.0.0.1:9/' };
    expect(metadataEndpoint('aws', undefined, {})).toBe('http://169.254.169.254');
    expect(metadataEndpoint('gcp', undefined, env)).toBe('http://127.0.0.1:9');
    expect(metadataEndpoint('gcp', { gcp: 'http://127.0.0.1:8' }, env)).toBe('http://127.0.0.1:8');
    expect(metadataEndpoint('azure', { gcp: 'http://127.0.0.1:8' }, env)).toBe('http://169.254.169.254');
  });

  it('a cloud with a `file` source never asks a metadata service', async () => {
    const file = await credentialsFile('a7.json', {
      a7: { provider: 'aws', bucket: 'bucket-a7', source: 'credentials', credentials: { credentials: S3RVER_KEYS } },
    });
    const before = meta.requests.length;
    await roundTrip(await driverOf(oneCloud('a7', 'aws', { source: 'file', file })), 'obj');
    expect(meta.requests.length).toBe(before);
  });
});

describe('the gateway config', () => {
  const base = (credentials: unknown, extra: Record<string, unknown> = {}) => ({
    f: 0,
    clouds: ['a', 'z'],
    buckets: { a: 'ba', z: 'bz' },
    providers: { a: 'aws', z: 'azure' },
    credentials,
    ...extra,
  });

  it('refuses a bad credential source with TC215 naming the field', () => {
    const cases: [unknown, string, Record<string, unknown>?][] = [
      [{ a: { source: 'gcp-service-account' } }, 'config.credentials.a'],
      [{ a: { source: 'password', value: 'x' } }, 'config.credentials.a.source'],
      [{ q: { source: 'aws-instance-role' } }, 'config.credentials.q'],
      [{ z: { source: 'azure-managed-identity' } }, 'config.accounts.z'],
      [{ a: { source: 'file' } }, 'config.credentials.a.file'],
      [{ z: { source: 'azure-managed-identity' } }, 'config.accounts.z', { accounts: { z: 'Not_An_Account' } }],
    ];
    for (const [credentials, where, extra] of cases) {
      let err: unknown;
      try {
        parseStorageGatewayConfig(base(credentials, extra));
      } catch (e) {
        err = e;
      }
      expect(err, where).toMatchObject({ code: 'TC215', location: { path: where } });
      expect((err as { hint: string }).hint).toContain('aws-instance-role');
    }
    // Other problems stay TC200.
    expect(() => parseStorageGatewayConfig({ ...base({}), f: -1 })).toThrow(expect.objectContaining({ code: 'TC200' }));
    // What node-boot writes is accepted.
    const ok = parseStorageGatewayConfig(
      base({ a: { source: 'aws-instance-role' }, z: { source: 'file', file: '/run/tclouds/bucket-credentials.json' } }),
    );
    expect(ok.credentials?.a).toEqual({ source: 'aws-instance-role' });
  });
});

describe('a gateway on four clouds, one per source', () => {
  it('serves put and get end to end; every cloud holds the data', async () => {
    const keysDir = path.join(tmp.dir, 'gw-keys');
    const writerKey = path.join(keysDir, 'writer.key');
    await generateWriterKeys({ privateKey: writerKey, publicKey: path.join(keysDir, 'writer.pub') });
    const file = await credentialsFile('gw-credentials.json', {
      s3f: {
        provider: 'aws',
        bucket: 'gw-s3f',
        source: 'credentials',
        credentials: { provider: 'aws', region: 'us-east-1', credentials: S3RVER_KEYS },
      },
    });
    const clouds = ['s3i', 'azi', 'gcsi', 's3f'];
    const config: StorageGatewayConfigInput = {
      protocol: 'depsky-ca',
      f: 1,
      n: 4,
      clouds,
      buckets: { s3i: 'gw-s3i', azi: 'gw-azi', gcsi: 'gw-gcsi', s3f: 'gw-s3f' },
      providers: { s3i: 'aws', azi: 'azure', gcsi: 'gcp', s3f: 'aws' },
      regions: { s3i: 'us-east-1', s3f: 'us-east-1' },
      credentials: {
        s3i: { source: 'aws-instance-role' },
        azi: { source: 'azure-managed-identity' },
        gcsi: { source: 'gcp-service-account' },
        s3f: { source: 'file', file },
      },
      accounts: { azi: AZURITE_ACCOUNT },
      endpoints: { s3i: proxy.url, azi: `${azurite.url}/${AZURITE_ACCOUNT}`, gcsi: gcs.url, s3f: proxy.url },
      tlsCaFiles: { azi: azurite.caFile },
      metadataEndpoints: { aws: meta.url, azure: meta.url, gcp: meta.url },
      writerKeyFile: writerKey,
    };
    // The buckets exist before the gateway starts (the cloud deploy made them).
    for (const d of await gatewayDrivers(parseStorageGatewayConfig(config))) await d.createContainer();
    const { role, client: c, fatal } = await startGatewayNode({ dir: tmp.dir, keysDir, cloud: 's3i', config });
    const s3From = proxy.seen.length;
    const gcsFrom = gcs.tokens.length;
    try {
      const data = pattern(300_000, 9);
      const put = await c.put('docs/report', data);
      expect(put.version).toMatch(/^1\./);
      expect((await c.get('docs/report')).bytes.equals(Buffer.from(data))).toBe(true);
    } finally {
      await role.stop(); // waits for the late copies
    }
    expect(fatal).toEqual([]);
    // Every cloud got its share, each with its own credentials.
    const s3Seen = proxy.seen.slice(s3From);
    expect(s3Seen.some((r) => r.sessionToken && meta.issued.aws.includes(r.sessionToken))).toBe(true);
    expect(s3Seen.some((r) => r.sessionToken === undefined)).toBe(true);
    expect(gcs.tokens.slice(gcsFrom).every((t) => meta.issued.gcp.includes(t))).toBe(true);
    expect([...gcs.objects.keys()].some((k) => k.startsWith('gw-gcsi/'))).toBe(true);
    for (const d of await gatewayDrivers(parseStorageGatewayConfig(config)))
      expect(await d.listContainers(), d.cloud).toContain(encodeURIComponent('docs/report'));
  }, 120_000);
});
