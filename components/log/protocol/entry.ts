/**
 * Log entries: what a producer submits (zod-checked), and the canonical bytes the core stores, hashes and chains.
 * The core adds what the producer cannot choose: the sequence number, the agreed time (ctx.timestamp) and the
 * account, which is the SMR client identity that authenticated the request. Pure.
 */
import { z } from 'zod';
import { MAX_BATCH_ENTRIES, MAX_MESSAGE_LENGTH, MAX_NAME_LENGTH } from '../limits.js';

const name = z
  .string()
  .min(1)
  .max(MAX_NAME_LENGTH)
  .regex(/^[\w.:@/-]+$/, 'letters, digits and . _ : @ / - only');

/** One entry as a producer submits it. */
export const EntryInputSchema = z.strictObject({
  /** Cloud the event comes from (topology cloud name). */
  cloud: name,
  /** Node (or host) the event comes from. */
  node: name,
  /** Event type, e.g. deploy, smr.leader-change, storage.write. */
  type: name,
  msg: z.string().max(MAX_MESSAGE_LENGTH),
});
export type EntryInput = z.infer<typeof EntryInputSchema>;

export const AppendOpSchema = z.strictObject({
  op: z.literal('append'),
  entries: z.array(EntryInputSchema).min(1).max(MAX_BATCH_ENTRIES),
  /** The console's appends name the token subject they are made for (only console clients may set it). */
  onBehalf: name.optional(),
});
export const CoreOpSchema = z.discriminatedUnion('op', [
  AppendOpSchema,
  z.strictObject({ op: z.literal('seal') }),
  z.strictObject({ op: z.literal('head') }),
]);
export type CoreOp = z.infer<typeof CoreOpSchema>;

/** A stored entry (the producer's fields plus what the core assigned). */
export interface Entry extends EntryInput {
  seq: number;
  /** Milliseconds since the epoch, as agreed by the replicas for the request's batch. */
  time: number;
  /** The authenticated SMR client that appended it. */
  account: string;
}

/** Canonical text of an entry: fixed key order, so every replica and every verifier hashes the same bytes. */
export function encodeEntry(e: Entry): string {
  return encodeStamped(e, e.seq, e.time, e.account);
}

/**
 * The canonical text of a producer's entry with what the core assigned, without building the Entry first: the
 * core encodes every appended entry, and spreading each into a new object cost several times the encoding. The
 * same bytes as JSON.stringify of {seq, time, cloud, node, account, type, msg} (each string through
 * JSON.stringify, integers as JSON writes them).
 */
export function encodeStamped(e: EntryInput, seq: number, time: number, account: string): string {
  const s = JSON.stringify;
  return `{"seq":${s(seq)},"time":${s(time)},"cloud":${s(e.cloud)},"node":${s(e.node)},"account":${s(account)},"type":${s(e.type)},"msg":${s(e.msg)}}`;
}

/**
 * Parses a stored entry; undefined when it is not an entry. Whether it is the entry the replicas produced is the
 * Merkle root's business (its leaf hash is over these exact bytes), so this only reads the fields.
 */
export function decodeEntry(text: string): Entry | undefined {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  // A hand-written check rather than a schema: verify decodes every entry of the log.
  if (typeof o !== 'object' || o === null) return undefined;
  const e = o as Entry;
  const ok =
    Number.isSafeInteger(e.seq) &&
    e.seq >= 0 &&
    typeof e.time === 'number' &&
    typeof e.cloud === 'string' &&
    typeof e.node === 'string' &&
    typeof e.account === 'string' &&
    typeof e.type === 'string' &&
    typeof e.msg === 'string';
  return ok ? e : undefined;
}
