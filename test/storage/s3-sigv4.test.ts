/**
 * Signature V4 against the worked examples of the Amazon S3 documentation ("Signature Calculations for the
 * Authorization Header" GET example and "Transferring Payload in Multiple Chunks"), so the verifier is checked
 * against numbers nobody here computed. The chunk example covers STREAMING-AWS4-HMAC-SHA256-PAYLOAD, which the
 * JavaScript SDK and the AWS CLI do not send on their own.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder } from '../../components/storage/s3/chunked.js';
import { S3Error } from '../../components/storage/s3/errors.js';
import { parseQuery, parseSignedRequest, scopeOf, verifySignature } from '../../components/storage/s3/sigv4.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const NOW = Date.UTC(2013, 4, 24);
const CREDENTIAL = 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';

function check(parts: { method: string; path: string; query: string; headers: Record<string, string> }, now = NOW) {
  const pairs = parseQuery(parts.query);
  const signed = parseSignedRequest(parts, pairs)!;
  return { signed, key: verifySignature(parts, signed, pairs, SECRET, now) };
}

describe('Signature V4 (documented examples)', () => {
  const get = {
    method: 'GET',
    path: '/test.txt',
    query: '',
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 Credential=${CREDENTIAL},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    },
  };

  it('accepts the GET example and refuses it changed, late or with another secret', () => {
    expect(() => check(get)).not.toThrow();
    const tampered = { ...get, headers: { ...get.headers, range: 'bytes=0-10' } };
    expect(() => check(tampered)).toThrow(expect.objectContaining({ code: 'SignatureDoesNotMatch' }));
    expect(() => check(get, NOW + 16 * 60_000)).toThrow(expect.objectContaining({ code: 'RequestTimeTooSkewed' }));
    const pairs = parseQuery('');
    const signed = parseSignedRequest(get, pairs)!;
    expect(() => verifySignature(get, signed, pairs, `${SECRET}x`, NOW)).toThrow(S3Error);
  });

  it('verifies the signed chunks of the aws-chunked PUT example and refuses a changed chunk', async () => {
    const put = {
      method: 'PUT',
      path: '/examplebucket/chunkObject.txt',
      query: '',
      headers: {
        host: 's3.amazonaws.com',
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '66560',
        'content-length': '66824',
        authorization: `AWS4-HMAC-SHA256 Credential=${CREDENTIAL},SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`,
      },
    };
    const { signed, key } = check(put);
    const chunk = (size: number, sig: string, fill = 'a') =>
      Buffer.concat([
        Buffer.from(`${size.toString(16)};chunk-signature=${sig}\r\n`),
        Buffer.alloc(size, fill),
        Buffer.from('\r\n'),
      ]);
    const body = (fill = 'a') =>
      Buffer.concat([
        chunk(65536, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'),
        chunk(1024, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497', fill),
        chunk(0, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'),
      ]);
    expect(body().length).toBe(66824);
    const decode = async (bytes: Buffer) => {
      const out: Buffer[] = [];
      const decoder = new AwsChunkedDecoder({
        key,
        amzDate: signed.amzDate,
        scope: scopeOf(signed),
        seedSignature: signed.signature,
      });
      await pipeline(
        Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000, 65600), bytes.subarray(65600)]),
        decoder,
        new Writable({
          write(c: Buffer, _e, cb) {
            out.push(c);
            cb();
          },
        }),
      );
      return Buffer.concat(out);
    };
    expect((await decode(body())).equals(Buffer.alloc(66560, 'a'))).toBe(true);
    await expect(decode(body('b'))).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
  });
});
