/**
 * Wire encodings of the SMR role on top of the authenticated transport (runtime/transport.ts).
 * Replica-to-replica messages are structured-clone (v8) serialised: fast, handles Uint8Array, and anything
 * malformed fails to decode (dropped and counted); the core re-checks every field it uses.
 * Client channel: request = 0x01 | request bytes (protocol/codec.ts);
 *                 reply   = 0x02 | u8 readOnly | u32 seq | u32 regency | u16 idLen | logical client id | result.
 * The regency is the replying replica's installed regency: clients send ordered requests to the leader it names
 * once f+1 replicas report it (components/smr/client.ts), so one replica cannot steer them.
 */
import v8 from 'node:v8';
import { decodeId } from './protocol/codec.js';
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
export const REPLY = 2;
/** Bytes of a reply before the client id. */
const HEAD = 12;

export function encodeClientRequest(req: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + req.length);
  out[0] = REQUEST;
  out.set(req, 1);
  return out;
}

export function encodeReply(
  client: string,
  seq: number,
  readOnly: boolean,
  result: Uint8Array,
  regency: number,
): Buffer {
  const idLen = Buffer.byteLength(client);
  const out = Buffer.allocUnsafe(HEAD + idLen + result.length);
  out[0] = REPLY;
  out[1] = readOnly ? 1 : 0;
  out.writeUInt32BE(seq >>> 0, 2);
  out.writeUInt32BE(regency >>> 0, 6);
  out.writeUInt16BE(idLen, 10);
  out.write(client, HEAD);
  out.set(result, HEAD + idLen);
  return out;
}

export interface Reply {
  client: string;
  seq: number;
  readOnly: boolean;
  regency: number;
  result: Buffer;
}

export function decodeReply(b: Buffer): Reply | undefined {
  if (b.length < HEAD || b[0] !== REPLY) return undefined;
  const len = b.readUInt16BE(10);
  if (HEAD + len > b.length) return undefined;
  let client: string;
  try {
    client = decodeId(b, HEAD, len); // interned: the client looks its request up by it
  } catch {
    return undefined; // not UTF-8
  }
  return {
    readOnly: b[1] === 1,
    seq: b.readUInt32BE(2),
    regency: b.readUInt32BE(6),
    client,
    result: b.subarray(HEAD + len),
  };
}

/** The identity (key holder) of a logical client id `base/session`. */
export function clientBase(client: string): string {
  let base = bases.get(client);
  if (base === undefined) {
    const i = client.indexOf('/');
    base = i < 0 ? client : client.slice(0, i);
    // Bounded like the id table it mirrors (codec.ts decodeId): ids arrive before they are authenticated.
    if (bases.size >= 65_536) bases.clear();
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
