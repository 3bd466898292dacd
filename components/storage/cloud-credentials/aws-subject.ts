/**
 * The subject token an AWS VM gives Google's STS for workload identity federation: a GetCallerIdentity request
 * signed (SigV4) with the VM's role credentials, serialized as Google documents it for
 * `urn:ietf:params:aws:token-type:aws4_request` (JSON `{url, method, headers:[{key,value}]}`, URL-encoded). Google
 * sends the request to AWS to learn the caller's role. `x-goog-cloud-target-resource` (the pool provider's audience)
 * is signed, so the request cannot be replayed against another pool. Pure: the time is an argument.
 */
import { createHash } from 'node:crypto';
import { ALGORITHM, hmacHex, signingKey } from '../s3/sigv4.js';
import type { AwsKeys } from './identities.js';

/** The global STS endpoint and its signing region (Google accepts it and the regional ones). */
export const AWS_STS_HOST = 'sts.amazonaws.com';
export const AWS_STS_REGION = 'us-east-1';
const QUERY = 'Action=GetCallerIdentity&Version=2011-06-15';
export const AWS_STS_URL = `https://${AWS_STS_HOST}/?${QUERY}`;
const EMPTY_SHA256 = createHash('sha256').digest('hex');

export interface AwsSubjectRequest {
  url: string;
  method: 'POST';
  headers: { key: string; value: string }[];
}

/** `20261206T120000Z` of an epoch ms. */
export function amzDateOf(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The signed GetCallerIdentity request for `audience`, as Google's STS reads it. */
export function awsSubjectRequest(keys: AwsKeys, audience: string, nowMs: number): AwsSubjectRequest {
  const amzDate = amzDateOf(nowMs);
  const date = amzDate.slice(0, 8);
  const signed: [string, string][] = [
    ['host', AWS_STS_HOST],
    ['x-amz-date', amzDate],
    ['x-amz-security-token', keys.sessionToken],
    ['x-goog-cloud-target-resource', audience],
  ];
  const canonical = [
    'POST',
    '/',
    QUERY,
    signed.map(([k, v]) => `${k}:${v}\n`).join(''),
    signed.map(([k]) => k).join(';'),
    EMPTY_SHA256,
  ].join('\n');
  const scope = `${date}/${AWS_STS_REGION}/sts/aws4_request`;
  const toSign = [ALGORITHM, amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const signature = hmacHex(signingKey(keys.secretAccessKey, date, AWS_STS_REGION, 'sts'), toSign);
  const authorization = `${ALGORITHM} Credential=${keys.accessKeyId}/${scope}, SignedHeaders=${signed.map(([k]) => k).join(';')}, Signature=${signature}`;
  return {
    url: AWS_STS_URL,
    method: 'POST',
    headers: [{ key: 'Authorization', value: authorization }, ...signed.map(([key, value]) => ({ key, value }))],
  };
}

/** The `subject_token` form value: the request as JSON, URL-encoded. */
export function awsSubjectToken(keys: AwsKeys, audience: string, nowMs: number): string {
  return encodeURIComponent(JSON.stringify(awsSubjectRequest(keys, audience, nowMs)));
}
