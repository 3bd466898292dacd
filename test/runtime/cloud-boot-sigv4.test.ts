/**
 * The boot path's SigV4 signer against the S3 gateway's independent verifier: what the VM signs (an S3 GET of a
 * key with characters that need encoding, with a session token) is what S3 checks, and a changed secret or
 * tampered header is refused.
 */
import { describe, expect, it } from 'vitest';
import { parseQuery, parseSignedRequest, verifySignature } from '../../components/storage/s3/sigv4.js';
import { signV4, uriEncode } from '../../runtime/cloud-boot/sigv4.js';

const creds = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG', sessionToken: 'tok/en+=' };

function signedGet(key: string, now: Date) {
  const url = new URL(`https://demo-bucket.s3.eu-west-1.amazonaws.com/${key.split('/').map(uriEncode).join('/')}`);
  const headers = signV4({
    method: 'GET',
    url,
    headers: {},
    body: '',
    region: 'eu-west-1',
    service: 's3',
    credentials: creds,
    now,
  });
  const lower = Object.fromEntries(
    Object.entries({ ...headers, host: url.host }).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return { method: 'GET', path: url.pathname, query: url.search.slice(1), headers: lower };
}

describe('boot SigV4 signer', () => {
  it("signs S3 GETs that the gateway's verifier accepts, and only with the right secret and headers", () => {
    const now = new Date();
    const parts = signedGet('node/tclouds 0.1.0+build(1)~ü.tgz', now);
    const pairs = parseQuery(parts.query);
    const s = parseSignedRequest(parts, pairs)!;
    expect(s).toMatchObject({ accessKeyId: creds.accessKeyId, region: 'eu-west-1', service: 's3' });
    expect(s.signedHeaders).toEqual(['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']);
    expect(() => verifySignature(parts, s, pairs, creds.secretAccessKey, now.getTime())).not.toThrow();
    expect(() => verifySignature(parts, s, pairs, 'another-secret', now.getTime())).toThrow(/signature/);
    const tampered = { ...parts, headers: { ...parts.headers, 'x-amz-security-token': 'other' } };
    expect(() => verifySignature(tampered, s, pairs, creds.secretAccessKey, now.getTime())).toThrow(/signature/);
  });
});
