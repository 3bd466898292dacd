/**
 * The `aws-chunked` content encoding of the SDKs' streaming uploads:
 *
 *   <hex size>[;chunk-signature=<sig>]\r\n <data> \r\n ... 0[;chunk-signature=<sig>]\r\n [<trailer>:<value>\r\n]* \r\n
 *
 * With STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] every chunk is signed, chained from the request's (seed)
 * signature: sig_i = HMAC(signingKey, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n" sig_{i-1} "\n"
 * sha256("") "\n" sha256(data_i)), and the trailer by "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope "\n" sig_last
 * "\n" sha256(trailer lines). STREAMING-UNSIGNED-PAYLOAD-TRAILER carries no chunk signatures: the trailer's
 * checksum (x-amz-checksum-*) protects the body. The decoder passes the data on as it arrives; the caller commits
 * nothing before the stream ended without error.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { S3Error } from './errors.js';
import { EMPTY_SHA256, hexEqual, hmacHex } from './sigv4.js';

/** Longest chunk header or trailer line accepted. */
const MAX_LINE_BYTES = 8192;
/** Most trailer lines accepted. */
const MAX_TRAILERS = 16;

export interface ChunkSigning {
  key: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

/** Running checksums of a body, for the algorithm a client names in x-amz-checksum-* (crc32, sha1, sha256). */
export class ChecksumTap {
  private crc = 0;
  private readonly hash: Hash | undefined;
  constructor(readonly algorithm: string) {
    this.hash = algorithm === 'sha1' || algorithm === 'sha256' ? createHash(algorithm) : undefined;
  }
  update(b: Buffer): void {
    if (this.algorithm === 'crc32' && typeof zlib.crc32 === 'function') this.crc = zlib.crc32(b, this.crc);
    this.hash?.update(b);
  }
  /** base64 of the checksum, or undefined when this algorithm is not verified here (crc32c, crc64nvme). */
  value(): string | undefined {
    if (this.hash) return this.hash.digest('base64');
    if (this.algorithm === 'crc32' && typeof zlib.crc32 === 'function') {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(this.crc >>> 0);
      return b.toString('base64');
    }
    return undefined;
  }
  /** Throws BadDigest when a verifiable checksum differs from `claimed`. */
  check(claimed: string): void {
    const v = this.value();
    if (v !== undefined && v !== claimed) {
      throw new S3Error('BadDigest', `the ${this.algorithm} checksum you specified did not match what we received`);
    }
  }
}

export class AwsChunkedDecoder extends Transform {
  private state: 'size' | 'data' | 'crlf' | 'trailer' | 'done' = 'size';
  private line = Buffer.alloc(0);
  private remaining = 0;
  private claimed = '';
  private chunkHash: Hash | undefined;
  private prevSig: string;
  private readonly trailerLines: string[] = [];
  decoded = 0;
  readonly trailers = new Map<string, string>();

  constructor(private readonly signing: ChunkSigning | undefined) {
    super();
    this.prevSig = signing?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      let i = 0;
      while (i < chunk.length && this.state !== 'done') {
        if (this.state === 'data') {
          const n = Math.min(this.remaining, chunk.length - i);
          const part = chunk.subarray(i, i + n);
          this.chunkHash?.update(part);
          this.push(part);
          this.decoded += n;
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.endChunk();
          continue;
        }
        const nl = chunk.indexOf(0x0a, i);
        const end = nl < 0 ? chunk.length : nl + 1;
        this.line = Buffer.concat([this.line, chunk.subarray(i, end)]);
        i = end;
        if (this.line.length > MAX_LINE_BYTES) throw new S3Error('IncompleteBody', 'aws-chunked line too long');
        if (nl >= 0) this.onLine(this.line.toString('latin1').replace(/\r?\n$/, ''));
      }
      if (this.state === 'done' && i < chunk.length) throw new S3Error('IncompleteBody', 'data after the last chunk');
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    cb(this.state === 'done' ? null : new S3Error('IncompleteBody', 'the aws-chunked body ended early'));
  }

  private onLine(text: string): void {
    this.line = Buffer.alloc(0);
    if (this.state === 'crlf') {
      if (text !== '') throw new S3Error('IncompleteBody', 'missing CRLF after a chunk');
      this.state = 'size';
    } else if (this.state === 'size') {
      const m = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(text);
      if (!m) throw new S3Error('IncompleteBody', 'malformed aws-chunked chunk header');
      if (this.signing && !m[2]) throw new S3Error('SignatureDoesNotMatch', 'a chunk has no chunk-signature');
      this.remaining = Number.parseInt(m[1]!, 16);
      this.claimed = m[2] ?? '';
      this.chunkHash = this.signing ? createHash('sha256') : undefined;
      if (this.remaining === 0) {
        this.endChunk();
        this.state = 'trailer';
      } else this.state = 'data';
    } else if (this.state === 'trailer') {
      if (text === '') {
        this.endTrailers();
        return;
      }
      if (this.trailerLines.length >= MAX_TRAILERS) throw new S3Error('IncompleteBody', 'too many trailers');
      this.trailerLines.push(text);
      const i = text.indexOf(':');
      if (i > 0) this.trailers.set(text.slice(0, i).trim().toLowerCase(), text.slice(i + 1).trim());
    }
  }

  private endChunk(): void {
    if (this.state === 'data') this.state = 'crlf';
    if (!this.signing || !this.chunkHash) return;
    const s = this.signing;
    const expected = hmacHex(
      s.key,
      ['AWS4-HMAC-SHA256-PAYLOAD', s.amzDate, s.scope, this.prevSig, EMPTY_SHA256, this.chunkHash.digest('hex')].join(
        '\n',
      ),
    );
    if (!hexEqual(expected, this.claimed)) throw new S3Error('SignatureDoesNotMatch', 'a chunk signature is wrong');
    this.prevSig = this.claimed;
  }

  private endTrailers(): void {
    this.state = 'done';
    const sig = this.trailers.get('x-amz-trailer-signature');
    if (!this.signing || sig === undefined) return;
    const lines = this.trailerLines
      .filter((l) => !l.toLowerCase().startsWith('x-amz-trailer-signature:'))
      .map((l) => `${l.replace(/:\s*/, ':')}\n`)
      .join('');
    const s = this.signing;
    const expected = hmacHex(
      s.key,
      [
        'AWS4-HMAC-SHA256-TRAILER',
        s.amzDate,
        s.scope,
        this.prevSig,
        createHash('sha256').update(lines).digest('hex'),
      ].join('\n'),
    );
    if (!hexEqual(expected, sig)) throw new S3Error('SignatureDoesNotMatch', 'the trailer signature is wrong');
  }
}
