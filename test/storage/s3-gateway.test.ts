/**
 * The S3 API of the storage gateway, driven by the AWS SDK for JavaScript (@aws-sdk/client-s3 and lib-storage):
 * two gateways of one component over four local-directory clouds, in this process. Objects, listing, ranges,
 * copies, multipart, concurrent writers through both gateways, and the attacks a gateway must refuse.
 */

import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, type Gateways, s3, startGateways } from './s3-support.js';
import { tempDir } from './support.js';

/** The hash constructor the SDK's signer takes (node:crypto underneath). */
class Sha256 {
  private readonly h;
  constructor(secret?: string | Uint8Array) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(d: string | Uint8Array): void {
    this.h.update(d);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

type Presignable = Parameters<SignatureV4['presign']>[0];

let tmp: { dir: string; cleanup: () => Promise<void> };
let gws: Gateways;
let rw: { accessKeyId: string; secretAccessKey: string };
let a: S3Client;
let b: S3Client;
const BUCKET = 'vault';

/** A SigV4 signer with the read-write key, as the SDK signs for the gateway (path-style, no double escaping). */
function gatewaySigner(): SignatureV4 {
  return new SignatureV4({
    credentials: rw,
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256 as never,
    uriEscapePath: false,
  });
}

beforeAll(async () => {
  tmp = await tempDir('tclouds-s3-');
  gws = await startGateways(tmp.dir, BUCKET, 2);
  rw = await gws.issue();
  a = s3(gws.urls[0]!, rw);
  b = s3(gws.urls[1]!, rw);
}, 60_000);
afterAll(async () => {
  expect(gws?.fatal ?? []).toEqual([]);
  await gws?.stop();
  await tmp?.cleanup();
});

async function body(c: S3Client, key: string, range?: string): Promise<Buffer> {
  const r = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...(range ? { Range: range } : {}) }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function s3Error(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('the request was not refused');
}

describe('S3 gateway with the AWS SDK', () => {
  it('puts, lists, heads, gets (with ranges) and deletes objects of 0 B and 1 MiB', async () => {
    expect((await a.send(new ListBucketsCommand({}))).Buckets?.map((x) => x.Name)).toEqual([BUCKET]);
    await a.send(new HeadBucketCommand({ Bucket: BUCKET }));
    const data = { 'empty.bin': bytesOf(0, 1), 'docs/one.bin': bytesOf(1 << 20, 2) } as Record<string, Buffer>;
    for (const [key, bytes] of Object.entries(data)) {
      const put = await a.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
      expect(put.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
      expect((await body(b, key)).equals(bytes)).toBe(true);
      const head = await b.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.ContentLength).toBe(bytes.length);
      expect(head.ETag).toBe(put.ETag);
    }
    const one = data['docs/one.bin']!;
    expect((await body(a, 'docs/one.bin', 'bytes=10-19')).equals(one.subarray(10, 20))).toBe(true);
    expect((await body(a, 'docs/one.bin', 'bytes=-5')).equals(one.subarray(one.length - 5))).toBe(true);
    expect(await s3Error(body(a, 'docs/one.bin', `bytes=${one.length}-`))).toMatchObject({ status: 416 });
    const list = await a.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(list.Contents?.map((o) => [o.Key, o.Size])).toEqual([
      ['docs/one.bin', 1 << 20],
      ['empty.bin', 0],
    ]);
    await a.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'empty.bin' }));
    expect(await s3Error(body(b, 'empty.bin'))).toEqual({ name: 'NoSuchKey', status: 404 });
    await a.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'never-was' })); // S3: no error
    expect(await s3Error(a.send(new HeadBucketCommand({ Bucket: 'other' })))).toMatchObject({ status: 404 });
  }, 120_000);

  it('takes a streamed body (the SDK sends it aws-chunked with a trailing checksum)', async () => {
    const bytes = bytesOf(300_000, 9);
    const seen: string[] = [];
    a.middlewareStack.add(
      (next) => async (args) => {
        const h = (args.request as { headers?: Record<string, string> }).headers ?? {};
        seen.push(h['x-amz-content-sha256'] ?? '');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'recordPayloadMode' },
    );
    try {
      await a.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'streamed.bin',
          Body: Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)]),
          ContentLength: bytes.length,
        }),
      );
    } finally {
      a.middlewareStack.remove('recordPayloadMode');
    }
    expect(seen.at(-1)).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER'); // checked against its trailing CRC32
    expect((await body(b, 'streamed.bin')).equals(bytes)).toBe(true);
  }, 60_000);

  it('lists with prefix, delimiter, max-keys and continuation tokens; copies and deletes in bulk', async () => {
    const keys = ['p/a/1', 'p/a/2', 'p/b/1', 'p/c', 'p/d', 'q/1'];
    for (const k of keys) await a.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: k }));
    const top = await a.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'p/', Delimiter: '/' }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['p/a/', 'p/b/']);
    expect(top.Contents?.map((o) => o.Key)).toEqual(['p/c', 'p/d']);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await b.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'p/', MaxKeys: 2, ContinuationToken: token }),
      );
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
      pages++;
    } while (token);
    expect(seen).toEqual(keys.filter((k) => k.startsWith('p/')));
    expect(pages).toBe(3);
    await a.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'q/copy', CopySource: `${BUCKET}/p/c` }));
    expect((await body(b, 'q/copy')).toString()).toBe('p/c');
    const del = await a.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.concat('q/copy').map((Key) => ({ Key })) } }),
    );
    expect(del.Deleted?.length).toBe(7);
    expect((await a.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'q/' }))).KeyCount).toBe(0);
  }, 120_000);

  it('uploads a multipart object with lib-storage; lists and aborts parts', async () => {
    const big = bytesOf(12 << 20, 3);
    await new Upload({
      client: a,
      params: { Bucket: BUCKET, Key: 'big.bin', Body: big },
      partSize: 5 << 20,
      queueSize: 2,
    }).done();
    expect((await body(b, 'big.bin')).equals(big)).toBe(true);
    const up = await a.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.bin' }));
    await a.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: 'aborted.bin',
        UploadId: up.UploadId,
        PartNumber: 1,
        Body: bytesOf(1000, 4),
      }),
    );
    const parts = await a.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'aborted.bin', UploadId: up.UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 1000]]);
    await a.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.bin', UploadId: up.UploadId }));
    expect(
      await s3Error(a.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'aborted.bin', UploadId: up.UploadId }))),
    ).toMatchObject({
      name: 'NoSuchUpload',
      status: 404,
    });
    expect(await s3Error(body(a, 'aborted.bin'))).toMatchObject({ name: 'NoSuchKey' });
  }, 120_000);

  it('two gateways writing one key at once: every write is whole, none shares a version, all gateways agree', async () => {
    const writes = Array.from({ length: 6 }, (_, i) => ({
      via: i % 2 === 0 ? a : b,
      bytes: bytesOf(64 << 10, 100 + i),
    }));
    const etags = await Promise.all(
      writes.map(
        async (w) =>
          (await w.via.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'contended', Body: w.bytes }))).ETag!,
      ),
    );
    expect(new Set(etags).size).toBe(writes.length);
    const fromA = await a.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'contended' }));
    const bytesA = Buffer.from(await fromA.Body!.transformToByteArray());
    const winner = etags.indexOf(fromA.ETag!);
    expect(winner).toBeGreaterThanOrEqual(0);
    expect(bytesA.equals(writes[winner]!.bytes)).toBe(true);
    const fromB = await b.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'contended' }));
    expect(fromB.ETag).toBe(fromA.ETag);
    // A write after all of them, through the other gateway, is what both read next.
    const last = bytesOf(1000, 999);
    await b.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'contended', Body: last }));
    expect((await body(a, 'contended')).equals(last)).toBe(true);
  }, 120_000);

  it('one client writing a key through one gateway, then the other, at once after each answer: every write lands in order', async () => {
    // A gateway answers before it releases the key (its late copies land first); the next write, through the
    // other gateway, waits for that release instead of failing or overtaking it.
    for (let i = 0; i < 6; i++) {
      const bytes = bytesOf(32 << 10, 300 + i);
      await (i % 2 === 0 ? a : b).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'alternating', Body: bytes }));
      expect((await body(i % 2 === 0 ? b : a, 'alternating')).equals(bytes)).toBe(true);
    }
  }, 120_000);
});

