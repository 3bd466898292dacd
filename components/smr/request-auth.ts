/**
 * Ed25519 client signatures for SMR requests (the option beside MAC vectors).
 *
 * Why MAC vectors stay the default (BFT-SMaRt's choice): one HMAC per replica is a few microseconds, an Ed25519
 * verification tens of microseconds at every replica for every request, so MACs keep throughput. Signatures buy
 * what MACs cannot: one authenticator that anyone holding the client's public key can check (a request forwarded
 * by a replica, handed over in a leader change or shown to a third party later), which is non-repudiation.
 *
 * Used by the replica (replica-env.ts), the benchmark's unreplicated baseline (bench/unreplicated.ts) and the
 * simulator (test/smr/sim.ts), so the same check runs in all of them. The policy of a component is `clientAuth` in
 * its replica config:
 * - `mac` (default): MAC-vector requests and signed requests from clients that have a signer key are accepted;
 * - `signature`: only signed requests are accepted (read-only ones too); MAC-only requests are refused.
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { signingPublicKeyFromString } from '../../runtime/keys.js';
import { SmrCode } from './codes.js';
import { type DecodedRequest, encodeSignedRequest, signedBytes } from './protocol/codec.js';

export const CLIENT_AUTH = ['mac', 'signature'] as const;
export type ClientAuth = (typeof CLIENT_AUTH)[number];

/** `clientAuth` of a replica config (absent: `mac`); anything else is a TC420 configuration error. */
export function parseClientAuth(v: unknown): ClientAuth {
  if (v === undefined) return 'mac';
  if (v === 'mac' || v === 'signature') return v;
  throw new TcError(SmrCode.config, `SMR config clientAuth must be "mac" or "signature", got ${JSON.stringify(v)}`, {
    exit: ExitCode.invalid,
  });
}

/**
 * The Ed25519 public keys of a component's clients, parsed once (a KeyObject per client: createPublicKey per
 * request would cost more than the verification). A malformed key is a TC405 error when the role starts.
 */
export class ClientSigners {
  private readonly keys = new Map<string, KeyObject>();

  constructor(signers: Record<string, string> = {}) {
    for (const [client, pub] of Object.entries(signers)) {
      this.keys.set(client, signingPublicKeyFromString(pub, `signing public key of client ${client}`));
    }
  }

  get size(): number {
    return this.keys.size;
  }

  /** Does the request carry a valid signature by `base` (the key holder of the logical client id)? */
  verify(base: string, req: DecodedRequest): boolean {
    const key = this.keys.get(base);
    if (!key || !req.signature) return false;
    try {
      return verify(null, signedBytes(req), key, req.signature);
    } catch {
      return false;
    }
  }
}

/**
 * The request check of a replica: signed requests against the client's signer key; MAC requests with `checkMac`
 * unless the policy requires signatures. `base` is the key holder of the request's logical client id.
 */
export function requestVerifier(
  policy: ClientAuth,
  signers: ClientSigners,
  checkMac: (req: DecodedRequest) => boolean,
  baseOf: (client: string) => string,
): (req: DecodedRequest) => boolean {
  return (req) => {
    if (req.signature) return signers.verify(baseOf(req.client), req);
    return policy === 'mac' && checkMac(req);
  };
}

/** The full signed request for a body (codec.encodeSignedRequest with Ed25519). */
export function signRequest(body: Uint8Array, key: KeyObject): Uint8Array {
  return encodeSignedRequest(body, (bytes) => sign(null, bytes, key));
}
