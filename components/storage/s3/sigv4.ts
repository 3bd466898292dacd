/**
 * AWS Signature Version 4 for S3, verified by our own code (no SDK on the server side). Pure: the request's parts
 * and the current time come in, a verdict goes out.
 *
 * Two forms: the `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` header, and
 * presigned URLs (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
 * `X-Amz-Signature` in the query). The canonical request follows the S3 rules: the path is used as sent (S3 does
 * not normalise it), query keys and values are RFC 3986 encoded and sorted, header values trimmed with inner runs
 * of spaces collapsed, and the payload hash is `x-amz-content-sha256` (a hex digest, UNSIGNED-PAYLOAD or one of
 * the STREAMING-* markers, whose chunks ./chunked.ts verifies with the seed signature).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from './errors.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** A request whose x-amz-date differs from the gateway clock by more than this is refused (as S3 does). */
export const MAX_CLOCK_SKEW_MS = 15 * 60_000;
/** Longest validity S3 accepts for a presigned URL (7 days). */
export const MAX_PRESIGNED_EXPIRES_S = 604_800;
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = createHash('sha256').digest('hex');

export type PayloadMode =
  | { kind: 'sha256'; digest: string }
  | { kind: 'unsigned' }
  | { kind: 'streaming-signed'; trailer: boolean }
  | { kind: 'streaming-unsigned-trailer' };

export function payloadMode(value: string | undefined): PayloadMode {
  switch (value) {
    case undefined:
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { kind: 'streaming-signed', trailer: false };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { kind: 'streaming-signed', trailer: true };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'streaming-unsigned-trailer' };
    default:
      if (/^[0-9a-f]{64}$/.test(value)) return { kind: 'sha256', digest: value };
      throw new S3Error('InvalidArgument', `x-amz-content-sha256 must be a SHA-256 hex digest or a known marker`);
  }
}

/** What the signer claimed: the access key, the credential scope and the signature to check. */
export interface SignedRequest {
  accessKeyId: string;
  /** yyyymmdd */
  date: string;
  region: string;
  service: string;
  /** ISO basic time, e.g. 20260101T120000Z */
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  payloadHash: string;
  presigned?: { expiresS: number };
}

export interface RequestParts {
  method: string;
  /** Raw path as sent, e.g. /bucket/a%20b */
  path: string;
  /** Raw query string without `?` */
  query: string;
  headers: Record<string, string | string[] | undefined>;
}

/** RFC 3986 encoding used by SigV4 (everything but A-Z a-z 0-9 - _ . ~). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decodeQueryPart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidArgument', 'malformed percent-encoding in the query string');
  }
}

/** The query as decoded [key, value] pairs, in order. */
export function parseQuery(query: string): [string, string][] {
  if (query === '') return [];
  return query.split('&').map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? [decodeQueryPart(p), ''] : [decodeQueryPart(p.slice(0, i)), decodeQueryPart(p.slice(i + 1))];
  });
}

export function canonicalQuery(pairs: [string, string][], omit?: string): string {
  return pairs
    .filter(([k]) => k !== omit)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(headers: RequestParts['headers'], name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

export function canonicalRequest(r: RequestParts, s: SignedRequest, pairs: [string, string][]): string {
  const headerLines = s.signedHeaders.map((h) => {
    const v = headerValue(r.headers, h);
    if (v === undefined) throw new S3Error('AccessDenied', `signed header ${h} is missing from the request`);
    return `${h}:${v.trim().replace(/ +/g, ' ')}\n`;
  });
  return [
    r.method,
    r.path,
    canonicalQuery(pairs, s.presigned ? 'X-Amz-Signature' : undefined),
    headerLines.join(''),
    s.signedHeaders.join(';'),
    s.payloadHash,
  ].join('\n');
}

export function scopeOf(s: Pick<SignedRequest, 'date' | 'region' | 'service'>): string {
  return `${s.date}/${s.region}/${s.service}/aws4_request`;
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const k = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  return k(k(k(k(`AWS4${secret}`, date), region), service), 'aws4_request');
}

export function stringToSign(canonical: string, s: SignedRequest): string {
  return [ALGORITHM, s.amzDate, scopeOf(s), createHash('sha256').update(canonical).digest('hex')].join('\n');
}

export function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

export function hexEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && a.length === 64 && timingSafeEqual(x, y);
}

const CREDENTIAL_RE = /^([A-Za-z0-9]{1,128})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9]{1,16})\/aws4_request$/;

