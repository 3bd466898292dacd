/**
 * ListObjectsV2 (and v1) paging, pure: the sorted keys of a bucket in, one page out. Keys under `prefix` are
 * grouped at the first `delimiter` after it into common prefixes (each counts as one entry against max-keys);
 * the continuation token is the last entry returned, base64url-encoded, so paging needs no server state and
 * works across gateways.
 */
import { S3Error } from './errors.js';

/** S3's largest and default page. */
export const MAX_KEYS_LIMIT = 1000;

export interface ListRequest {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  /** Entries <= this are skipped (start-after, marker or the decoded continuation token). */
  after: string;
}

export interface ListPage {
  keys: string[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last entry of the page, when truncated. */
  last?: string;
}

export function encodeToken(last: string): string {
  return Buffer.from(last, 'utf8').toString('base64url');
}

export function decodeToken(token: string): string {
  const s = Buffer.from(token, 'base64url').toString('utf8');
  if (token === '' || encodeToken(s) !== token)
    throw new S3Error('InvalidArgument', 'The continuation token is not valid.');
  return s;
}

export function parseMaxKeys(v: string | undefined): number {
  if (v === undefined) return MAX_KEYS_LIMIT;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new S3Error('InvalidArgument', 'max-keys must be a non-negative integer');
  return Math.min(n, MAX_KEYS_LIMIT);
}

export function listPage(sortedKeys: readonly string[], r: ListRequest): ListPage {
  const page: ListPage = { keys: [], commonPrefixes: [], truncated: false };
  let count = 0;
  let lastPrefix: string | undefined;
  for (const key of sortedKeys) {
    if (!key.startsWith(r.prefix) || key <= r.after) continue;
    let entry = key;
    let isPrefix = false;
    if (r.delimiter !== '') {
      const i = key.indexOf(r.delimiter, r.prefix.length);
      if (i >= 0) {
        entry = key.slice(0, i + r.delimiter.length);
        isPrefix = true;
      }
    }
    if (isPrefix && (entry === lastPrefix || entry <= r.after)) continue;
    if (count === r.maxKeys) {
      page.truncated = true;
      break;
    }
    count++;
    page.last = entry;
    if (isPrefix) {
      page.commonPrefixes.push(entry);
      lastPrefix = entry;
    } else page.keys.push(entry);
  }
  if (!page.truncated) delete page.last;
  return page;
}
