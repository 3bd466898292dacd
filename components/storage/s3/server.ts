/**
 * The S3 REST API of a storage gateway (path-style: `/<bucket>/<key>`): authenticates every request with
 * Signature V4 (./sigv4.ts) against the component's access keys (./credentials.ts), checks the key's scope,
 * dispatches to the operation and answers failures as S3 XML errors with S3's status codes.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { bucketLocation, createBucket, headBucket, listBuckets, listObjects, listUploads } from './buckets.js';
import type { S3Call, S3Gateway } from './context.js';
import { authorize } from './credentials.js';
import { S3Error, toS3Error } from './errors.js';
import { getObject } from './get-object.js';
import { abortUpload, completeUpload, createUpload, listParts, uploadPart } from './multipart.js';
import { copyObject, deleteObject, deleteObjects, headObject, putObject } from './objects.js';
import { parseQuery, parseSignedRequest, payloadMode, scopeOf, verifySignature } from './sigv4.js';
import { errorDocument } from './xml.js';

type Handler = (gw: S3Gateway, call: S3Call) => void | Promise<void>;

/** Which handler serves a request, and whether it changes objects (read-only keys may not). */
function route(call: S3Call): { handler: Handler; write: boolean } {
  const { method, bucket, key, query: q } = call;
  const ro = (handler: Handler) => ({ handler, write: false });
  const rw = (handler: Handler) => ({ handler, write: true });
  if (bucket === undefined) {
    if (method === 'GET') return ro(listBuckets);
  } else if (key === undefined) {
    if (method === 'HEAD') return ro(headBucket);
    if (method === 'GET' && q.has('location')) return ro(bucketLocation);
    if (method === 'GET' && q.has('uploads')) return ro(listUploads);
    if (method === 'GET') return ro(listObjects);
    if (method === 'POST' && q.has('delete')) return rw(deleteObjects);
    if (method === 'PUT' && q.size === 0) return rw(createBucket);
  } else {
    const upload = q.has('uploadId');
    if (method === 'PUT' && upload && call.req.headers['x-amz-copy-source'] === undefined) return rw(uploadPart);
    if (method === 'PUT' && upload) throw new S3Error('NotImplemented', 'UploadPartCopy is not supported');
    if (method === 'PUT' && call.req.headers['x-amz-copy-source'] !== undefined) return rw(copyObject);
    if (method === 'PUT') return rw(putObject);
    if (method === 'GET' && upload) return ro(listParts);
    if (method === 'GET') return ro(getObject);
    if (method === 'HEAD') return ro(headObject);
    if (method === 'POST' && q.has('uploads')) return rw(createUpload);
    if (method === 'POST' && upload) return rw(completeUpload);
    if (method === 'DELETE' && upload) return rw(abortUpload);
    if (method === 'DELETE') return rw(deleteObject);
  }
  throw new S3Error('MethodNotAllowed', `${method} is not supported on this resource`);
}

function splitPath(rawPath: string): { bucket: string | undefined; key: string | undefined } {
  const trimmed = rawPath.replace(/^\//, '');
  if (trimmed === '') return { bucket: undefined, key: undefined };
  const i = trimmed.indexOf('/');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new S3Error('InvalidArgument', 'malformed percent-encoding in the path');
    }
  };
  if (i < 0 || i === trimmed.length - 1) return { bucket: decode(trimmed.replace(/\/$/, '')), key: undefined };
  return { bucket: decode(trimmed.slice(0, i)), key: decode(trimmed.slice(i + 1)) };
}

/** Authenticates the request and builds the call; throws the S3 error to answer otherwise. */
async function authenticate(
  gw: S3Gateway,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  requestId: string,
): Promise<S3Call> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const parts = {
    method: req.method ?? 'GET',
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    headers: req.headers,
  };
  const pairs = parseQuery(parts.query);
  const signed = parseSignedRequest(parts, pairs);
  if (!signed) throw new S3Error('AccessDenied', 'Anonymous access is not allowed: sign requests with an access key');
  const { record, secret } = await gw.credentials.lookup(signed.accessKeyId);
  const key = verifySignature(parts, signed, pairs, secret, Date.now());
  const mode = payloadMode(signed.presigned ? undefined : signed.payloadHash);
  const signing =
    mode.kind === 'streaming-signed'
      ? { key, amzDate: signed.amzDate, scope: scopeOf(signed), seedSignature: signed.signature }
      : undefined;
  return {
    req,
    res,
    method: parts.method,
    ...splitPath(parts.path),
    query: new Map(pairs),
    record,
    body: { mode, ...(signing ? { signing } : {}) },
    requestId,
  };
}

export async function handleS3(gw: S3Gateway, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  let call: S3Call | undefined;
  try {
    call = await authenticate(gw, req, res, requestId);
    const { handler, write } = route(call);
    if (call.bucket !== undefined) authorize(call.record, gw.component, call.bucket, write);
    await handler(gw, call);
  } catch (e) {
    const err = toS3Error(e, call?.key);
    if (err.status >= 500) gw.log.warn('s3 request failed', { code: err.code, message: err.message });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // The body may be unread (refused before it was needed): close the connection rather than read it.
    const body =
      req.method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(errorDocument(err.code, err.message, err.extra, requestId));
    res.writeHead(err.status, {
      'content-type': 'application/xml',
      'content-length': String(body.length),
      'x-amz-request-id': requestId,
      ...(req.complete ? {} : { connection: 'close' }),
    });
    res.end(body);
    if (!req.complete) req.resume();
  }
}
