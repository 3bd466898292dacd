/**
 * The drivers of a storage gateway, from its spec config: a directory per cloud on the local target; on a cloud,
 * per cloud the SDK driver of its provider with the credentials `config.credentials` names (the VM's instance
 * identity, or a credentials file from the secret store), else the SDK's environment credentials.
 */
import { readFile } from 'node:fs/promises';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { googleFederated, noAudience } from './cloud-credentials/federated.js';
import { fileCredentials } from './cloud-credentials/file.js';
import { awsInstanceRole, azureManagedIdentity, gcpServiceAccount } from './cloud-credentials/identities.js';
import { type CredentialSubject, metadataEndpoint } from './cloud-credentials/metadata.js';
import type { CredentialSource } from './cloud-credentials/source.js';
import { StorageCode } from './codes.js';
import type { StorageGatewayConfig } from './config.js';
import { AzureBlobDriver, type AzureDriverConfig } from './drivers/azure.js';
import { GcsDriver, type GcsDriverConfig } from './drivers/gcs.js';
import { LocalDirectoryDriver } from './drivers/local.js';
import { S3Driver, type S3DriverConfig } from './drivers/s3.js';
import type { CloudDriver } from './drivers/types.js';

function configError(message: string): TcError {
  return new TcError(StorageCode.badConfig, `storage gateway: ${message}`, {
    exit: ExitCode.invalid,
    hint: 'the node spec was written by a different tclouds version or by hand; redeploy',
  });
}

/** What every driver of one cloud shares: its name, bucket, endpoint override and credential source. */
interface CloudCtx {
  cfg: StorageGatewayConfig;
  cloud: string;
  bucket: string;
  endpoint: string | undefined;
  source: CredentialSource | undefined;
  who: CredentialSubject | undefined;
}

function s3Driver(x: CloudCtx): CloudDriver {
  const region = x.cfg.regions?.[x.cloud];
  const base: S3DriverConfig = {
    cloud: x.cloud,
    bucket: x.bucket,
    ...(region ? { region } : {}),
    ...(x.endpoint ? { endpoint: x.endpoint } : {}),
  };
  if (x.source?.source === 'aws-instance-role') {
    const role = awsInstanceRole(metadataEndpoint('aws', x.cfg.metadataEndpoints), x.who!);
    return new S3Driver({
      ...base,
      credentials: async () => {
        const c = await role.get();
        return { ...c.value, expiration: new Date(c.expiresAt) };
      },
    });
  }
  if (x.source?.source === 'file') {
    const file = x.source.file;
    const who = x.who!;
    // The region of the record (the bucket's own deploy) wins over the plan's.
    return new LazyDriver(x.cloud, 's3', async () => {
      const f = await fileCredentials(file, 'aws', who);
      return new S3Driver({
        ...base,
        ...(f.record.region ? { region: f.record.region } : {}),
        credentials: f.credentials,
      });
    });
  }
  return new S3Driver(base);
}

function azureDriver(x: CloudCtx, tlsCa: string | undefined): CloudDriver {
  const account = x.cfg.accounts?.[x.cloud];
  const accountUrl = x.endpoint ?? (account ? `https://${account}.blob.core.windows.net` : undefined);
  const base: AzureDriverConfig = {
    cloud: x.cloud,
    bucket: x.bucket,
    ...(accountUrl ? { accountUrl } : {}),
    ...(tlsCa ? { tlsCa } : {}),
  };
  if (x.source?.source === 'azure-managed-identity') {
    const endpoint = metadataEndpoint('azure', x.cfg.metadataEndpoints);
    const identity = azureManagedIdentity(endpoint, x.who!, x.source.clientId);
    return new AzureBlobDriver({ ...base, token: () => identity.get() });
  }
  if (x.source?.source === 'file') {
    const file = x.source.file;
    const who = x.who!;
    return new LazyDriver(x.cloud, 'azure', async () => {
      const f = await fileCredentials(file, 'azure', who);
      const url = x.endpoint ?? f.record.endpoint ?? accountUrl;
      const name = account ?? (url ? new URL(url).hostname.split('.')[0] : undefined);
      const creds =
        'sasToken' in f.credentials
          ? { sasToken: f.credentials.sasToken }
          : { accountKey: f.credentials.accountKey, ...(name ? { accountName: name } : {}) };
      return new AzureBlobDriver({ ...base, ...(url ? { accountUrl: url } : {}), ...creds });
    });
  }
  return new AzureBlobDriver(base);
}

