/**
 * Amazon S3 (and S3-compatible servers) driver: objects `<prefix><container>/<name>` in one bucket.
 * Credentials: given keys, a provider of expiring keys (a gateway's instance role, ../cloud-credentials/), or the
 * SDK's standard chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...);
 * `endpoint` (with path-style addressing) points it at S3-compatible servers such as s3rver or MinIO.
 * The SDK is imported lazily: `tclouds --help` must not pay for it.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Payload } from '../protocol/types.js';
import { type CallOptions, type CloudDriver, checkSegment, PermanentDriverError } from './types.js';

export interface S3DriverConfig {
  cloud: string;
  bucket: string;
  region?: string;
  endpoint?: string;
  /** Key prefix inside the bucket, e.g. `depsky/`. */
  prefix?: string;
  credentials?: S3Keys | (() => Promise<S3Keys & { expiration?: Date }>);
}

export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

type S3 = typeof import('@aws-sdk/client-s3');

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isMissing(e: unknown): boolean {
  const name = (e as { name?: string } | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || status(e) === 404;
}

/** Credential and bucket problems do not go away by retrying. */
function classify(e: unknown, bucket: string): unknown {
  const name = (e as { name?: string }).name ?? '';
  const code = status(e);
  if (name === 'NoSuchBucket') return new PermanentDriverError(`bucket ${bucket} does not exist`, { cause: e });
  if (code === 403 || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied') {
    return new PermanentDriverError(`access to bucket ${bucket} denied (${name || code})`, { cause: e });
  }
  if (name === 'CredentialsProviderError')
    return new PermanentDriverError(`no AWS credentials: ${(e as Error).message}`);
  return e;
}

export class S3Driver implements CloudDriver {
  readonly kind = 's3';
  readonly cloud: string;
  private sdk: Promise<{ mod: S3; client: S3Client }> | undefined;

  constructor(readonly config: S3DriverConfig) {
    this.cloud = config.cloud;
  }

  private load(): Promise<{ mod: S3; client: S3Client }> {
    this.sdk ??= import('@aws-sdk/client-s3').then((mod) => {
      const c = this.config;
      const client = new mod.S3Client({
        region: c.region ?? process.env.AWS_REGION ?? 'us-east-1',
        ...(c.endpoint ? { endpoint: c.endpoint, forcePathStyle: true } : {}),
        ...(c.credentials ? { credentials: c.credentials } : {}),
        // Retries are ours (ResilientDriver), with cancellation; the SDK's own would hide slow clouds.
        maxAttempts: 1,
        // No default CRC trailers: streamed bodies would be sent aws-chunked, which S3-compatible servers
        // (s3rver, older MinIO) store verbatim. Integrity is end-to-end anyway: DepSky checks signed SHA-256 digests.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      return { mod, client };
    });
    return this.sdk;
  }

  private key(container: string, name?: string): string {
    checkSegment(container, 'container');
    if (name !== undefined) checkSegment(name, 'object');
    return `${this.config.prefix ?? ''}${container}/${name ?? ''}`;
  }

  private async send<T>(build: (mod: S3) => unknown, o?: CallOptions): Promise<T> {
    const { mod, client } = await this.load();
    try {
      // biome-ignore lint/suspicious/noExplicitAny: the command union of the SDK is too wide to type here
      return (await client.send(build(mod) as any, o?.signal ? { abortSignal: o.signal } : {})) as T;
    } catch (e) {
      throw classify(e, this.config.bucket);
    }
  }

  async createContainer(o?: CallOptions): Promise<void> {
    try {
      await this.send((m) => new m.HeadBucketCommand({ Bucket: this.config.bucket }), o);
    } catch {
      await this.send((m) => new m.CreateBucketCommand({ Bucket: this.config.bucket }), o).catch((e: unknown) => {
        const name = (e as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
      });
    }
  }

  private async listKeys(prefix: string, delimiter: boolean, o?: CallOptions): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.send<{
        Contents?: { Key?: string }[];
        CommonPrefixes?: { Prefix?: string }[];
        NextContinuationToken?: string;
        IsTruncated?: boolean;
      }>(
        (m) =>
          new m.ListObjectsV2Command({
            Bucket: this.config.bucket,
            Prefix: prefix,
            ...(delimiter ? { Delimiter: '/' } : {}),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        o,
      );
      if (delimiter) {
        for (const p of r.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix.slice(prefix.length, -1));
      } else {
        for (const c of r.Contents ?? []) if (c.Key) out.push(c.Key.slice(prefix.length));
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  listContainers(o?: CallOptions): Promise<string[]> {
    return this.listKeys(this.config.prefix ?? '', true, o);
  }

  async list(container: string, o?: CallOptions): Promise<string[]> {
    const names = await this.listKeys(this.key(container), false, o);
    return names.filter((n) => n !== '' && !n.includes('/'));
  }

  async get(container: string, name: string, o?: CallOptions): Promise<Uint8Array | undefined> {
    try {
      const r = await this.send<{ Body?: { transformToByteArray(): Promise<Uint8Array> } }>(
        (m) => new m.GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(container, name) }),
        o,
      );
      return r.Body ? await r.Body.transformToByteArray() : new Uint8Array(0);
    } catch (e) {
      if (isMissing(e) || isMissing((e as { cause?: unknown }).cause)) return undefined;
      throw e;
    }
  }

  async getStream(container: string, name: string, o?: CallOptions): Promise<Readable | undefined> {
    try {
      const r = await this.send<{ Body?: Readable }>(
        (m) => new m.GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(container, name) }),
        o,
      );
      if (!r.Body) {
        const { Readable: R } = await import('node:stream');
        return R.from([]);
      }
      return r.Body;
    } catch (e) {
      if (isMissing(e) || isMissing((e as { cause?: unknown }).cause)) return undefined;
      throw e;
    }
  }

  async put(container: string, name: string, payload: Payload, o?: CallOptions): Promise<void> {
    const body = payload instanceof Uint8Array ? payload : createReadStream(payload.path);
    const length = payload instanceof Uint8Array ? payload.length : payload.size;
    await this.send(
      (m) =>
        new m.PutObjectCommand({
          Bucket: this.config.bucket,
          Key: this.key(container, name),
          Body: body,
          ContentLength: length,
        }),
      o,
    );
  }

  async remove(container: string, name: string, o?: CallOptions): Promise<void> {
    try {
      await this.send(
        (m) => new m.DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.key(container, name) }),
        o,
      );
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }

  async removeContainer(container: string, o?: CallOptions): Promise<void> {
    // A container is a key prefix: it disappears with its last object. Remove stragglers (temp uploads) too.
    for (const name of await this.list(container, o)) await this.remove(container, name, o);
  }

  async close(): Promise<void> {
    if (this.sdk) (await this.sdk).client.destroy();
  }
}
