/**
 * Bucket operations: ListBuckets (the buckets the access key is scoped to), HeadBucket, GetBucketLocation,
 * CreateBucket of a bucket that exists already (tools call it; buckets are the component and its prefixes,
 * nothing to create) and ListObjects v1/v2 (./listing.ts pages; each listed object is stat'ed for its size and
 * version, a few at a time).
 */
import { etagOf, LAST_MODIFIED, type S3Call, type S3Gateway, sendEmpty, sendXml } from './context.js';
import { bucketPrefix, RESERVED_PREFIX, visibleBuckets } from './credentials.js';
import { S3Error } from './errors.js';
import { decodeToken, encodeToken, listPage, parseMaxKeys } from './listing.js';
import { uriEncode } from './sigv4.js';
import type { XmlNode } from './xml.js';

/** Objects stat'ed at once while a listing page is filled. */
const STAT_CONCURRENCY = 8;
/** The region the gateway reports (any region in a client's signature is accepted). */
export const GATEWAY_REGION = 'us-east-1';

export function requireBucket(gw: S3Gateway, bucket: string): string {
  const prefix = bucketPrefix(gw.component, bucket);
  if (prefix === undefined)
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket });
  return prefix;
}

export function listBuckets(gw: S3Gateway, call: S3Call): void {
  const buckets = visibleBuckets(call.record).filter((b) => bucketPrefix(gw.component, b) !== undefined);
  sendXml(call, 200, 'ListAllMyBucketsResult', {
    Owner: { ID: gw.component, DisplayName: gw.component },
    Buckets: { Bucket: buckets.map((b) => ({ Name: b, CreationDate: LAST_MODIFIED.toISOString() })) },
  });
}

export function headBucket(gw: S3Gateway, call: S3Call): void {
  requireBucket(gw, call.bucket!);
  sendEmpty(call, 200, { 'x-amz-bucket-region': GATEWAY_REGION });
}

export function createBucket(gw: S3Gateway, call: S3Call): void {
  requireBucket(gw, call.bucket!);
  call.req.resume();
  sendEmpty(call, 200, { location: `/${call.bucket}` });
}

export function bucketLocation(gw: S3Gateway, call: S3Call): void {
  requireBucket(gw, call.bucket!);
  sendXml(call, 200, 'LocationConstraint', {});
}

export function listUploads(gw: S3Gateway, call: S3Call): void {
  requireBucket(gw, call.bucket!);
  sendXml(call, 200, 'ListMultipartUploadsResult', { Bucket: call.bucket, IsTruncated: false });
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function listObjects(gw: S3Gateway, call: S3Call): Promise<void> {
  const prefixOfBucket = requireBucket(gw, call.bucket!);
  const q = call.query;
  const v2 = q.get('list-type') === '2';
  const token = q.get('continuation-token');
  const after = v2
    ? token !== undefined
      ? decodeToken(token)
      : (q.get('start-after') ?? '')
    : (q.get('marker') ?? '');
  const req = {
    prefix: q.get('prefix') ?? '',
    delimiter: q.get('delimiter') ?? '',
    maxKeys: parseMaxKeys(q.get('max-keys')),
    after,
  };
  const all = (await gw.client.ls()).dataUnits
    .filter((du) => du.startsWith(prefixOfBucket) && !du.startsWith(RESERVED_PREFIX))
    .map((du) => du.slice(prefixOfBucket.length))
    .sort();
  const page = listPage(all, req);
  const stats = await mapLimited(page.keys, STAT_CONCURRENCY, (k) =>
    gw.client.stat(prefixOfBucket + k).catch(() => undefined),
  );
  const url = q.get('encoding-type') === 'url';
  const enc = (s: string) => (url ? uriEncode(s).replace(/%2F/g, '/') : s);
  const contents: XmlNode[] = [];
  page.keys.forEach((k, i) => {
    const st = stats[i];
    if (!st) return; // removed between the listing and the stat
    contents.push({
      Key: enc(k),
      LastModified: LAST_MODIFIED.toISOString(),
      ETag: etagOf(prefixOfBucket + k, st.version),
      Size: st.size,
      StorageClass: 'STANDARD',
    });
  });
  const common = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
  const paging: XmlNode = v2
    ? {
        KeyCount: contents.length + common.length,
        ContinuationToken: token,
        NextContinuationToken: page.truncated ? encodeToken(page.last!) : undefined,
        StartAfter: q.has('start-after') ? enc(q.get('start-after')!) : undefined,
      }
    : { Marker: enc(req.after), NextMarker: page.truncated ? enc(page.last!) : undefined };
  sendXml(call, 200, 'ListBucketResult', {
    Name: call.bucket,
    Prefix: enc(req.prefix),
    Delimiter: req.delimiter === '' ? undefined : enc(req.delimiter),
    MaxKeys: req.maxKeys,
    EncodingType: url ? 'url' : undefined,
    IsTruncated: page.truncated,
    ...paging,
    Contents: contents,
    CommonPrefixes: common,
  });
}
