/**
 * The Log Core's client: appends in batches over the SMR client (an append counts once f+1 replicas replied
 * identically with its sequence numbers), seals, reads the current head. Batches of up to MAX_BATCH_ENTRIES
 * entries or MAX_BATCH_BYTES bytes go in one request; several requests are in flight at once, one per session.
 */
import { ExitCode, TcError } from '../../kernel/errors.js';
import type { SmrClient, SmrSession } from '../smr/client.js';
import { LogCode } from './codes.js';
import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES } from './limits.js';
import { type CoreResult, decodeCoreResult } from './protocol/core-service.js';
import { type EntryInput, EntryInputSchema } from './protocol/entry.js';
import type { TreeHead } from './protocol/segment.js';

const enc = new TextEncoder();

/** Checks one entry a user gave; `where` names it in the error (e.g. `stdin line 3`). */
export function checkEntry(raw: unknown, where: string): EntryInput {
  const r = EntryInputSchema.safeParse(raw);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new TcError(LogCode.badEntry, `${where}: ${i?.path.join('.') || 'entry'}: ${i?.message}`, {
    exit: ExitCode.invalid,
    hint: 'an entry is {"cloud","node","type","msg"}: names of letters, digits and . _ : @ / -, msg up to 16384 characters',
  });
}

/** Splits entries into requests under both batch limits. */
export function batches(entries: readonly EntryInput[], maxEntries = MAX_BATCH_ENTRIES): EntryInput[][] {
  const out: EntryInput[][] = [];
  let cur: EntryInput[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = e.msg.length * 3 + 200;
    if (cur.length > 0 && (cur.length >= maxEntries || bytes + size > MAX_BATCH_BYTES / 2)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(e);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export interface AppendResult {
  first: number;
  count: number;
  size: number;
}

export class LogClient {
  private readonly sessions: SmrSession[] = [];
  constructor(readonly smr: SmrClient) {}

  private session(i: number): SmrSession {
    while (this.sessions.length <= i) this.sessions.push(this.smr.session());
    return this.sessions[i] as SmrSession;
  }

  private async call(op: object, session = 0, readOnly = false): Promise<CoreResult> {
    const { result } = await this.session(session).invoke(enc.encode(JSON.stringify(op)), { readOnly });
    const r = decodeCoreResult(result);
    if ('error' in r) {
      throw new TcError(LogCode.rejected, `the log core refused it: ${r.error}`, { exit: ExitCode.failure });
    }
    return r;
  }

  async appendBatch(entries: EntryInput[], session = 0, onBehalf?: string): Promise<AppendResult> {
    const r = await this.call({ op: 'append', entries, ...(onBehalf === undefined ? {} : { onBehalf }) }, session);
    if (!('first' in r))
      throw new TcError(LogCode.rejected, 'the log core answered an append with something else', {
        exit: ExitCode.failure,
      });
    return { first: r.first, count: r.count, size: r.size };
  }

  /** Appends every entry, `inflight` requests at a time; results in request order. */
  async append(entries: readonly EntryInput[], o: { inflight?: number; batch?: number } = {}): Promise<AppendResult[]> {
    const parts = batches(entries, o.batch);
    const results: AppendResult[] = new Array(parts.length);
    let next = 0;
    const worker = async (s: number) => {
      for (let i = next++; i < parts.length; i = next++)
        results[i] = await this.appendBatch(parts[i] as EntryInput[], s);
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(o.inflight ?? 4, parts.length)) }, (_, s) => worker(s)),
    );
    return results;
  }

  /** Seals the open segment now (it is then stored and its head signed); the sealed segment number or null. */
  async seal(): Promise<number | null> {
    const r = await this.call({ op: 'seal' });
    return 'sealed' in r ? r.sealed : null;
  }

  async head(): Promise<{ size: number; segments: number; open: number; head: TreeHead | null }> {
    const r = await this.call({ op: 'head' }, 0, true);
    if (!('segments' in r))
      throw new TcError(LogCode.rejected, 'unexpected answer to head', { exit: ExitCode.failure });
    return { size: r.size, segments: r.segments, open: r.open, head: r.head };
  }

  async close(): Promise<void> {
    await this.smr.close();
  }
}
