/**
 * The benchmark's baseline (bench/smr.ts): one unreplicated server with the same client transport, request
 * authentication and reply batching as an SMR replica, executing each request as it arrives. It is not node
 * software (no deployment plans it), so it lives here, and runs under the same node host as a replica:
 *   in process     startUnreplicated(specFile)
 *   as a process   spawnUnreplicated(specFile), i.e. `node --import tsx bench/unreplicated.ts --spec FILE`,
 *                  which stops cleanly on SIGTERM like `tclouds node run`
 * Its spec is an SMR node spec with role `unreplicated`.
 */
import type { ChildProcess } from 'node:child_process';
import { clientTransport, sendReplies } from '../components/smr/client-channel.js';
import { decodeRequest, requestOp } from '../components/smr/protocol/codec.js';
import { clientMacCheck, requestAuth } from '../components/smr/replica-env.js';
import { loadService } from '../components/smr/services/load.js';
import { clientBase, REQUEST, type ReplyEntry } from '../components/smr/wire.js';
import { type RoleResolver, type RunningNode, startNode } from '../runtime/node-host.js';
import type { RoleContext, RoleFactory, RoleInstance } from '../runtime/role.js';
import type { Transport } from '../runtime/transport.js';
import { serveIfMain, spawnBenchNode } from './node-process.js';

export const unreplicated: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const { spec } = ctx;
  const service = await loadService(typeof spec.config.service === 'string' ? spec.config.service : 'kv');
  let served = 0;
  // Same request check as a replica: MAC entry 0, or an Ed25519 signature (required with clientAuth: signature).
  const { verify: verifyRequest } = requestAuth(spec, clientMacCheck(ctx, 0));
  const t: Transport = clientTransport(ctx, (from, buf) => {
    // Executed at once, and nothing keeps the request: a view of the frame, no copy.
    const req = buf[0] === REQUEST ? decodeRequest(buf.subarray(1)) : undefined;
    if (!req || clientBase(req.client) !== from) return;
    if (!verifyRequest(req)) return;
    const result = service.execute(requestOp(req), {
      client: req.client,
      seq: req.seq,
      cid: served,
      timestamp: Date.now(),
      nonce: 0,
      readOnly: req.readOnly,
    });
    served++;
    // Replies leave as a replica's do: those of one read in one message (sent once the read is processed).
    pending.push({ client: req.client, seq: req.seq, readOnly: req.readOnly, result });
    if (pending.length === 1) queueMicrotask(flush);
  });
  let pending: ReplyEntry[] = [];
  const flush = () => {
    const list = pending;
    pending = [];
    sendReplies(t, list, 0);
  };
  await t.start();
  return { health: () => ({ served }), stop: () => t.close() };
};

/** The node host's roles for the baseline: `unreplicated`, for a spec of kind smr. */
export const baselineRoles: RoleResolver = async (kind) => (kind === 'smr' ? { unreplicated } : undefined);

/** Runs the baseline of `specFile` in this process. */
export function startUnreplicated(specFile: string): Promise<RunningNode> {
  return startNode(specFile, { stderr: false, roles: baselineRoles });
}

/** Runs the baseline of `specFile` as a process of its own (stderr piped, as the bench's replica processes). */
export function spawnUnreplicated(specFile: string): ChildProcess {
  return spawnBenchNode(import.meta.filename, specFile);
}

serveIfMain(import.meta.url, baselineRoles, 'unreplicated baseline');
