/**
 * Hand-written binary encodings of client requests and batches (pure; no Node APIs).
 *
 * Why by hand: the batch is the consensus value, so replicas hash its exact bytes, and every request inside it
 * must be re-checkable by every replica (the MAC vector covers the request's bytes). The format is small
 * (a 0-byte request from client "c" costs 14 bytes + its MAC vector, cf. BFT-SMaRt's 18 bytes) and fixed.
 *
 * Why 16-byte MAC entries: the vector is most of a small request (4 x 32 of 177 bytes with n = 4), and the leader
 * sends each request to n-1 followers; on loopback every byte written costs about 5 ns of kernel time, so halving
 * the entries cut the bytes the leader writes per request by a third. A forger still has to guess 128 bits.
 * Version 1 requests (32-byte entries) still decode: a stop state written before the change replays.
 *
 *
 * request = u8 version(2) | u8 flags(bit0 read-only, bit1 signed, bit2 reply-all) | u16 idLen | clientId utf8 | u32 seq
 *           | u32 opLen | op | trailer
 * trailer   (MAC request, bit1 clear) = u8 authCount | authCount x 16 bytes (MAC vector, entry i for replica i:
 *           HMAC-SHA256 truncated to its first 128 bits, as RFC 2104 section 5 allows and RFC 4868 does)
 *           (signed request, bit1 set) = u8 0 | 64-byte Ed25519 signature over everything before the trailer
 *
 * The authenticator always covers the flags byte, so a MAC request cannot be relabelled as signed or the other
 * way round. A signed request's trailer is fixed (a zero count, then exactly 64 bytes), so each flag value has
 * exactly one valid trailer length; the zero count also makes a decoder that ignored bit1 reject it (64 bytes
 * left over). Reply-all asks every replica to answer the request, not only its designated repliers
 * (replica-driver.ts): a client sets it when it broadcasts (a retransmission, a lost connection).
 * batch   = u8 version(1) | f64 timestamp | u32 seed | u32 count | count x (u32 len | request)
 */
import { MAX_INTERN_BUCKET, MAX_INTERNED_IDS } from './limits.js';

export interface DecodedRequest {
  /** The logical client id, interned (decodeId): every request of one client shares one string object. */
  client: string;
  seq: number;
  readOnly: boolean;
  /** Every replica answers (flags bit2), not only the designated repliers of the request. */
  replyAll: boolean;
  /** Where the operation is in `bytes` (requestOp makes the view; only execution needs it). */
  opAt: number;
  opLen: number;
  /** Bytes covered by the authenticator: `bytes[0, signedLen)` (everything before the trailer). */
  signedLen: number;
  /** Number of MAC vector entries (0 for a signed request); entry i is macEntry(req, i). */
  macCount: number;
  /** Bytes per MAC vector entry: MAC_LEN (version 2), LEGACY_MAC_LEN (version 1). */
  macLen: number;
  /** Offset in `bytes` of the first MAC vector entry. */
  macAt: number;
  /** Ed25519 signature over the signed bytes; present exactly when flags bit1 is set. */
  signature?: Uint8Array;
  /** The full encoded request. */
  bytes: Uint8Array;
}

/**
 * Views are made on demand, not by the decoder: every replica decodes every request, and a typed-array view
 * costs about as much as the rest of the decode; the operation is needed once, at execution, and the signed bytes
 * only by a signature check.
 */
export function requestOp(req: DecodedRequest): Uint8Array {
  return req.bytes.subarray(req.opAt, req.opAt + req.opLen);
}

export function signedBytes(req: DecodedRequest): Uint8Array {
  return req.bytes.subarray(0, req.signedLen);
}

/**
 * Whether `tag[0, macLen)` equals MAC vector entry `i` of `req`, in time that does not depend on where they differ
 * (no early exit; the entry position and length are public). False when the request has no entry i.
 */
