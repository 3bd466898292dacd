/**
 * Object operations of the S3 API over the DepSky client: PutObject, GetObject (with Range), HeadObject,
 * DeleteObject, DeleteObjects and CopyObject. An object key of bucket B is the data unit `<prefix of B><key>`.
 * Writes go through the write order (./write-order.ts); reads verify every byte before it is sent.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { isTcError } from '../../../kernel/errors.js';
import { StorageCode } from '../codes.js';
import { checkNameFitsClouds } from '../name-limits.js';
import { checkDataUnitName } from '../protocol/names.js';
import { checkedBody, readBody } from './body.js';
import {
  etagOf,
  LAST_MODIFIED,
  MAX_KEY_CHARS,
  requireKey,
  type S3Call,
  type S3Gateway,
  sendEmpty,
  sendXml,
} from './context.js';
import { authorize, bucketPrefix, RESERVED_PREFIX } from './credentials.js';
import { S3Error, toS3Error } from './errors.js';
import { inWriteOrder } from './write-order.js';
import { MAX_XML_BODY_BYTES, parseDeleteObjects, type XmlNode } from './xml.js';

export function spoolFile(gw: S3Gateway): string {
  return path.join(gw.spool, `${randomBytes(8).toString('hex')}.tmp`);
}

/** The data unit of `key` in `bucket`; S3 errors for keys DepSky cannot name or the gateway keeps for itself. */
export function duOf(gw: S3Gateway, bucket: string, key: string): string {
  const prefix = bucketPrefix(gw.component, bucket);
  if (prefix === undefined)
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket });
  const du = prefix + key;
  if (du.startsWith(RESERVED_PREFIX)) throw new S3Error('AccessDenied', `keys under ${RESERVED_PREFIX} are reserved`);
  if (du.length > MAX_KEY_CHARS)
    throw new S3Error('KeyTooLongError', `keys are at most ${MAX_KEY_CHARS - prefix.length} characters here`);
  const why = checkDataUnitName(du);
  if (why) throw new S3Error('InvalidArgument', `key ${JSON.stringify(key)} ${why}`);
  try {
    checkNameFitsClouds(du, gw.client.drivers);
  } catch (e) {
    throw new S3Error('KeyTooLongError', (e as Error).message);
  }
  return du;
}

export function lastModified(): string {
  return LAST_MODIFIED.toUTCString();
}

/** Stores `file` as the next version of `du` in write order; returns the S3 ETag. */
export async function storeFile(gw: S3Gateway, du: string, file: string): Promise<{ etag: string; size: number }> {
  const r = await inWriteOrder(gw.queue, gw.fresh, du, (c, signal) => c.put(du, { file }, { signal }));
  gw.onBytes('in', r.size);
  return { etag: etagOf(du, r.version), size: r.size };
}

/**
 * The body streams straight into the DepSky write (segments reach the clouds while the client still sends), and
 * the write commits only when the stream ended cleanly, i.e. after every check of checkedBody passed. Memory
 * stays bounded whatever the size. DepSky-CA spools nothing; DepSky-A hashes the whole value before any cloud gets
 * it, so the client spools it to a private temporary file first.
 */
export async function putObject(gw: S3Gateway, call: S3Call): Promise<void> {
  const du = duOf(gw, call.bucket!, requireKey(call));
  const body = checkedBody(call.req, call.body, gw.maxBodyBytes);
  let r: { version: string; size: number };
  try {
    r = await inWriteOrder(gw.queue, gw.fresh, du, (c, signal) => {
      // A write that lost its lock stops reading at once, even while the client is between two chunks.
      signal.addEventListener('abort', () => body.stream.destroy(signal.reason as Error), { once: true });
      return c.put(du, { stream: body.stream }, { signal });
    });
  } catch (e) {
    body.stream.destroy();
    // The client library sees a broken input; the answer names the check that broke it.
    throw body.failure() ?? e;
  }
  gw.onBytes('in', r.size);
  sendEmpty(call, 200, { etag: etagOf(du, r.version) });
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` to [start, end) within `size`; InvalidRange when it selects nothing. */
export function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // S3 ignores ranges it cannot parse
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  }
  if (start >= size || start >= end) {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: header });
  }
  return { start, end };
}

export function objectHeaders(du: string, version: string, length: number): Record<string, string> {
  return {
    'content-type': 'application/octet-stream',
    'content-length': String(length),
    etag: etagOf(du, version),
    'last-modified': lastModified(),
    'accept-ranges': 'bytes',
    'x-tclouds-version': version,
  };
}

export async function headObject(gw: S3Gateway, call: S3Call): Promise<void> {
  const key = requireKey(call);
  const du = duOf(gw, call.bucket!, key);
  const info = await gw.client.stat(du).catch((e: unknown) => {
    throw toS3Error(e, key);
  });
  sendEmpty(call, 200, { ...objectHeaders(du, info.version, info.size), 'content-length': String(info.size) });
}

/** Removes `du`; a key that does not exist is no error (S3 semantics). */
async function removeDu(gw: S3Gateway, du: string): Promise<void> {
  await inWriteOrder(gw.queue, gw.fresh, du, (c) => c.rm(du)).catch((e: unknown) => {
    if (!(isTcError(e) && e.code === StorageCode.notFound)) throw e;
  });
}

export async function deleteObject(gw: S3Gateway, call: S3Call): Promise<void> {
  await removeDu(gw, duOf(gw, call.bucket!, requireKey(call)));
  sendEmpty(call, 204);
}

export async function deleteObjects(gw: S3Gateway, call: S3Call): Promise<void> {
  const body = await readBody(call.req, call.body, MAX_XML_BODY_BYTES);
  const { keys, quiet } = parseDeleteObjects(body.toString('utf8'));
  const deleted: XmlNode[] = [];
  const errors: XmlNode[] = [];
  for (const key of keys) {
    try {
      await removeDu(gw, duOf(gw, call.bucket!, key));
      if (!quiet) deleted.push({ Key: key });
    } catch (e) {
      const s3 = toS3Error(e, key);
      errors.push({ Key: key, Code: s3.code, Message: s3.message });
    }
  }
  sendXml(call, 200, 'DeleteResult', { Deleted: deleted, Error: errors });
}

/** `x-amz-copy-source: [/]bucket/key` (URL-encoded) to its bucket and key. */
export function parseCopySource(header: string): { bucket: string; key: string } {
  let s: string;
  try {
    s = decodeURIComponent(header.split('?')[0]!).replace(/^\//, '');
  } catch {
    throw new S3Error('InvalidArgument', 'x-amz-copy-source is not valid URL encoding');
  }
  const i = s.indexOf('/');
  if (i <= 0 || i === s.length - 1) throw new S3Error('InvalidArgument', 'x-amz-copy-source must be bucket/key');
  return { bucket: s.slice(0, i), key: s.slice(i + 1) };
}

export async function copyObject(gw: S3Gateway, call: S3Call): Promise<void> {
  const dest = duOf(gw, call.bucket!, requireKey(call));
  const src = parseCopySource(String(call.req.headers['x-amz-copy-source']));
  authorize(call.record, gw.component, src.bucket, false);
  const srcDu = duOf(gw, src.bucket, src.key);
  call.req.resume();
  const { bytes } = await gw.client.get(srcDu).catch((e: unknown) => {
    throw toS3Error(e, src.key);
  });
  const r = await inWriteOrder(gw.queue, gw.fresh, dest, (c, signal) => c.put(dest, bytes, { signal }));
  sendXml(call, 200, 'CopyObjectResult', { ETag: etagOf(dest, r.version), LastModified: LAST_MODIFIED.toISOString() });
}
