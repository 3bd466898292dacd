/**
 * Wire encodings of the SMR role on top of the authenticated transport (runtime/transport.ts).
 * Replica-to-replica messages are structured-clone (v8) serialised: fast, handles Uint8Array, and anything
 * malformed fails to decode (dropped and counted); the core re-checks every field it uses.
 * Client channel: request = 0x01 | request bytes (protocol/codec.ts);
 *                 replies = 0x03 | u32 regency | u32 count | replies (encodeReplies), the replies of one step.
 * The regency is the replying replica's installed regency: clients send ordered requests to the leader it names
 * once f+1 replicas report it (components/smr/client.ts), so one replica cannot steer them.
 */
import v8 from 'node:v8';
import { decodeId } from './protocol/codec.js';
import { MAX_CACHED_CLIENT_BASES, REPLIES_MESSAGE_BYTES } from './protocol/limits.js';
import type { Msg } from './protocol/types.js';

export function encodeMsg(m: Msg): Buffer {
  return v8.serialize(m);
}

export function decodeMsg(b: Buffer): Msg | undefined {
  try {
    const m = v8.deserialize(b) as unknown;
    if (!m || typeof m !== 'object' || typeof (m as { t?: unknown }).t !== 'string') return undefined;
    return m as Msg;
  } catch {
    return undefined;
  }
}

export const REQUEST = 1;
export const REPLIES = 3;

export function encodeClientRequest(req: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + req.length);
  out[0] = REQUEST;
  out.set(req, 1);
  return out;
}

/** One reply to one logical client, as the replica's driver produces them. */
export interface ReplyEntry {
  client: string;
  seq: number;
  readOnly: boolean;
  result: Uint8Array;
}

/**
 * The replies of one step to the clients of one identity, in one message (a replica answers a batch of requests
 * at once; one message each cost the replica an allocation and a queued message per reply, and the client a
 * delivery, a decode and a leader-hint update per reply):
 * `0x03 | u32 regency | u32 count | count x (u8 readOnly | u32 seq | u16 idLen | id | u32 resultLen | result)`.
 */
export function encodeReplies(replies: readonly ReplyEntry[], regency: number): Buffer {
  let size = REPLIES_HEAD;
  for (const r of replies) size += replySize(r);
  return encodeReplyRange(replies, 0, replies.length, size, regency);
}

/** Bytes before the first reply of a replies message. */
const REPLIES_HEAD = 9;

/** Bytes one reply takes in a replies message. */
function replySize(r: ReplyEntry): number {
  return 11 + Buffer.byteLength(r.client) + r.result.length;
}

/** Encodes `replies[from, to)`, whose message is `size` bytes. */
function encodeReplyRange(replies: readonly ReplyEntry[], from: number, to: number, size: number, regency: number) {
  const out = Buffer.allocUnsafe(size);
  out[0] = REPLIES;
  out.writeUInt32BE(regency >>> 0, 1);
  out.writeUInt32BE(to - from, 5);
  let o = REPLIES_HEAD;
  for (let k = from; k < to; k++) {
    const r = replies[k]!;
    out[o] = r.readOnly ? 1 : 0;
    out.writeUInt32BE(r.seq >>> 0, o + 1);
    const id = r.client;
    let idLen = id.length;
    let ascii = true;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      out[o + 7 + i] = c;
    }
    if (!ascii) idLen = out.write(id, o + 7, 'utf8');
    out.writeUInt16BE(idLen, o + 5);
    o += 7 + idLen;
    out.writeUInt32BE(r.result.length, o);
    out.set(r.result, o + 4);
    o += 4 + r.result.length;
  }
  return out;
}

/** Bytes a replies message may hold before the rest of a step's replies go in another one (protocol/limits.ts). */
export { REPLIES_MESSAGE_BYTES };

/**
 * `encodeReplies` split so that no message passes `maxBytes` (unless one reply alone does): a batch of large
 * results must not become one message over the transport's frame limit, which would drop it.
 */
export function encodeRepliesChunked(
  replies: readonly ReplyEntry[],
  regency: number,
  maxBytes = REPLIES_MESSAGE_BYTES,
): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  let bytes = REPLIES_HEAD;
  for (let i = 0; i < replies.length; i++) {
    const size = replySize(replies[i]!);
    if (i > from && bytes + size > maxBytes) {
      out.push(encodeReplyRange(replies, from, i, bytes, regency));
      from = i;
      bytes = REPLIES_HEAD;
    }
    bytes += size;
  }
  out.push(encodeReplyRange(replies, from, replies.length, bytes, regency));
  return out;
}

/**
 * Decodes a replies message, calling `each` per reply with the (interned) logical client id and the result's place
 * in `b` (`b[start, end)`: no view is made per reply). Returns the replica's regency, or undefined when the message
 * is malformed (nothing after the bad entry is delivered).
 */
export function decodeReplies(
  b: Buffer,
  each: (client: string, seq: number, readOnly: boolean, start: number, end: number) => void,
): number | undefined {
  if (b.length < 9 || b[0] !== REPLIES) return undefined;
  const regency = b.readUInt32BE(1);
  const count = b.readUInt32BE(5);
  let o = 9;
  for (let k = 0; k < count; k++) {
    if (o + 7 > b.length) return undefined;
    const readOnly = b[o] === 1;
    const seq = b.readUInt32BE(o + 1);
    const idLen = b.readUInt16BE(o + 5);
    if (o + 7 + idLen + 4 > b.length) return undefined;
    let client: string;
    try {
      client = decodeId(b, o + 7, idLen); // interned: the client looks its request up by it
    } catch {
      return undefined; // not UTF-8
    }
    o += 7 + idLen;
    const len = b.readUInt32BE(o);
    if (o + 4 + len > b.length) return undefined;
    each(client, seq, readOnly, o + 4, o + 4 + len);
    o += 4 + len;
  }
  return o === b.length ? regency : undefined;
}

/** The identity (key holder) of a logical client id `base/session`. */
export function clientBase(client: string): string {
  let base = bases.get(client);
  if (base === undefined) {
    const i = client.indexOf('/');
    base = i < 0 ? client : client.slice(0, i);
    // Bounded like the id table it mirrors (codec.ts decodeId): ids arrive before they are authenticated.
    if (bases.size >= MAX_CACHED_CLIENT_BASES) bases.clear();
    bases.set(client, base);
  }
  return base;
}

/** Identity of each logical client id seen: every request check asks, and ids are interned (cheap to look up). */
const bases = new Map<string, string>();

const fromIds = new Map<string, Buffer>();

/**
 * Whether the logical client id of the request at `buf[at]` belongs to the identity `from` (the id is `from` or
 * `from/session`). Request = u8 version | u8 flags | u16 idLen | id | ... (protocol/codec.ts). Compared as bytes,
 * so a replica checks every request against its connection's identity without making a string.
 */
export function idIsFrom(buf: Buffer, at: number, from: string): boolean {
  let want = fromIds.get(from);
  if (!want) {
    want = Buffer.from(from);
    fromIds.set(from, want);
  }
  if (buf.length < at + 4) return false;
  const idLen = (buf[at + 2]! << 8) | buf[at + 3]!;
  const id = at + 4;
  if (idLen < want.length || buf.length < id + idLen) return false;
  if (idLen > want.length && buf[id + want.length] !== 0x2f /* '/' */) return false;
  return buf.compare(want, 0, want.length, id, id + want.length) === 0;
}