export function macEntryEquals(req: DecodedRequest, i: number, tag: Uint8Array): boolean {
  if (!(i >= 0 && i < req.macCount) || tag.length < req.macLen) return false;
  const b = req.bytes;
  const at = req.macAt + i * req.macLen;
  let diff = 0;
  for (let k = 0; k < req.macLen; k++) diff |= b[at + k]! ^ tag[k]!;
  return diff === 0;
}

export interface Batch {
  timestamp: number;
  seed: number;
  requests: DecodedRequest[];
}

/** Bytes of a request's MAC vector entry (a truncated HMAC-SHA256 tag). */
export const MAC_LEN = 16;
/** Entry size of version 1 requests (the full tag), still decoded. */
export const LEGACY_MAC_LEN = 32;
const VERSION = 2;
export const SIGNATURE_LEN = 64;
export const FLAG_READ_ONLY = 1;
export const FLAG_SIGNED = 2;
export const FLAG_REPLY_ALL = 4;
const FLAGS_KNOWN = FLAG_READ_ONLY | FLAG_SIGNED | FLAG_REPLY_ALL;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/**
 * The request bytes the authenticator covers; `signed` sets flags bit1 (the body of a signed request), `replyAll`
 * bit2. `client` may be given already UTF-8 encoded (a session encodes its id once, not per request).
 */
export function encodeRequestBody(
  client: string | Uint8Array,
  seq: number,
  readOnly: boolean,
  op: Uint8Array,
  signed = false,
  replyAll = false,
): Uint8Array {
  const id = typeof client === 'string' ? enc.encode(client) : client;
  const out = new Uint8Array(requestBodyLength(id, op));
  writeRequestBody(out, 0, id, seq, requestFlags(readOnly, signed, replyAll), op);
  return out;
}

function requestFlags(readOnly: boolean, signed: boolean, replyAll: boolean): number {
  return (readOnly ? FLAG_READ_ONLY : 0) | (signed ? FLAG_SIGNED : 0) | (replyAll ? FLAG_REPLY_ALL : 0);
}

function requestBodyLength(id: Uint8Array, op: Uint8Array): number {
  return 1 + 1 + 2 + id.length + 4 + 4 + op.length;
}

/** Writes a request body at `out[at]`; returns the offset after it. */
function writeRequestBody(
  out: Uint8Array,
  at: number,
  id: Uint8Array,
  seq: number,
  flags: number,
  op: Uint8Array,
): number {
  out[at] = VERSION;
  out[at + 1] = flags;
  out[at + 2] = id.length >>> 8;
  out[at + 3] = id.length & 0xff;
  out.set(id, at + 4);
  let o = at + 4 + id.length;
  putU32(out, o, seq >>> 0);
  putU32(out, o + 4, op.length);
  o += 8;
  out.set(op, o);
  return o + op.length;
}

/**
 * A MAC request built in one buffer, as a client sends one per request: `prefix` free bytes at the front (a
 * transport tag), the body, `u8 count`, then the MAC vector, entry i written in place by `mac(i, out, start, end,
 * at)` over the body bytes `out[start, end)`. `alloc` makes the buffer (the client passes a pooled Buffer, so a
 * request costs no allocation of its own; the codec stays free of Node APIs).
 */
export function buildMacRequest(
  alloc: (size: number) => Uint8Array,
  prefix: number,
  client: Uint8Array,
  seq: number,
  readOnly: boolean,
  op: Uint8Array,
  replyAll: boolean,
  count: number,
  mac: (i: number, out: Uint8Array, start: number, end: number, at: number) => void,
): Uint8Array {
  const bodyLen = requestBodyLength(client, op);
  const out = alloc(prefix + bodyLen + 1 + count * MAC_LEN);
  const end = writeRequestBody(out, prefix, client, seq, requestFlags(readOnly, false, replyAll), op);
  out[end] = count;
  for (let i = 0; i < count; i++) mac(i, out, prefix, end, end + 1 + i * MAC_LEN);
  return out;
}

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

