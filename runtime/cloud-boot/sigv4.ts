/**
 * AWS Signature Version 4 signing for the two calls a VM makes with its instance role: S3 GetObject (the node
 * software) and Secrets Manager GetSecretValue. Pure: request parts, credentials and the time in, headers out.
 * (components/storage/s3/sigv4.ts verifies signatures for the S3 gateway; runtime/ may not import it, and the
 * two share only the key derivation, so the signer lives here, small enough to bundle into user data.)
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** The session token of temporary (instance role) credentials. */
  sessionToken?: string;
}

export interface SignInput {
  method: string;
  url: URL;
  /** Extra headers to send and sign (lower-case names). */
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  now: Date;
}

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding SigV4 uses (everything but A-Z a-z 0-9 - _ . ~). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `20260101T120000Z` */
export function amzDate(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The headers to send: the given ones plus host, x-amz-date, x-amz-content-sha256, the token and Authorization. */
export function signV4(r: SignInput): Record<string, string> {
  const date = amzDate(r.now);
  const payloadHash = sha256Hex(r.body);
  const headers: Record<string, string> = {
    ...r.headers,
    host: r.url.host,
    'x-amz-date': date,
    'x-amz-content-sha256': payloadHash,
  };
  if (r.credentials.sessionToken) headers['x-amz-security-token'] = r.credentials.sessionToken;
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const query = [...r.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonical = [
    r.method,
    r.url.pathname,
    query,
    names.map((h) => `${h}:${lower.get(h)!.trim().replace(/ +/g, ' ')}\n`).join(''),
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${date.slice(0, 8)}/${r.region}/${r.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${r.credentials.secretAccessKey}`, date.slice(0, 8)), r.region), r.service),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${r.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  // fetch() sets Host itself from the URL (the same value that was signed).
  delete headers.host;
  return headers;
}
