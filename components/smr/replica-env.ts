/**
 * What an SMR replica needs from its spec and keys to talk and to check what it is told: its group (the replicas
 * its spec lists, in index order), the MAC-vector keys it shares with each of them, the crypto the pure core is
 * given (CoreEnv), and the check of client requests (MAC entry or Ed25519 signature, by the component's policy).
 * All keys are derived once, at start: every request check and vector entry is one HMAC on the hot path.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { pairKey } from '../../runtime/channel-keys.js';
import { HmacSha256Key } from '../../runtime/hmac-sha256.js';
import { publicKeyOf } from '../../runtime/keys.js';
import type { NodeSpec, PeerSpec } from '../../runtime/node-spec.js';
import type { RoleContext } from '../../runtime/role.js';
import { SmrCode } from './codes.js';
import { type DecodedRequest, macEntryEquals } from './protocol/codec.js';
import type { CoreEnv } from './protocol/types.js';
import { type ClientAuth, ClientSigners, parseClientAuth, requestVerifier } from './request-auth.js';
import { clientBase } from './wire.js';

/** Entry size of the replicas' own MAC vectors (collects, ACCEPT proofs): full HMAC-SHA256 tags. */
export const REPLICA_MAC_LEN = 32;

/**
 * The replicas of this node's group (its own role: a twin quad's standby group is another group), sorted by index,
 * which must be 0..n-1 without gaps, each with a peer and a client port.
 */
export function replicaGroup(spec: NodeSpec): PeerSpec[] {
  const group: PeerSpec[] = [
    { id: spec.id, role: spec.role, index: spec.index, host: spec.host, ports: spec.ports, publicKey: spec.publicKey },
    ...spec.peers.filter((p) => p.role === spec.role),
  ].sort((a, b) => a.index - b.index);
  group.forEach((p, i) => {
    if (p.index !== i) {
      throw new TcError(
        SmrCode.config,
        `replica indexes must be 0..n-1 without gaps; found ${p.id} at index ${p.index}`,
        {
          exit: ExitCode.invalid,
        },
      );
    }
    if (p.ports.peer === undefined || p.ports.client === undefined) {
      throw new TcError(SmrCode.config, `replica ${p.id} has no peer/client ports`, { exit: ExitCode.invalid });
    }
  });
  return group;
}

/**
 * The core's crypto: SHA-256 digests, and MAC vectors with a key per replica of the group (itself included, for
 * its own ACCEPTs and collects), pairwise X25519-derived.
 */
export function replicaEnv(
  ctx: RoleContext,
  group: readonly PeerSpec[],
  verifyRequest: (req: DecodedRequest) => boolean,
): CoreEnv {
  const { spec } = ctx;
  const me = spec.index;
  const vectorKeys = group.map(
    (p) =>
      new HmacSha256Key(
        pairKey(
          ctx.privateKey,
          p.id === spec.id ? publicKeyOf(ctx.privateKey) : p.publicKey,
          'vector',
          spec.stack,
          spec.id,
          p.id,
        ),
      ),
  );
  return {
    digest: (b) => createHash('sha256').update(b).digest('hex'),
    verifyRequest,
    vector: (bytes) => Buffer.concat(vectorKeys.map((k) => k.mac(bytes))),
    checkVector: (from, bytes, vec) => {
      const key = vectorKeys[from];
      if (!key || vec.length !== group.length * REPLICA_MAC_LEN) return false;
      return timingSafeEqual(key.mac(bytes), vec.subarray(me * REPLICA_MAC_LEN, (me + 1) * REPLICA_MAC_LEN));
    },
  };
}

/**
 * The MAC check of a node that holds entry `index` of the clients' MAC vectors: the pairwise key with each client
 * identity is derived once, on its first request, and each check writes into one scratch tag (checks are
 * synchronous, so it is never shared).
 */
export function clientMacCheck(ctx: RoleContext, index: number): (req: DecodedRequest) => boolean {
  const { spec } = ctx;
  const keys = new Map<string, HmacSha256Key>();
  const tag = Buffer.allocUnsafe(32);
  return (req) => {
    const base = clientBase(req.client);
    let key = keys.get(base);
    if (!key) {
      const pub = spec.clients[base];
      if (!pub) return false;
      key = new HmacSha256Key(pairKey(ctx.privateKey, pub, 'vector', spec.stack, spec.id, base));
      keys.set(base, key);
    }
    if (!(index < req.macCount)) return false;
    key.macOf(req.bytes, 0, req.signedLen, tag, 0, req.macLen); // 16 bytes, or 32 in a version 1 request
    return macEntryEquals(req, index, tag);
  };
}

/**
 * The request check of an SMR node (a replica, or the benchmark's unreplicated baseline): the component's
 * `clientAuth` policy and the clients' Ed25519 signer keys from the spec, around the node's own MAC check. With
 * `signature`, MAC-only requests are refused, and a spec that lists no signer keys could serve no client at all:
 * refused at start (TC420). Followers re-check every request of a proposal they did not receive themselves, so a
 * Byzantine leader cannot slip an unsigned or forged request into a batch.
 */
export function requestAuth(
  spec: NodeSpec,
  checkMac: (req: DecodedRequest) => boolean,
): { verify: (req: DecodedRequest) => boolean; clientAuth: ClientAuth } {
  const clientAuth = parseClientAuth(spec.config.clientAuth);
  const signers = new ClientSigners(spec.clientSigners ?? {});
  if (clientAuth === 'signature' && signers.size === 0) {
    throw new TcError(SmrCode.config, `clientAuth is "signature" but the spec of ${spec.id} lists no clientSigners`, {
      exit: ExitCode.invalid,
      hint: 'redeploy: `tclouds deploy` generates a signing key for every SMR client',
    });
  }
  return { verify: requestVerifier(clientAuth, signers, checkMac, clientBase), clientAuth };
}