export function attachAuth(body: Uint8Array, auth: Uint8Array[]): Uint8Array {
  return encodeMacRequest(body, auth.length, (i, out, at) => out.set(auth[i]!.subarray(0, MAC_LEN), at));
}

/**
 * A MAC request: `body | u8 count | count MAC entries`, where `mac(i, out, at)` writes entry i (MAC_LEN bytes) in place
 * at `out[at]`, and `prefix` bytes are left free at the front for the caller (a transport tag): one allocation
 * and no copies of the entries, as a client builds one of these per request.
 */
export function encodeMacRequest(
  body: Uint8Array,
  count: number,
  mac: (i: number, out: Uint8Array, at: number) => void,
  prefix = 0,
): Uint8Array {
  const out = new Uint8Array(prefix + body.length + 1 + count * MAC_LEN);
  out.set(body, prefix);
  const at = prefix + body.length + 1;
  out[at - 1] = count;
  for (let i = 0; i < count; i++) mac(i, out, at + i * MAC_LEN);
  return out;
}

/**
 * A signed request from a body: copies the body with flags bit1 set (whatever the body's flags said), signs those
 * bytes with `sign` (Ed25519 in practice; the codec stays free of Node APIs) and appends `u8 0 | signature`.
 */
export function encodeSignedRequest(body: Uint8Array, sign: (signed: Uint8Array) => Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1 + SIGNATURE_LEN);
  out.set(body, 0);
  out[1] = out[1]! | FLAG_SIGNED;
  const sig = sign(out.subarray(0, body.length));
  if (sig.length !== SIGNATURE_LEN) throw new Error(`a request signature must be ${SIGNATURE_LEN} bytes`);
  out[body.length] = 0;
  out.set(sig, body.length + 1);
  return out;
}

/**
 * Interned client ids. Every replica decodes the client id of every request, and the core and driver key their
 * maps by it (sequence numbers, pool, cached replies, MAC keys): a fresh string per request had to be hashed and
 * compared by content in each of them, which was a visible share of a replica's CPU. The table maps the ASCII bytes
 * of an id to one string object, whose hash V8 caches and which compares by identity. Ids are decoded before their
 * request is authenticated (a Byzantine leader chooses the ids in its batch), so the table is bounded twice
 * (limits.ts): past MAX_INTERNED_IDS ids it starts again, and a bucket holds at most MAX_INTERN_BUCKET ids, so ids
 * made to share a key cost a decoder a few comparisons, never a scan of thousands (the key is a cheap hash, not a collision-resistant one).
 * Either bound only costs speed: an id that is not interned decodes to an equal, fresh string.
 */
let interned = new Map<number, string[]>();
let internedCount = 0;

