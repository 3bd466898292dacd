/**
 * Azure Blob Storage driver: blobs `<prefix><container>/<name>` in one Azure container (the bucket).
 * Credentials: a bearer token source (a gateway's managed identity, ../cloud-credentials/; HTTPS only, as Azure
 * requires), a container SAS, a connection string (AZURE_STORAGE_CONNECTION_STRING, or `connectionString`), or an
 * account URL with a shared key (AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY). The SDK is imported lazily.
 */
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { ContainerClient } from '@azure/storage-blob';
import type { Payload } from '../protocol/types.js';
import { type CallOptions, type CloudDriver, checkSegment, PermanentDriverError } from './types.js';

export interface AzureDriverConfig {
  cloud: string;
  /** Azure container name (the DepSky bucket). */
  bucket: string;
  connectionString?: string;
  /** e.g. https://account.blob.core.windows.net (with accountName + accountKey). */
  accountUrl?: string;
  accountName?: string;
  accountKey?: string;
  /** A SAS for the container (query string without `?`), used with `accountUrl`. */
  sasToken?: string;
  /** Bearer tokens for `https://storage.azure.com/` (managed identity), used with `accountUrl`. */
  token?: () => Promise<{ value: string; expiresAt: number }>;
  /** Extra trusted CA (PEM) for `accountUrl`: an emulator or a private endpoint with its own certificate. */
  tlsCa?: string;
  prefix?: string;
}

function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number } | undefined)?.statusCode;
}

function classify(e: unknown, bucket: string): unknown {
  const code = statusOf(e);
  const name = (e as { code?: string }).code;
  if (name === 'ContainerNotFound')
    return new PermanentDriverError(`Azure container ${bucket} does not exist`, { cause: e });
  if (code === 403 || name === 'AuthenticationFailed' || name === 'AuthorizationFailure') {
    return new PermanentDriverError(`access to Azure container ${bucket} denied (${name ?? code})`, { cause: e });
  }
  return e;
}

export class AzureBlobDriver implements CloudDriver {
  readonly kind = 'azure';
  readonly cloud: string;
  private client: Promise<ContainerClient> | undefined;

  constructor(readonly config: AzureDriverConfig) {
    this.cloud = config.cloud;
  }

  private container(): Promise<ContainerClient> {
    this.client ??= import('@azure/storage-blob').then((m) => {
      const c = this.config;
      // Credentials the config gives win over the environment's.
      const cs = c.connectionString ?? (c.accountKey ? undefined : process.env.AZURE_STORAGE_CONNECTION_STRING);
      // Retries are ours (ResilientDriver), so the pipeline's own retry policy is reduced to one try.
      const pipelineOptions = {
        retryOptions: { maxTries: 1 },
        // Passed on to the core pipeline (not in the storage SDK's own options type).
        // `ca` replaces Node's roots: keep them, and add this one.
        ...(c.tlsCa ? { tlsOptions: { ca: [...rootCertificates, c.tlsCa] } } : {}),
      };
      let svc: InstanceType<typeof m.BlobServiceClient>;
      if (c.token && c.accountUrl) {
        const token = c.token;
        const credential = {
          getToken: async () => {
            const t = await token();
            return { token: t.value, expiresOnTimestamp: t.expiresAt };
          },
        };
        svc = new m.BlobServiceClient(c.accountUrl, credential, pipelineOptions);
      } else if (c.sasToken && c.accountUrl) {
        svc = new m.BlobServiceClient(`${c.accountUrl}?${c.sasToken.replace(/^\?/, '')}`, undefined, pipelineOptions);
      } else if (cs) svc = m.BlobServiceClient.fromConnectionString(cs, pipelineOptions);
      else {
        const account = c.accountName ?? process.env.AZURE_STORAGE_ACCOUNT;
        const key = c.accountKey ?? process.env.AZURE_STORAGE_KEY;
        if (!account || !key) {
          throw new PermanentDriverError(
            `no Azure credentials for cloud ${c.cloud}: set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY`,
          );
        }
        const url = c.accountUrl ?? `https://${account}.blob.core.windows.net`;
        svc = new m.BlobServiceClient(url, new m.StorageSharedKeyCredential(account, key), pipelineOptions);
      }
      return svc.getContainerClient(c.bucket);
    });
    return this.client;
  }

  private blob(container: string, name?: string): string {
    checkSegment(container, 'container');
    if (name !== undefined) checkSegment(name, 'object');
    return `${this.config.prefix ?? ''}${container}/${name ?? ''}`;
  }

  private async wrap<T>(fn: (c: ContainerClient) => Promise<T>): Promise<T> {
    const c = await this.container();
    try {
      return await fn(c);
    } catch (e) {
      throw classify(e, this.config.bucket);
    }
  }

  createContainer(o?: CallOptions): Promise<void> {
    return this.wrap(async (c) => {
      await c.createIfNotExists(o?.signal ? { abortSignal: o.signal } : {});
    });
  }

  listContainers(o?: CallOptions): Promise<string[]> {
    const prefix = this.config.prefix ?? '';
    return this.wrap(async (c) => {
      const out: string[] = [];
      for await (const item of c.listBlobsByHierarchy('/', {
        prefix,
        ...(o?.signal ? { abortSignal: o.signal } : {}),
      })) {
        if (item.kind === 'prefix') out.push(item.name.slice(prefix.length, -1));
      }
      return out;
    });
  }

  list(container: string, o?: CallOptions): Promise<string[]> {
    const prefix = this.blob(container);
    return this.wrap(async (c) => {
      const out: string[] = [];
      for await (const b of c.listBlobsFlat({ prefix, ...(o?.signal ? { abortSignal: o.signal } : {}) })) {
        const rest = b.name.slice(prefix.length);
        if (rest !== '' && !rest.includes('/')) out.push(rest);
      }
      return out;
    });
  }

  async getStream(container: string, name: string, o?: CallOptions): Promise<Readable | undefined> {
    const key = this.blob(container, name);
    try {
      return await this.wrap(async (c) => {
        const r = await c.getBlobClient(key).download(0, undefined, o?.signal ? { abortSignal: o.signal } : {});
        return r.readableStreamBody as Readable;
      });
    } catch (e) {
      if (statusOf(e) === 404 || statusOf((e as { cause?: unknown }).cause) === 404) return undefined;
      throw e;
    }
  }

  async get(container: string, name: string, o?: CallOptions): Promise<Uint8Array | undefined> {
    const s = await this.getStream(container, name, o);
    if (s === undefined) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of s) chunks.push(chunk as Buffer);
    const b = Buffer.concat(chunks);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  put(container: string, name: string, payload: Payload, o?: CallOptions): Promise<void> {
    const key = this.blob(container, name);
    const opts = o?.signal ? { abortSignal: o.signal } : {};
    return this.wrap(async (c) => {
      const b = c.getBlockBlobClient(key);
      // Block blobs commit atomically: readers see the old or the new blob.
      if (payload instanceof Uint8Array) await b.uploadData(payload, opts);
      else await b.uploadFile(payload.path, opts);
    });
  }

  remove(container: string, name: string, o?: CallOptions): Promise<void> {
    const key = this.blob(container, name);
    return this.wrap(async (c) => {
      await c.getBlobClient(key).deleteIfExists(o?.signal ? { abortSignal: o.signal } : {});
    });
  }

  async removeContainer(container: string, o?: CallOptions): Promise<void> {
    for (const name of await this.list(container, o)) await this.remove(container, name, o);
  }
}
