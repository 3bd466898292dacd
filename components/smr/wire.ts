/**
 * Wire encodings of the SMR role on top of the authenticated transport (runtime/transport.ts).
 * Replica-to-replica messages are structured-clone (v8) serialised: fast, handles Uint8Array, and anything
 * malformed fails to decode (dropped and counted); the core re-checks every field it uses.
 * Client channel: request = 0x01 | request bytes (protocol/codec.ts);
 *                 reply   = 0x02 | u8 readOnly | u32 seq | u16 idLen | logical client id | result.
 */
import v8 from 'node:v8';
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

export function encodeClientRequest(req: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + req.length);
  out[0] = REQUEST;
  out.set(req, 1);
  return out;
}

export function encodeReply(client: string, seq: number, readOnly: boolean, result: Uint8Array): Buffer {
  const id = Buffer.from(client);
  const out = Buffer.allocUnsafe(1 + 1 + 4 + 2 + id.length + result.length);
  out[0] = REPLY;
  out[1] = readOnly ? 1 : 0;
  out.writeUInt32BE(seq >>> 0, 2);
  out.writeUInt16BE(id.length, 6);
  id.copy(out, 8);
  out.set(result, 8 + id.length);
  return out;
}

export function decodeReply(b: Buffer): { client: string; seq: number; readOnly: boolean; result: Buffer } | undefined {
  if (b.length < 8 || b[0] !== REPLY) return undefined;
  const len = b.readUInt16BE(6);
  if (8 + len > b.length) return undefined;
  return {
    readOnly: b[1] === 1,
    seq: b.readUInt32BE(2),
    client: b.subarray(8, 8 + len).toString(),
    result: b.subarray(8 + len),
  };
}

/** The identity (key holder) of a logical client id `base/session`. */
export function clientBase(client: string): string {
  const i = client.indexOf('/');
  return i < 0 ? client : client.slice(0, i);
}
