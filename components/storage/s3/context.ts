/**
 * What every S3 operation of a gateway gets: the component's DepSky clients, the write order, the key list, the
 * spool directories, and the one authenticated request with its parsed parts.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { Logger } from '../../../runtime/role.js';
import type { DepSkyClient } from '../client.js';
import type { Protocol } from '../protocol/types.js';
import type { BodyAuth } from './body.js';
import type { CredentialCache, CredentialRecord } from './credentials.js';
import { S3Error } from './errors.js';
import type { KeyedQueue } from './write-order.js';
import { type XmlNode, xmlDocument } from './xml.js';

export interface S3Gateway {
  component: string;
  /** Reads (and listing) share one client. */
  client: DepSkyClient;
  /** Writes use a fresh client each: its version comes from the clouds (./write-order.ts). */
  fresh: () => DepSkyClient;
  queue: KeyedQueue;
  credentials: CredentialCache;
  /** Private temporary files (bodies, reads). */
  spool: string;
  /** Multipart uploads in progress: one directory each. */
  multipartDir: string;
  maxBodyBytes: number;
  protocol: Protocol;
  log: Logger;
  /** Counters the gateway's /health shows. */
  onBytes: (direction: 'in' | 'out', n: number) => void;
}

export interface S3Call {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  bucket: string | undefined;
  /** The object key as the client named it (URL-decoded). */
  key: string | undefined;
  query: Map<string, string>;
  record: CredentialRecord;
  body: BodyAuth;
  requestId: string;
}

/** DepSky keeps no modification time; listings and heads report this fixed one (documented). */
export const LAST_MODIFIED = new Date(0);
/** Longest data unit name (protocol/names.ts) */
export const MAX_KEY_CHARS = 512;

/**
 * S3 ETag of one version of an object: stable per version, the same on every gateway. It is not the MD5 of the
 * bytes (DepSky keeps none), so it carries a `-1` part count as multipart ETags do: clients that check a plain
 * 32-hex ETag as the content's MD5 (rclone) then skip that check instead of calling the transfer corrupt.
 */
export function etagOf(du: string, version: string): string {
  return `"${createHash('sha256').update(`${du}\n${version}`).digest('hex').slice(0, 32)}-1"`;
}

export function sendXml(
  call: S3Call,
  status: number,
  root: string,
  body: XmlNode,
  headers: Record<string, string> = {},
): void {
  const xml = Buffer.from(xmlDocument(root, body));
  call.res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': String(xml.length),
    'x-amz-request-id': call.requestId,
    ...headers,
  });
  call.res.end(xml);
}

export function sendEmpty(call: S3Call, status: number, headers: Record<string, string> = {}): void {
  call.res.writeHead(status, { 'content-length': '0', 'x-amz-request-id': call.requestId, ...headers });
  call.res.end();
}

export function requireKey(call: S3Call): string {
  if (call.key === undefined || call.key === '')
    throw new S3Error('InvalidRequest', 'this operation needs an object key');
  return call.key;
}