function gcsDriver(x: CloudCtx): CloudDriver {
  const base: GcsDriverConfig = {
    cloud: x.cloud,
    bucket: x.bucket,
    ...(x.endpoint ? { apiEndpoint: x.endpoint } : {}),
  };
  if (x.source?.source === 'gcp-service-account') {
    const account = gcpServiceAccount(metadataEndpoint('gcp', x.cfg.metadataEndpoints), x.who!);
    return new GcsDriver({ ...base, token: () => account.get() });
  }
  if (x.source?.source === 'federated') {
    const src = x.source;
    const who = x.who!;
    const audience = async (): Promise<string> => {
      if (src.audience) return src.audience;
      if (!src.file) throw noAudience(who, src.identity, undefined);
      const found = (await fileCredentials(src.file, 'gcp-federation', who)).credentials.audiences[src.identity];
      if (!found) throw noAudience(who, src.identity, src.file);
      return found;
    };
    const token = googleFederated(who, {
      identity: src.identity,
      audience,
      endpoints: x.cfg.metadataEndpoints,
      ...(src.clientId ? { clientId: src.clientId } : {}),
    });
    return new GcsDriver({ ...base, token: () => token.get() });
  }
  if (x.source?.source === 'file') {
    const file = x.source.file;
    const who = x.who!;
    return new LazyDriver(x.cloud, 'gcs', async () => {
      const f = await fileCredentials(file, 'gcp', who);
      const key = JSON.parse(Buffer.from(f.credentials.serviceAccountKeyJsonBase64, 'base64').toString('utf8'));
      return new GcsDriver({ ...base, credentials: key as Record<string, unknown> });
    });
  }
  return new GcsDriver(base);
}

/** The drivers of a gateway's clouds, in config order. */
export async function gatewayDrivers(cfg: StorageGatewayConfig): Promise<CloudDriver[]> {
  const out: CloudDriver[] = [];
  for (const cloud of cfg.clouds) {
    const bucket = cfg.buckets[cloud];
    const dir = cfg.bucketPaths?.[cloud];
    if (dir) {
      out.push(new LocalDirectoryDriver(cloud, dir));
      continue;
    }
    if (!bucket) throw configError(`no bucket for cloud ${cloud}`);
    const source = cfg.credentials?.[cloud];
    const x: CloudCtx = {
      cfg,
      cloud,
      bucket,
      endpoint: cfg.endpoints?.[cloud],
      source,
      who: source ? { cloud, bucket, source: source.source } : undefined,
    };
    switch (cfg.providers?.[cloud]) {
      case 'aws':
        out.push(s3Driver(x));
        break;
      case 'azure':
        out.push(azureDriver(x, await readCa(cfg, cloud)));
        break;
      case 'gcp':
        out.push(gcsDriver(x));
        break;
      default:
        throw configError(`cloud ${cloud} has neither a bucket directory (bucketPaths) nor a provider (providers)`);
    }
  }
  return out;
}

async function readCa(cfg: StorageGatewayConfig, cloud: string): Promise<string | undefined> {
  const file = cfg.tlsCaFiles?.[cloud];
  if (!file) return undefined;
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw configError(`cannot read the CA file ${file} of cloud ${cloud} (${(e as { code?: string }).code ?? e})`);
  }
}

/**
 * A driver made on first use: a credentials file is read when the gateway first talks to that cloud, so a file
 * that is missing or bad fails that cloud's calls (with its TcError), not the gateway's start, and is read again
 * on the next call until it works (the secret may arrive after the gateway started).
 */
class LazyDriver implements CloudDriver {
  private inner: Promise<CloudDriver> | undefined;

  constructor(
    readonly cloud: string,
    readonly kind: string,
    private readonly make: () => Promise<CloudDriver>,
  ) {}

  private async driver(): Promise<CloudDriver> {
    this.inner ??= this.make();
    try {
      return await this.inner;
    } catch (e) {
      this.inner = undefined;
      throw e;
    }
  }

  createContainer: CloudDriver['createContainer'] = async (o) => (await this.driver()).createContainer(o);
  listContainers: CloudDriver['listContainers'] = async (o) => (await this.driver()).listContainers(o);
  list: CloudDriver['list'] = async (c, o) => (await this.driver()).list(c, o);
  get: CloudDriver['get'] = async (c, n, o) => (await this.driver()).get(c, n, o);
  getStream: CloudDriver['getStream'] = async (c, n, o) => (await this.driver()).getStream(c, n, o);
  put: CloudDriver['put'] = async (c, n, p, o) => (await this.driver()).put(c, n, p, o);
  remove: CloudDriver['remove'] = async (c, n, o) => (await this.driver()).remove(c, n, o);
  removeContainer: CloudDriver['removeContainer'] = async (c, o) => (await this.driver()).removeContainer(c, o);

  async close(): Promise<void> {
    const d = await this.inner?.catch(() => undefined);
    await d?.close?.();
  }
}