describe('S3 gateway refuses', () => {
  /** A PUT signed for `signedBody` (its SHA-256, or a streaming mode) that sends `sent` instead. */
  async function rawPut(
    key: string,
    headers: Record<string, string>,
    sent: Buffer,
    signedSha = headers['x-amz-content-sha256']!,
  ): Promise<{ status: number; text: string }> {
    const url = new URL(gws.urls[0]!);
    const signer = gatewaySigner();
    const signed = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: `/${BUCKET}/${key}`,
      query: {},
      headers: { host: url.host, ...headers, 'x-amz-content-sha256': signedSha, 'content-length': String(sent.length) },
    } as Presignable);
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: signed.path, method: 'PUT', headers: signed.headers },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => {
            text += d.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.end(sent);
    });
  }

  it('a body that is not what was signed, whatever the payload mode: the previous version stays current', async () => {
    // Three segments: the gateway streams the body into the clouds before its last byte is checked.
    const first = bytesOf(9 << 20, 11);
    await a.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'checked.bin', Body: first }));
    const before = await a.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'checked.bin' }));
    const signed = bytesOf(9 << 20, 12);
    const sent = Buffer.from(signed);
    sent[sent.length - 1]! ^= 1;
    const sha = createHash('sha256').update(signed).digest('hex');
    const tampered = await rawPut('checked.bin', {}, sent, sha);
    expect(tampered.status).toBe(400);
    expect(tampered.text).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    // The unsigned streaming mode the SDKs use: the trailing checksum does not match the body.
    const data = bytesOf(6 << 20, 13);
    const chunked = Buffer.concat([
      Buffer.from(`${data.length.toString(16)}\r\n`),
      data,
      Buffer.from('\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'),
    ]);
    const badSum = await rawPut(
      'checked.bin',
      {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(data.length),
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
      chunked,
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    );
    expect(badSum.status).toBe(400);
    expect(badSum.text).toContain('<Code>BadDigest</Code>');
    // A body shorter than the length the client declared it would decode to.
    const short = await rawPut(
      'checked.bin',
      { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length + 1) },
      Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n0\r\n\r\n')]),
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    );
    expect(short.status).toBe(400);
    expect(short.text).toContain('<Code>IncompleteBody</Code>');
    const after = await a.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'checked.bin' }));
    expect(after.ETag).toBe(before.ETag);
    expect((await body(b, 'checked.bin')).equals(first)).toBe(true);
  });

  it('ranges across segments, and a range read stopped early leaves the gateway serving', async () => {
    const big = bytesOf(9 << 20, 14);
    await a.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'ranged.bin', Body: big }));
    const across = `bytes=${(4 << 20) - 10}-${(4 << 20) + 9}`;
    expect((await body(a, 'ranged.bin', across)).equals(big.subarray((4 << 20) - 10, (4 << 20) + 10))).toBe(true);
    expect((await body(a, 'ranged.bin', 'bytes=0-99')).equals(big.subarray(0, 100))).toBe(true);
    expect((await body(a, 'ranged.bin', 'bytes=-5')).equals(big.subarray(big.length - 5))).toBe(true);
    expect((await body(a, 'ranged.bin')).equals(big)).toBe(true);
  });

  it('a bad signature, an unknown key, a skewed clock', async () => {
    const wrong = s3(gws.urls[0]!, { accessKeyId: rw.accessKeyId, secretAccessKey: `${rw.secretAccessKey.slice(1)}x` });
    expect(await s3Error(wrong.send(new ListBucketsCommand({})))).toEqual({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    const unknown = s3(gws.urls[0]!, { accessKeyId: 'TCAAAAAAAAAAAAAAAAAA', secretAccessKey: 'x'.repeat(40) });
    expect(await s3Error(unknown.send(new ListBucketsCommand({})))).toEqual({
      name: 'InvalidAccessKeyId',
      status: 403,
    });
    const skewed = s3(gws.urls[0]!, rw, { systemClockOffset: -20 * 60_000 });
    expect(await s3Error(skewed.send(new ListBucketsCommand({})))).toEqual({
      name: 'RequestTimeTooSkewed',
      status: 403,
    });
  });

  /** A presigned GET URL of `key` on the first gateway, signed `agoMs` ago. */
  async function presignedGet(key: string, agoMs = 0): Promise<string> {
    const signer = gatewaySigner();
    const url = new URL(gws.urls[0]!);
    const request = {
      method: 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: `/${BUCKET}/${key}`,
      query: {},
      // As @aws-sdk/s3-request-presigner does: presigned URLs leave the payload unsigned.
      headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    } as Presignable;
    const r = await signer.presign(request, { expiresIn: 60, signingDate: new Date(Date.now() - agoMs) });
    return `${gws.urls[0]}${r.path}?${Object.entries(r.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&')}`;
  }

  it('an expired presigned URL (a fresh one works)', async () => {
    await a.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'shared.txt', Body: 'hello' }));
    const ok = await fetch(await presignedGet('shared.txt'));
    expect([ok.status, await ok.text()]).toEqual([200, 'hello']);
    const refused = await fetch(await presignedGet('shared.txt', 5 * 60_000));
    expect(refused.status).toBe(403);
    const text = await refused.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('Request has expired');
  });

  it('a GET read slowly, beside one read at full speed, gets every byte (segment memory is reused only once sent)', async () => {
    // Six segments: the gateway reuses the memory of a segment for a later one once the socket took its bytes.
    const data = bytesOf(24 << 20, 33);
    await a.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'slow.bin', Body: data }));
    const url = await presignedGet('slow.bin');
    const slow = new Promise<Buffer>((resolve, reject) => {
      http
        .get(url, (res) => {
          const chunks: Buffer[] = [];
          // One chunk per turn of the event loop: the gateway's socket stays full and its writes wait.
          res.on('data', (c: Buffer) => {
            chunks.push(Buffer.from(c));
            res.pause();
            setImmediate(() => res.resume());
          });
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    const [slowBytes, fastBytes] = await Promise.all([slow, body(b, 'slow.bin')]);
    expect(fastBytes.equals(data)).toBe(true);
    expect(slowBytes.equals(data)).toBe(true);
  }, 120_000);

  it('a client that goes away in the middle of a GET: the gateway stops serving it', async () => {
    // Far more than the socket buffers hold: the gateway is waiting for the client to read when it goes.
    await a.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'abandoned.bin', Body: bytesOf(40 << 20, 21) }));
    const url = await presignedGet('abandoned.bin');
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET answered ${res.statusCode}`));
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
    });
    const inFlight = () => Number(gws.roles[0]!.health().s3InFlight);
    const deadline = Date.now() + 60_000;
    while (inFlight() > 0) {
      expect(Date.now(), 'the abandoned GET is still being served').toBeLessThan(deadline);
      await new Promise((res) => setTimeout(res, 50));
    }
    // And it serves the next one whole.
    expect((await body(b, 'abandoned.bin')).length).toBe(40 << 20);
  }, 120_000);

  it('a read-only key writing, a key scoped to another bucket, and a revoked key', async () => {
    await a.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'shared.txt', Body: 'hello' }));
    const ro = await gws.issue({ readOnly: true });
    const roClient = s3(gws.urls[1]!, ro);
    expect((await body(roClient, 'shared.txt')).toString()).toBe('hello');
    expect(await s3Error(roClient.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'x', Body: 'x' })))).toEqual({
      name: 'AccessDenied',
      status: 403,
    });
    const photos = await gws.issue({ buckets: [`${BUCKET}.photos`] });
    const pc = s3(gws.urls[0]!, photos);
    await pc.send(new PutObjectCommand({ Bucket: `${BUCKET}.photos`, Key: 'cat.jpg', Body: 'meow' }));
    expect((await body(a, 'photos/cat.jpg')).toString()).toBe('meow');
    expect(await s3Error(pc.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'shared.txt' })))).toEqual({
      name: 'AccessDenied',
      status: 403,
    });
    expect(await s3Error(pc.send(new ListObjectsV2Command({ Bucket: `${BUCKET}.docs` })))).toEqual({
      name: 'AccessDenied',
      status: 403,
    });
    await gws.revoke(ro.accessKeyId);
    // Gateways reload the key list within CREDENTIALS_TTL_MS: wait for the refusal, not a fixed time.
    let refused: { name: string; status: number | undefined } | undefined;
    const deadline = Date.now() + 30_000;
    while (!refused && Date.now() < deadline) {
      refused = await roClient
        .send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'shared.txt' }))
        .then(() => undefined)
        .catch((e: { name: string; $metadata?: { httpStatusCode?: number } }) => ({
          name: e.name,
          status: e.$metadata?.httpStatusCode,
        }));
      if (!refused) await new Promise((r) => setTimeout(r, 100));
    }
    expect(refused).toMatchObject({ status: 403 });
    expect(await s3Error(roClient.send(new ListBucketsCommand({})))).toEqual({
      name: 'InvalidAccessKeyId',
      status: 403,
    });
  }, 60_000);

  it('a key longer than a cloud accepts, before any cloud is asked', async () => {
    // 300 characters pass the data unit name check (1-512) but not a 255-byte directory entry.
    expect(await s3Error(a.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k'.repeat(300), Body: 'x' })))).toEqual({
      name: 'KeyTooLongError',
      status: 400,
    });
  });

  it('a reserved key (hidden from listings)', async () => {
    expect(
      await s3Error(a.send(new GetObjectCommand({ Bucket: BUCKET, Key: '.tclouds/s3-credentials' }))),
    ).toMatchObject({
      name: 'AccessDenied',
    });
    const keys = (await a.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents?.map((o) => o.Key) ?? [];
    expect(keys.some((k) => k!.startsWith('.tclouds/'))).toBe(false);
  });
});
