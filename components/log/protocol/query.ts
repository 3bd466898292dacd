/** The query filter of `log query` and the console: time range, source cloud, node, type, free text. Pure. */
import { z } from 'zod';
import { MAX_NAME_LENGTH, MAX_QUERY_RESULTS, MAX_QUERY_TEXT } from '../limits.js';
import type { Entry } from './entry.js';

export const QuerySchema = z.strictObject({
  /** Inclusive lower bound, ms since the epoch. */
  since: z.number().optional(),
  /** Exclusive upper bound, ms since the epoch. */
  until: z.number().optional(),
  cloud: z.string().min(1).max(MAX_NAME_LENGTH).optional(),
  node: z.string().min(1).max(MAX_NAME_LENGTH).optional(),
  type: z.string().min(1).max(MAX_NAME_LENGTH).optional(),
  account: z
    .string()
    .min(1)
    .max(MAX_NAME_LENGTH * 2)
    .optional(),
  /** Case-insensitive substring of the message. */
  text: z.string().min(1).max(MAX_QUERY_TEXT).optional(),
  /** Entries from this sequence number on. */
  from: z.int().min(0).optional(),
  limit: z.int().min(1).max(MAX_QUERY_RESULTS).default(MAX_QUERY_RESULTS),
});
export type Query = z.input<typeof QuerySchema>;

export interface QueryResult {
  entries: Entry[];
  /** How many matched, including those past the limit. */
  matched: number;
  truncated: boolean;
}

export function matches(q: z.output<typeof QuerySchema>, e: Entry, text: string | undefined): boolean {
  if (q.from !== undefined && e.seq < q.from) return false;
  if (q.since !== undefined && e.time < q.since) return false;
  if (q.until !== undefined && e.time >= q.until) return false;
  if (q.cloud !== undefined && e.cloud !== q.cloud) return false;
  if (q.node !== undefined && e.node !== q.node) return false;
  if (q.type !== undefined && e.type !== q.type) return false;
  if (q.account !== undefined && e.account !== q.account) return false;
  if (text !== undefined && !e.msg.toLowerCase().includes(text)) return false;
  return true;
}

/** Runs a checked query over entries (in log order), keeping also only those `allow` lets through. */
export function runQuery(
  q: z.output<typeof QuerySchema>,
  entries: readonly Entry[],
  allow: (e: Entry) => boolean = () => true,
): QueryResult {
  const text = q.text?.toLowerCase();
  const out: Entry[] = [];
  let matched = 0;
  const start = q.from !== undefined ? lowerBound(entries, q.from) : 0;
  for (let i = start; i < entries.length; i++) {
    const e = entries[i] as Entry;
    if (!matches(q, e, text) || !allow(e)) continue;
    matched++;
    if (out.length < q.limit) out.push(e);
  }
  return { entries: out, matched, truncated: matched > out.length };
}

/** Entries are in sequence order: the first index with seq >= from. */
function lowerBound(entries: readonly Entry[], from: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((entries[mid] as Entry).seq < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