/** The client id in `b[at, at + len)`: interned when ASCII (ids are, in practice), else strictly decoded UTF-8. */
export function decodeId(b: Uint8Array, at: number, len: number): string {
  // The key hashes the length and the last (up to) 12 bytes: ids of one client differ at the end (`base/session`),
  // and a bucket compares whole ids anyway (which also finds any byte that is not ASCII).
  let h = 0x811c9dc5 ^ len;
  for (let i = Math.max(at, at + len - 12); i < at + len; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  const key = h & 0x3fffffff; // a small integer key: no heap number per lookup
  const bucket = interned.get(key);
  if (bucket) {
    for (const s of bucket) if (s.length === len && sameAscii(s, b, at)) return s;
  }
  for (let i = at; i < at + len; i++) if (b[i]! >= 0x80) return dec.decode(b.subarray(at, at + len));
  const s = String.fromCharCode.apply(null, b.subarray(at, at + len) as unknown as number[]);
  if (internedCount >= MAX_INTERNED_IDS) {
    interned = new Map();
    internedCount = 0;
  }
  if (!bucket || interned.get(key) !== bucket) interned.set(key, [s]);
  else if (bucket.length < MAX_INTERN_BUCKET) bucket.push(s);
  else return s; // a full bucket: not interned
  internedCount++;
  return s;
}

function sameAscii(s: string, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== b[at + i]) return false;
  return true;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** MAC vector entry `i` of a request (the one for replica i), or undefined when it has none. */
export function macEntry(req: DecodedRequest, i: number): Uint8Array | undefined {
  if (!(i >= 0 && i < req.macCount)) return undefined;
  return req.bytes.subarray(req.macAt + i * req.macLen, req.macAt + (i + 1) * req.macLen);
}

/** Decodes a request; returns undefined for anything malformed (never throws). */
export function decodeRequest(bytes: Uint8Array): DecodedRequest | undefined {
  try {
    const version = bytes[0];
    if (bytes.length < 13 || (version !== VERSION && version !== 1)) return undefined;
    const macLen = version === VERSION ? MAC_LEN : LEGACY_MAC_LEN;
    // Hand-decoded (no DataView, no views): this runs for every request at every replica.
    const flags = bytes[1]!;
    if ((flags & ~FLAGS_KNOWN) !== 0) return undefined;
    const idLen = (bytes[2]! << 8) | bytes[3]!;
    if (idLen === 0 || idLen > 256 || 4 + idLen + 8 > bytes.length) return undefined;
    const client = decodeId(bytes, 4, idLen);
    let o = 4 + idLen;
    const seq = u32(bytes, o);
    const opLen = u32(bytes, o + 4);
    o += 8;
    if (o + opLen + 1 > bytes.length) return undefined;
    const opAt = o;
    o += opLen;
    const signedLen = o;
    const count = bytes[o]!;
    o += 1;
    const readOnly = (flags & FLAG_READ_ONLY) !== 0;
    const replyAll = (flags & FLAG_REPLY_ALL) !== 0;
    const signed = (flags & FLAG_SIGNED) !== 0;
    if (signed ? count !== 0 || o + SIGNATURE_LEN !== bytes.length : o + count * macLen !== bytes.length) {
      return undefined;
    }
    // One object shape for both kinds (`signature` always present): the consumers' property loads stay monomorphic.
    return {
      client,
      seq,
      readOnly,
      replyAll,
      opAt,
      opLen,
      signedLen,
      macCount: signed ? 0 : count,
      macLen,
      macAt: o,
      signature: signed ? bytes.subarray(o) : undefined,
      bytes,
    };
  } catch {
    return undefined;
  }
}

export function encodeBatch(timestamp: number, seed: number, requests: Uint8Array[]): Uint8Array {
  let size = 1 + 8 + 4 + 4;
  for (const r of requests) size += 4 + r.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = 1;
  dv.setFloat64(1, timestamp);
  dv.setUint32(9, seed >>> 0);
  dv.setUint32(13, requests.length);
  let o = 17;
  for (const r of requests) {
    dv.setUint32(o, r.length);
    out.set(r, o + 4);
    o += 4 + r.length;
  }
  return out;
}

/** Decodes a batch and every request in it; undefined when anything is malformed. */
export function decodeBatch(bytes: Uint8Array): Batch | undefined {
  if (bytes.length < 17 || bytes[0] !== 1) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const timestamp = dv.getFloat64(1);
  if (!Number.isFinite(timestamp)) return undefined;
  const seed = dv.getUint32(9);
  const count = dv.getUint32(13);
  if (count > bytes.length) return undefined;
  const requests: DecodedRequest[] = [];
  let o = 17;
  for (let i = 0; i < count; i++) {
    if (o + 4 > bytes.length) return undefined;
    const len = dv.getUint32(o);
    if (o + 4 + len > bytes.length) return undefined;
    const r = decodeRequest(bytes.subarray(o + 4, o + 4 + len));
    if (!r) return undefined;
    requests.push(r);
    o += 4 + len;
  }
  return o === bytes.length ? { timestamp, seed, requests } : undefined;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

export function fromHex(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const utf8 = {
  encode: (s: string): Uint8Array => enc.encode(s),
  decode: (b: Uint8Array): string => new TextDecoder().decode(b),
};
