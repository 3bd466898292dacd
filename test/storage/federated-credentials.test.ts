/**
 * GCP buckets from AWS and Azure VMs by workload identity federation, against real parts on loopback: the metadata
 * stand-in (EC2 IMDSv2, Azure IMDS), a Google STS stand-in that checks each subject token (the AWS one's SigV4
 * signature with the IMDS-issued keys, the Azure one's audience) and a GCS stand-in that answers only the access
 * tokens STS issued. Drivers are built from spec configs by the gateway's own code; a gateway on "AWS" whose four
 * clouds are GCP buckets serves put and get end to end.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsSubjectRequest } from '../../components/storage/cloud-credentials/aws-subject.js';
import { googleFederated, googleStsEndpoint } from '../../components/storage/cloud-credentials/federated.js';
import { parseStorageGatewayConfig, type StorageGatewayConfigInput } from '../../components/storage/config.js';
import { GcsDriver } from '../../components/storage/drivers/gcs.js';
import { ResilientDriver } from '../../components/storage/drivers/resilient.js';
import type { CloudDriver } from '../../components/storage/drivers/types.js';
import { gatewayDrivers } from '../../components/storage/gateway-drivers.js';
import { generateWriterKeys } from '../../components/storage/keys.js';
import { rejectedTcError as tcError } from '../support/tc-error.js';
import {
  type GcsStandIn,
  type MetadataStandIn,
  S3RVER_KEYS,
  type StsStandIn,
  startGcsStandIn,
  startMetadataStandIn,
  startStsStandIn,
} from './cloud-standins.js';
import { startGatewayNode } from './gateway-node.js';
import { pattern, tempDir } from './support.js';

const AUDIENCE =
  '//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/tc-demo/providers/tc-aws';

let tmp: { dir: string; cleanup: () => Promise<void> };
let meta: MetadataStandIn;
let sts: StsStandIn;
let gcs: GcsStandIn;

beforeAll(async () => {
  tmp = await tempDir('tclouds-wif-');
  meta = await startMetadataStandIn();
  sts = await startStsStandIn({
    audience: AUDIENCE,
    awsKeys: S3RVER_KEYS,
    awsSessions: () => meta.issued.aws,
    azureTokens: () => meta.issued.azure,
  });
  gcs = await startGcsStandIn(() => sts.issued);
});

afterAll(async () => {
  await gcs?.close();
  await sts?.close();
  await meta?.close();
  await tmp?.cleanup();
});

type Source = NonNullable<StorageGatewayConfigInput['credentials']>[string];

function gcpClouds(clouds: string[], source: Source, f = 0): StorageGatewayConfigInput {
  const of = <T>(v: (c: string) => T) => Object.fromEntries(clouds.map((c) => [c, v(c)]));
  return {
    f,
    clouds,
    buckets: of((c) => `bucket-${c}`),
    providers: of(() => 'gcp' as const),
    credentials: of(() => source),
    endpoints: of(() => gcs.url),
    metadataEndpoints: { aws: meta.url, azure: meta.url, googleSts: sts.url },
  };
}

async function driverOf(cfg: StorageGatewayConfigInput): Promise<CloudDriver> {
  return (await gatewayDrivers(parseStorageGatewayConfig(cfg)))[0]!;
}

async function roundTrip(d: CloudDriver, name: string): Promise<void> {
  await d.createContainer();
  const data = pattern(50_000, name.length);
  await d.put('du', name, data);
  expect(Buffer.from((await d.get('du', name))!).equals(Buffer.from(data))).toBe(true);
  expect(await d.list('du')).toContain(name);
  await d.remove('du', name);
}

describe('federated sources', () => {
  it('AWS: a GetCallerIdentity request signed with the IMDS role keys, exchanged at STS; GCS takes the token', async () => {
    const from = gcs.tokens.length;
    const d = await driverOf(gcpClouds(['ga'], { source: 'federated', identity: 'aws', audience: AUDIENCE }));
    await roundTrip(d, 'aws-obj');
    const tokens = gcs.tokens.slice(from);
    expect(tokens.length).toBeGreaterThan(3);
    for (const t of tokens) expect(sts.issued).toContain(t);
    expect(sts.refused).toEqual([]);
  });

  it('the signed request carries the audience, the session token, and no secret key', () => {
    const keys = { ...S3RVER_KEYS, sessionToken: 'session-x' };
    const r = awsSubjectRequest(keys, AUDIENCE, Date.UTC(2026, 0, 2, 3, 4, 5));
    const h = Object.fromEntries(r.headers.map((x) => [x.key, x.value]));
    expect(r.url).toBe('https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15');
    expect(h['x-goog-cloud-target-resource']).toBe(AUDIENCE);
    expect(h['x-amz-date']).toBe('20260102T030405Z');
    expect(h.Authorization).toContain(
      'SignedHeaders=host;x-amz-date;x-amz-security-token;x-goog-cloud-target-resource',
    );
    expect(JSON.stringify(r)).not.toContain(`"${S3RVER_KEYS.secretAccessKey}"`);
  });

  it('Azure: the managed identity JWT for api://AzureADTokenExchange, exchanged at STS', async () => {
    const azFrom = meta.issued.azure.length;
    const d = await driverOf(gcpClouds(['gz'], { source: 'federated', identity: 'azure', audience: AUDIENCE }));
    await roundTrip(d, 'azure-obj');
    expect(meta.issued.azure.length).toBe(azFrom + 1);
    expect(sts.refused).toEqual([]);
  });

  it('the audience comes from the bucket-credentials file when the source names none', async () => {
    const file = path.join(tmp.dir, 'bucket-credentials.json');
    const entry = {
      provider: 'gcp',
      bucket: 'b',
      source: 'credentials',
      credentials: { credentials: { audiences: {} } },
    };
    await writeFile(file, JSON.stringify({ version: 1, clouds: { gf: entry } }));
    const d = await driverOf(gcpClouds(['gf'], { source: 'federated', identity: 'aws', file }));
    const e = await tcError(d.list('du'));
    expect(e.code).toBe('TC224');
    expect(e.message).toContain('cloud gf, bucket bucket-gf, credentials federated');
    expect(e.hint).toContain('--target clouds');
    entry.credentials.credentials.audiences = { aws: AUDIENCE };
    await writeFile(file, JSON.stringify({ version: 1, clouds: { gf: entry } }));
    await roundTrip(d, 'from-file');
  });

  it('an expiring token is exchanged again before it expires', async () => {
    let clock = Date.now();
    sts.lifetime = 120;
    try {
      const who = { cloud: 'gr', bucket: 'bucket-gr', source: 'federated' as const };
      const token = googleFederated(who, {
        identity: 'aws',
        audience: async () => AUDIENCE,
        endpoints: { aws: meta.url, googleSts: sts.url },
        now: () => clock,
      });
      const g = new GcsDriver({ cloud: 'gr', bucket: 'bucket-gr', apiEndpoint: gcs.url, token: () => token.get() });
      await g.put('du', 'y', new Uint8Array([1]));
      const t1 = gcs.tokens.at(-1);
      await g.put('du', 'y', new Uint8Array([2]));
      expect(token.fetches).toBe(1);
      clock += 61_000; // past half of the lifetime
      await g.put('du', 'y', new Uint8Array([3]));
      expect(token.fetches).toBe(2);
      expect(gcs.tokens.at(-1)).not.toBe(t1);
      expect(sts.issued).toContain(gcs.tokens.at(-1));
    } finally {
      sts.lifetime = 3600;
    }
  });

  it('STS down: TC222 naming the cloud, bucket and endpoint; a refused exchange: TC223 with its reason', async () => {
    const down = await startStsStandIn({
      audience: AUDIENCE,
      awsKeys: S3RVER_KEYS,
      awsSessions: () => [],
      azureTokens: () => [],
    });
    await down.close();
    const src = { source: 'federated', identity: 'aws', audience: AUDIENCE } as const;
    const cfg = { ...gcpClouds(['gd'], src), metadataEndpoints: { aws: meta.url, googleSts: down.url } };
    const d = new ResilientDriver(await driverOf(cfg), { attempts: 2, backoffMs: 10 });
    const e = await tcError(d.get('du', 'x'));
    expect(e.code).toBe('TC222');
    expect(e.message).toContain('cloud gd, bucket bucket-gd, credentials federated');
    expect(e.message).toContain(new URL(down.url).origin);
    expect(e.hint).toContain('TCLOUDS_GOOGLE_STS_ENDPOINT');
    const wrong = await driverOf(gcpClouds(['gw'], { ...src, audience: `${AUDIENCE}-other` }));
    const refused = await tcError(wrong.get('du', 'x'));
    expect(refused.code).toBe('TC223');
    expect(refused.message).toContain('stand-in refused: audience');
    expect(refused.hint).toContain('workload identity pool');
  });

  it('the STS endpoint: config, then environment, then Google', () => {
    expect(googleStsEndpoint({ googleSts: 'http://127.0.0.1:1/v1/token' }, {})).toBe('http://127.0.0.1:1/v1/token');
    expect(googleStsEndpoint(undefined, { TCLOUDS_GOOGLE_STS_ENDPOINT: 'http://x/t' })).toBe('http://x/t');
    expect(googleStsEndpoint(undefined, {})).toBe('https://sts.googleapis.com/v1/token');
  });

  it('the config refuses a federated source for a bucket that is not GCP', () => {
    const cfg = { ...gcpClouds(['gx'], { source: 'federated', identity: 'aws', audience: AUDIENCE }) };
    cfg.providers = { gx: 'aws' };
    expect(() => parseStorageGatewayConfig(cfg)).toThrow(/federated reaches GCP buckets/);
  });
});

describe('a gateway on AWS writing four GCP buckets', () => {
  it('serves put and get end to end with federated tokens only', async () => {
    const keysDir = path.join(tmp.dir, 'gw-keys');
    const writerKey = path.join(keysDir, 'writer.key');
    await generateWriterKeys({ privateKey: writerKey, publicKey: path.join(keysDir, 'writer.pub') });
    const clouds = ['g1', 'g2', 'g3', 'g4'];
    const config: StorageGatewayConfigInput = {
      ...gcpClouds(clouds, { source: 'federated', identity: 'aws', audience: AUDIENCE }, 1),
      protocol: 'depsky-ca',
      n: 4,
      writerKeyFile: writerKey,
    };
    const { role, client: c, fatal } = await startGatewayNode({ dir: tmp.dir, keysDir, cloud: 'g1', config });
    const from = gcs.tokens.length;
    try {
      const data = pattern(200_000, 5);
      expect((await c.put('docs/report', data)).version).toMatch(/^1\./);
      expect((await c.get('docs/report')).bytes.equals(Buffer.from(data))).toBe(true);
    } finally {
      await role.stop();
    }
    expect(fatal).toEqual([]);
    expect(gcs.tokens.slice(from).every((t) => sts.issued.includes(t))).toBe(true);
    for (const cloud of clouds)
      expect([...gcs.objects.keys()].some((k) => k.startsWith(`bucket-${cloud}/`))).toBe(true);
  }, 120_000);
});
