/**
 * Multipart uploads: parts are spooled on the gateway that created the upload (`<dataDir>/s3-multipart/<id>/`),
 * never held in memory; Complete concatenates them into one file and stores it as the key's next version in write
 * order. The upload id is the directory name, so a part sent to another gateway finds no upload (NoSuchUpload):
 * a client keeps one gateway for one upload (what a load balancer's connection affinity gives).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { readBody, spoolBody } from './body.js';
import { LAST_MODIFIED, requireKey, type S3Call, type S3Gateway, sendEmpty, sendXml } from './context.js';
import { S3Error } from './errors.js';
import { duOf, spoolFile, storeFile } from './objects.js';
import { MAX_XML_BODY_BYTES, parseCompleteMultipart } from './xml.js';

/** S3's bounds: part numbers, the least size of every part but the last, the largest part. */
export const MAX_PART_NUMBER = 10_000;
export const MIN_PART_BYTES = 5 << 20;
export const MAX_PART_BYTES = 5 * 1024 ** 3;

interface UploadInfo {
  bucket: string;
  key: string;
  du: string;
  accessKeyId: string;
  initiated: string;
}

interface PartInfo {
  partNumber: number;
  size: number;
  etag: string;
}

function uploadDir(gw: S3Gateway, call: S3Call): string {
  const id = call.query.get('uploadId') ?? '';
  if (!/^[0-9a-f]{32}$/.test(id)) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
  return path.join(gw.multipartDir, id);
}

async function openUpload(gw: S3Gateway, call: S3Call): Promise<{ dir: string; info: UploadInfo }> {
  const dir = uploadDir(gw, call);
  const text = await fs.readFile(path.join(dir, 'upload.json'), 'utf8').catch(() => undefined);
  const info = text ? (JSON.parse(text) as UploadInfo) : undefined;
  if (!info || info.bucket !== call.bucket || info.key !== call.key) {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', {
      UploadId: call.query.get('uploadId') ?? '',
    });
  }
  return { dir, info };
}

const partFile = (dir: string, n: number) => path.join(dir, `part-${String(n).padStart(5, '0')}`);

async function parts(dir: string): Promise<PartInfo[]> {
  const names = (await fs.readdir(dir)).filter((n) => /^part-\d{5}\.json$/.test(n)).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await fs.readFile(path.join(dir, n), 'utf8')) as PartInfo));
}

export async function createUpload(gw: S3Gateway, call: S3Call): Promise<void> {
  const key = requireKey(call);
  const du = duOf(gw, call.bucket!, key);
  call.req.resume();
  const id = randomBytes(16).toString('hex');
  const dir = path.join(gw.multipartDir, id);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const info: UploadInfo = {
    bucket: call.bucket!,
    key,
    du,
    accessKeyId: call.record.accessKeyId,
    initiated: new Date().toISOString(),
  };
  await fs.writeFile(path.join(dir, 'upload.json'), JSON.stringify(info), { mode: 0o600 });
  sendXml(call, 200, 'InitiateMultipartUploadResult', { Bucket: call.bucket, Key: key, UploadId: id });
}

export async function uploadPart(gw: S3Gateway, call: S3Call): Promise<void> {
  const n = Number(call.query.get('partNumber'));
  if (!Number.isInteger(n) || n < 1 || n > MAX_PART_NUMBER) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`);
  }
  const { dir } = await openUpload(gw, call);
  const tmp = spoolFile(gw);
  const body = await spoolBody(call.req, call.body, tmp, MAX_PART_BYTES, true);
  const etag = `"${body.md5}"`;
  await fs.rename(tmp, partFile(dir, n));
  const part: PartInfo = { partNumber: n, size: body.size, etag };
  await fs.writeFile(`${partFile(dir, n)}.json`, JSON.stringify(part), { mode: 0o600 });
  sendEmpty(call, 200, { etag });
}

export async function listParts(gw: S3Gateway, call: S3Call): Promise<void> {
  const { dir, info } = await openUpload(gw, call);
  const list = await parts(dir);
  sendXml(call, 200, 'ListPartsResult', {
    Bucket: call.bucket,
    Key: info.key,
    UploadId: call.query.get('uploadId'),
    PartNumberMarker: 0,
    NextPartNumberMarker: list.at(-1)?.partNumber ?? 0,
    MaxParts: MAX_PART_NUMBER,
    IsTruncated: false,
    Part: list.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: LAST_MODIFIED.toISOString(),
      ETag: p.etag,
      Size: p.size,
    })),
  });
}

export async function abortUpload(gw: S3Gateway, call: S3Call): Promise<void> {
  const { dir } = await openUpload(gw, call);
  await fs.rm(dir, { recursive: true, force: true });
  sendEmpty(call, 204);
}

/** The parts a Complete request names, checked against the spooled ones (order, ETags, sizes). */
function checkCompletion(named: { partNumber: number; etag: string }[], have: PartInfo[]): PartInfo[] {
  if (named.length === 0) throw new S3Error('MalformedXML', 'CompleteMultipartUpload names no part');
  const byNumber = new Map(have.map((p) => [p.partNumber, p]));
  return named.map((p, i) => {
    if (i > 0 && p.partNumber <= named[i - 1]!.partNumber) {
      throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order.');
    }
    const got = byNumber.get(p.partNumber);
    const unquoted = (s: string) => s.replace(/^"|"$/g, '');
    if (!got || (p.etag !== '' && unquoted(p.etag) !== unquoted(got.etag))) {
      throw new S3Error('InvalidPart', `part ${p.partNumber} was not uploaded or its ETag differs`);
    }
    if (i < named.length - 1 && got.size < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
    }
    return got;
  });
}

export async function completeUpload(gw: S3Gateway, call: S3Call): Promise<void> {
  const { dir, info } = await openUpload(gw, call);
  const xml = await readBody(call.req, call.body, MAX_XML_BODY_BYTES);
  const chosen = checkCompletion(parseCompleteMultipart(xml.toString('utf8')), await parts(dir));
  const whole = spoolFile(gw);
  try {
    const out = await fs.open(whole, 'w', 0o600);
    try {
      for (const p of chosen) {
        for await (const chunk of createReadStream(partFile(dir, p.partNumber), { highWaterMark: 1 << 20 })) {
          await out.write(chunk as Buffer);
        }
      }
    } finally {
      await out.close();
    }
    const { etag } = await storeFile(gw, info.du, whole);
    await fs.rm(dir, { recursive: true, force: true });
    sendXml(call, 200, 'CompleteMultipartUploadResult', {
      Location: `/${call.bucket}/${info.key}`,
      Bucket: call.bucket,
      Key: info.key,
      // The object's ETag names its version, the same that HEAD and listings report (not an MD5 of MD5s).
      ETag: etag,
    });
  } finally {
    await fs.rm(whole, { force: true });
  }
}
