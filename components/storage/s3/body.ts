/**
 * Request bodies of the S3 API: decoded (aws-chunked when the client streams), checked against what the request
 * signed (a hex SHA-256, chunk signatures, or a trailing x-amz-checksum-*), counted against a limit, and spooled
 * to a private file or read into memory (the small XML bodies). Nothing is used before every check passed.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import type http from 'node:http';
import { type Readable, pipeline as streamPipeline, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsChunkedDecoder, ChecksumTap, type ChunkSigning } from './chunked.js';
import { S3Error } from './errors.js';
import type { PayloadMode } from './sigv4.js';

export interface BodyAuth {
  mode: PayloadMode;
  /** Set for signed streaming uploads. */
  signing?: ChunkSigning;
}

export interface SpooledBody {
  size: number;
  /** hex MD5 of the decoded body (S3 part ETags), when asked for; '' otherwise. */
  md5: string;
}

const CHECKSUM_HEADER = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/;

function claimedChecksum(req: http.IncomingMessage): { algorithm: string; value: string } | undefined {
  for (const [name, value] of Object.entries(req.headers)) {
    const m = CHECKSUM_HEADER.exec(name);
    if (m && typeof value === 'string') return { algorithm: m[1]!, value };
  }
  const trailer = String(req.headers['x-amz-trailer'] ?? '').toLowerCase();
  const m = CHECKSUM_HEADER.exec(trailer);
  return m ? { algorithm: m[1]!, value: '' } : undefined;
}

/**
 * The decoded body as a stream whose every check runs before its end: a consumer sees either the whole body
 * followed by a clean end, or an error (the S3 error of the first check that failed). A streamed DepSky write
 * of it therefore commits nothing unless the body was exactly what the request signed.
 */
export interface CheckedBody {
  stream: Readable;
  /** Size and MD5 once the stream ended cleanly. */
  summary(): SpooledBody;
  /** The S3 error that broke the stream, if one did (a consumer may only see its own wrapping of it). */
  failure(): S3Error | undefined;
}

export function checkedBody(req: http.IncomingMessage, auth: BodyAuth, maxBytes: number, wantMd5 = false): CheckedBody {
  const streaming = auth.mode.kind === 'streaming-signed' || auth.mode.kind === 'streaming-unsigned-trailer';
  const decoder = streaming ? new AwsChunkedDecoder(auth.signing) : undefined;
  const mode = auth.mode;
  const sha = mode.kind === 'sha256' ? createHash('sha256') : undefined;
  const md5 = wantMd5 ? createHash('md5') : undefined;
  // A body covered by the signature (its SHA-256 signed, or every chunk signed) needs no second check; an
  // unsigned one is protected by the checksum the client sent (header or trailer).
  const signedBody = mode.kind === 'sha256' || mode.kind === 'streaming-signed';
  const claimed = signedBody ? undefined : claimedChecksum(req);
  const tap = claimed ? new ChecksumTap(claimed.algorithm) : undefined;
  let size = 0;
  let failure: S3Error | undefined;
  const fail = (e: unknown): Error => {
    if (e instanceof S3Error) failure ??= e;
    return e as Error;
  };
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      size += chunk.length;
      if (size > maxBytes) {
        return cb(fail(new S3Error('EntityTooLarge', `Your proposed upload exceeds ${maxBytes} bytes.`)));
      }
      sha?.update(chunk);
      md5?.update(chunk);
      tap?.update(chunk);
      cb(null, chunk);
    },
    // Runs after the last byte and before the end reaches the consumer: the place for whole-body checks.
    flush(cb) {
      try {
        if (sha && mode.kind === 'sha256' && sha.digest('hex') !== mode.digest) {
          throw new S3Error(
            'XAmzContentSHA256Mismatch',
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
          );
        }
        const decodedLength = req.headers['x-amz-decoded-content-length'];
        if (streaming && decodedLength !== undefined && Number(decodedLength) !== size) {
          throw new S3Error('IncompleteBody', 'x-amz-decoded-content-length does not match the body');
        }
        if (claimed && tap) {
          tap.check(claimed.value || decoder?.trailers.get(`x-amz-checksum-${claimed.algorithm}`) || '');
        }
        cb();
      } catch (e) {
        cb(fail(e));
      }
    },
  });
  // The decoder's own failures (a bad chunk signature) arrive as errors of the returned stream too.
  const stream = decoder
    ? streamPipeline(req, decoder, counter, (e) => e && fail(e))
    : streamPipeline(req, counter, (e) => e && fail(e));
  return {
    stream: stream as Readable,
    summary: () => ({ size, md5: md5?.digest('hex') ?? '' }),
    failure: () => failure,
  };
}

/** Pipes the checked body into `sink`; throws the S3 error of the first check that fails. */
async function receive(
  req: http.IncomingMessage,
  auth: BodyAuth,
  maxBytes: number,
  sink: Writable,
  wantMd5 = false,
): Promise<SpooledBody> {
  const body = checkedBody(req, auth, maxBytes, wantMd5);
  try {
    await pipeline(body.stream, sink);
  } catch (e) {
    throw body.failure() ?? e;
  }
  return body.summary();
}

/** Spools the body to `file` (mode 0600); removes the file when a check fails. */
export async function spoolBody(
  req: http.IncomingMessage,
  auth: BodyAuth,
  file: string,
  maxBytes: number,
  wantMd5 = false,
): Promise<SpooledBody> {
  try {
    return await receive(req, auth, maxBytes, createWriteStream(file, { mode: 0o600 }), wantMd5);
  } catch (e) {
    await fs.rm(file, { force: true });
    throw e;
  }
}

/** A small body (XML) in memory. */
export async function readBody(req: http.IncomingMessage, auth: BodyAuth, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await receive(
    req,
    auth,
    maxBytes,
    new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(chunks);
}
