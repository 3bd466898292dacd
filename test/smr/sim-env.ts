/**
 * The simulator's randomness and crypto: splitmix32 streams forked from one seed, and deterministic keys for MAC
 * vectors and client signatures, so a seed replays exactly. A Byzantine replica only ever gets its own keys, so it
 * cannot forge another replica's or client's authenticator; the request check is the real one (request-auth.ts).
 */
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import {
  attachAuth,
  bytesEqual,
  type DecodedRequest,
  encodeRequestBody,
  MAC_LEN,
  macEntry,
  signedBytes,
  toHex,
} from '../../components/smr/protocol/codec.js';
import type { CoreEnv } from '../../components/smr/protocol/types.js';
import { ClientSigners, requestVerifier } from '../../components/smr/request-auth.js';
import { signingPublicKeyOf } from '../../runtime/keys.js';

// ------------------------------------------------------------------ PRNG (splitmix32 streams)
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  fork(tag: number): Rng {
    return new Rng((Math.imul(this.s ^ tag, 0x27d4eb2d) + tag) >>> 0);
  }
}

// ------------------------------------------------------------------ deterministic crypto
/** Cheap keyed hash (two FNV-1a lanes): a Byzantine wrapper only ever gets its own keys, so it cannot forge. */
export function mac(key: string, bytes: Uint8Array): Uint8Array {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    a = Math.imul(a ^ key.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ key.charCodeAt(i), 0x5bd1e995);
  }
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193);
    b = Math.imul(b ^ bytes[i]!, 0x5bd1e995) ^ (b >>> 15);
  }
  const out = new Uint8Array(MAC_LEN);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, a >>> 0);
  dv.setUint32(4, b >>> 0);
  dv.setUint32(8, (a ^ (b << 7)) >>> 0);
  return out;
}
export const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
const digestCache = new WeakMap<Uint8Array, string>();
function digest(b: Uint8Array): string {
  const c = digestCache.get(b);
  if (c) return c;
  const h = createHash('sha256').update(b).digest('hex');
  digestCache.set(b, h);
  return h;
}

/**
 * Ed25519 signing keys of the simulated clients c0..c7, derived from fixed seeds (Ed25519 signatures are
 * deterministic, so a replayed seed gives the same bytes). Made once: key generation is not what is under test.
 */
const MAX_CLIENTS = 8;
export const CLIENT_SIGNING_KEYS: KeyObject[] = Array.from({ length: MAX_CLIENTS }, (_, c) =>
  createPrivateKey({
    key: Buffer.concat([
      Buffer.from('302e020100300506032b657004220420', 'hex'),
      createHash('sha256').update(`tclouds-sim-client-c${c}`).digest(),
    ]),
    format: 'der',
    type: 'pkcs8',
  }),
);
const SIGNERS = new ClientSigners(
  Object.fromEntries(CLIENT_SIGNING_KEYS.map((k, c) => [`c${c}`, signingPublicKeyOf(k)])),
);
/** A key no client registered: what a Byzantine replica can sign with. */
export const ROGUE_SIGNING_KEY = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), new Uint8Array(32).fill(0x42)]),
  format: 'der',
  type: 'pkcs8',
});

const SIGNATURE_CHECKS = new Map<string, boolean>();

/** A MAC request from simulated client `client` for an n-replica group (what the sim's clients send). */
export function simRequest(client: string, seq: number, op: Uint8Array, n: number): Uint8Array {
  const body = encodeRequestBody(client, seq, false, op);
  return attachAuth(
    body,
    Array.from({ length: n }, (_, j) => mac(pairKey(client, `r${j}`), body)),
  );
}

/** The simulator's CoreEnv for replica `me`: deterministic keys, the real request check (request-auth.ts). */
export function makeEnv(me: number, n: number, signed = false): CoreEnv {
  const name = (i: number) => `r${i}`;
  // The replica's request check of the real node (request-auth.ts) around the simulator's MAC.
  const verifyRequest = requestVerifier(
    signed ? 'signature' : 'mac',
    SIGNERS,
    (req: DecodedRequest) => {
      const a = macEntry(req, me);
      return a !== undefined && bytesEqual(a, mac(pairKey(req.client, name(me)), signedBytes(req)));
    },
    (client) => client,
  );
  return {
    digest,
    verifyRequest: (req) => {
      if (!req.signature) return verifyRequest(req);
      // Every replica re-verifies the same signed bytes (on arrival, in proposals, retransmissions): the outcome of
      // Ed25519 verification depends on the bytes alone, so it is computed once per distinct request (CI time).
      const key = toHex(req.bytes);
      let ok = SIGNATURE_CHECKS.get(key);
      if (ok === undefined) {
        ok = verifyRequest(req);
        if (SIGNATURE_CHECKS.size > 200_000) SIGNATURE_CHECKS.clear();
        SIGNATURE_CHECKS.set(key, ok);
      }
      return ok;
    },
    vector: (bytes) => {
      const out = new Uint8Array(n * MAC_LEN);
      for (let j = 0; j < n; j++) out.set(mac(pairKey(name(me), name(j)), bytes), j * MAC_LEN);
      return out;
    },
    checkVector: (from, bytes, vec) =>
      vec.length === n * MAC_LEN &&
      bytesEqual(vec.subarray(me * MAC_LEN, (me + 1) * MAC_LEN), mac(pairKey(name(from), name(me)), bytes)),
  };
}
