/**
 * Google Cloud Storage driver: objects `<prefix><container>/<name>` in one bucket. Credentials: an access token
 * source (a gateway's VM service account, ../cloud-credentials/), a service-account key, or the standard chain
 * (GOOGLE_APPLICATION_CREDENTIALS, gcloud ADC, metadata server); `apiEndpoint` for emulators
 * (e.g. fake-gcs-server). The SDK is imported lazily. Its calls take no AbortSignal, so cancellation is done by
 * ResilientDriver racing the call (the request finishes detached) and by destroying streams.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket } from '@google-cloud/storage';
import type { Payload } from '../protocol/types.js';
import { type CallOptions, type CloudDriver, checkSegment, PermanentDriverError } from './types.js';

export interface GcsDriverConfig {
  cloud: string;
  bucket: string;
  projectId?: string;
  apiEndpoint?: string;
  prefix?: string;
  /** OAuth access tokens (the VM's service account), asked for per request. */
  token?: () => Promise<{ value: string; expiresAt: number }>;
  /** A service-account key (the parsed key file). */
  credentials?: Record<string, unknown>;
}

/**
 * The smallest auth client the storage SDK accepts (it wraps it in a GoogleAuth, which asks it for request
 * headers): a bearer token from `token`, which fetches again before expiry itself.
 */
function tokenAuthClient(token: () => Promise<{ value: string }>) {
  return {
    getRequestHeaders: async () => ({ Authorization: `Bearer ${(await token()).value}` }),
  };
}

function codeOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown }).code;
  return typeof c === 'number' ? c : undefined;
}

export function classifyGcsError(e: unknown, bucket: string): unknown {
  const code = codeOf(e);
  if (code === 401 || code === 403)
    return new PermanentDriverError(`access to GCS bucket ${bucket} denied (${code})`, { cause: e });
  const msg = (e as Error).message ?? '';
  if (/Could not load the default credentials/i.test(msg)) {
    return new PermanentDriverError(`no Google Cloud credentials: ${msg}`, { cause: e });
  }
  return e;
}

export class GcsDriver implements CloudDriver {
  readonly kind = 'gcs';
  readonly cloud: string;
  private bucketP: Promise<Bucket> | undefined;

  constructor(readonly config: GcsDriverConfig) {
    this.cloud = config.cloud;
  }

  private bucket(): Promise<Bucket> {
    this.bucketP ??= import('@google-cloud/storage').then((m) => {
      const c = this.config;
      const storage = new m.Storage({
        ...(c.projectId ? { projectId: c.projectId } : {}),
        ...(c.apiEndpoint ? { apiEndpoint: c.apiEndpoint } : {}),
        ...(c.credentials ? { credentials: c.credentials } : {}),
        // biome-ignore lint/suspicious/noExplicitAny: the SDK types an AuthClient class; it only calls getRequestHeaders
        ...(c.token ? { authClient: tokenAuthClient(c.token) as any } : {}),
        // The SDK sends no credentials to a custom endpoint unless asked: given credentials are meant to be used.
        ...(c.token || c.credentials ? { useAuthWithCustomEndpoint: true } : {}),
        // Retries are ours (ResilientDriver).
        retryOptions: { autoRetry: false, maxRetries: 0 },
      });
      return storage.bucket(c.bucket);
    });
    return this.bucketP;
  }

  /** Object key of a name inside a container (exported for tests). */
  key(container: string, name?: string): string {
    checkSegment(container, 'container');
    if (name !== undefined) checkSegment(name, 'object');
    return `${this.config.prefix ?? ''}${container}/${name ?? ''}`;
  }

  private async wrap<T>(fn: (b: Bucket) => Promise<T>, o?: CallOptions): Promise<T> {
    o?.signal?.throwIfAborted();
    const b = await this.bucket();
    try {
      return await fn(b);
    } catch (e) {
      throw classifyGcsError(e, this.config.bucket);
    }
  }

  createContainer(o?: CallOptions): Promise<void> {
    return this.wrap(async (b) => {
      const [exists] = await b.exists();
      if (!exists) await b.create();
    }, o);
  }

  listContainers(o?: CallOptions): Promise<string[]> {
    const prefix = this.config.prefix ?? '';
    return this.wrap(async (b) => {
      const out: string[] = [];
      let query: Record<string, unknown> | null = { prefix, delimiter: '/', autoPaginate: false };
      while (query) {
        const [, next, resp] = (await b.getFiles(query)) as unknown as [
          unknown,
          Record<string, unknown> | null,
          { prefixes?: string[] },
        ];
        for (const p of resp?.prefixes ?? []) out.push(p.slice(prefix.length, -1));
        query = next;
      }
      return out;
    }, o);
  }

  list(container: string, o?: CallOptions): Promise<string[]> {
    const prefix = this.key(container);
    return this.wrap(async (b) => {
      const [files] = await b.getFiles({ prefix });
      return files.map((f) => f.name.slice(prefix.length)).filter((n) => n !== '' && !n.includes('/'));
    }, o);
  }

  async get(container: string, name: string, o?: CallOptions): Promise<Uint8Array | undefined> {
    const key = this.key(container, name);
    try {
      return await this.wrap(async (b) => {
        const [buf] = await b.file(key).download();
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      }, o);
    } catch (e) {
      if (codeOf(e) === 404) return undefined;
      throw e;
    }
  }

  async getStream(container: string, name: string, o?: CallOptions): Promise<Readable | undefined> {
    const key = this.key(container, name);
    const [exists] = await this.wrap((b) => b.file(key).exists(), o);
    if (!exists) return undefined;
    const b = await this.bucket();
    const s = b.file(key).createReadStream({ validation: false });
    o?.signal?.addEventListener('abort', () => s.destroy(new Error('aborted')), { once: true });
    return s;
  }

  put(container: string, name: string, payload: Payload, o?: CallOptions): Promise<void> {
    const key = this.key(container, name);
    return this.wrap(async (b) => {
      const file = b.file(key);
      // Single-request uploads: an object becomes visible only when complete (GCS writes are atomic). The upload
      // gets its own copy: `save` takes no abort signal, so an attempt the retry layer gave up on (timeout) may
      // still be sending when the caller's buffer is reused for another segment (the streamed writer's pool), and
      // would then store other bytes under this name.
      if (payload instanceof Uint8Array) await file.save(Buffer.from(payload), { resumable: false });
      else {
        await pipeline(
          createReadStream(payload.path),
          file.createWriteStream({ resumable: false }),
          o?.signal ? { signal: o.signal } : {},
        );
      }
    }, o);
  }

  remove(container: string, name: string, o?: CallOptions): Promise<void> {
    const key = this.key(container, name);
    return this.wrap(async (b) => {
      await b.file(key).delete({ ignoreNotFound: true });
    }, o);
  }

  async removeContainer(container: string, o?: CallOptions): Promise<void> {
    for (const name of await this.list(container, o)) await this.remove(container, name, o);
  }
}