function parseCredential(value: string): Pick<SignedRequest, 'accessKeyId' | 'date' | 'region' | 'service'> {
  const m = CREDENTIAL_RE.exec(value);
  if (!m) throw new S3Error('AuthorizationHeaderMalformed', `malformed credential scope "${value}"`);
  if (m[4] !== 's3') throw new S3Error('AuthorizationHeaderMalformed', `the service must be s3, not ${m[4]}`);
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]! };
}

/** ISO basic time (20260101T120000Z) to ms since the epoch. */
export function parseAmzDate(v: string | undefined): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v ?? '');
  if (!m) throw new S3Error('AccessDenied', 'missing or malformed x-amz-date');
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/** What the request claims (header or presigned form); undefined for an anonymous request. */
export function parseSignedRequest(r: RequestParts, pairs: [string, string][]): SignedRequest | undefined {
  const auth = headerValue(r.headers, 'authorization');
  const q = new Map(pairs);
  if (auth !== undefined) {
    if (!auth.startsWith(`${ALGORITHM} `)) {
      throw new S3Error('AuthorizationHeaderMalformed', 'only AWS4-HMAC-SHA256 (Signature Version 4) is supported');
    }
    const fields = new Map(
      auth
        .slice(ALGORITHM.length + 1)
        .split(',')
        .map((p) => p.trim().split('=', 2) as [string, string]),
    );
    const credential = fields.get('Credential');
    const signed = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credential || !signed || !signature) {
      throw new S3Error('AuthorizationHeaderMalformed', 'Credential, SignedHeaders and Signature are required');
    }
    return {
      ...parseCredential(credential),
      amzDate: headerValue(r.headers, 'x-amz-date') ?? '',
      signedHeaders: signed.split(';'),
      signature,
      payloadHash: headerValue(r.headers, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD,
    };
  }
  if (!q.has('X-Amz-Signature')) return undefined;
  if (q.get('X-Amz-Algorithm') !== ALGORITHM) {
    throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Algorithm must be AWS4-HMAC-SHA256');
  }
  const expiresS = Number(q.get('X-Amz-Expires'));
  if (!Number.isInteger(expiresS) || expiresS < 1 || expiresS > MAX_PRESIGNED_EXPIRES_S) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      `X-Amz-Expires must be 1-${MAX_PRESIGNED_EXPIRES_S} seconds`,
    );
  }
  return {
    ...parseCredential(q.get('X-Amz-Credential') ?? ''),
    amzDate: q.get('X-Amz-Date') ?? '',
    signedHeaders: (q.get('X-Amz-SignedHeaders') ?? 'host').split(';'),
    signature: q.get('X-Amz-Signature') ?? '',
    payloadHash: q.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD,
    presigned: { expiresS },
  };
}

/**
 * Checks time, expiry and signature of a parsed request against the secret of its access key. Throws the S3
 * error a real S3 answers with; returns the signing key (chunk signatures of streaming uploads need it).
 */
export function verifySignature(
  r: RequestParts,
  s: SignedRequest,
  pairs: [string, string][],
  secret: string,
  now: number,
): Buffer {
  const t = parseAmzDate(s.amzDate);
  if (s.amzDate.slice(0, 8) !== s.date) {
    throw new S3Error('SignatureDoesNotMatch', 'the credential scope date does not match x-amz-date');
  }
  if (s.presigned) {
    if (t - now > MAX_CLOCK_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
    if (now > t + s.presigned.expiresS * 1000) throw new S3Error('AccessDenied', 'Request has expired');
  } else if (Math.abs(now - t) > MAX_CLOCK_SKEW_MS) {
    throw new S3Error(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
    );
  }
  if (!s.signedHeaders.includes('host')) throw new S3Error('AccessDenied', 'the host header must be signed');
  const key = signingKey(secret, s.date, s.region, s.service);
  const expected = hmacHex(key, stringToSign(canonicalRequest(r, s, pairs), s));
  if (!hexEqual(expected, s.signature)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
  return key;
}
