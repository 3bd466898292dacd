/**
 * The workflow benchmark's baselines (bench/workflow.ts): one unreplicated engine, the seed's "standard BPEL
 * engine". It runs the same workflow service and caller shell as an engine replica, on the same authenticated
 * client transport, but executes each request as it arrives; with `durability: fsync` it appends every executed
 * operation, and a record of every state it ran, to a log, syncing after each (fdatasync) before the reply
 * leaves: a logging engine that persists after every step; with `none` it keeps everything in memory. Not node software (no deployment plans it), so it lives here:
 *   as a process   spawnSingleEngine(specFile), i.e. `node --import tsx bench/workflow-single.ts --spec FILE`
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { clientTransport, sendReplies } from '../components/smr/client-channel.js';
import { decodeRequest, requestOp } from '../components/smr/protocol/codec.js';
import { clientMacCheck, requestAuth } from '../components/smr/replica-env.js';
import { DEFERRED } from '../components/smr/services/service.js';
import { clientBase, REQUEST, type ReplyEntry } from '../components/smr/wire.js';
import { CallerShell } from '../components/workflow/caller.js';
import type { WorkflowOp } from '../components/workflow/operations.js';
import { workflowService } from '../components/workflow/service.js';
import type { RoleResolver } from '../runtime/node-host.js';
import type { RoleContext, RoleFactory, RoleInstance } from '../runtime/role.js';
import type { Transport } from '../runtime/transport.js';
import { serveIfMain, spawnBenchNode } from './node-process.js';

/** The identity the single engine's own caller shell applies results under. */
const SELF = 'single-engine';
const enc = new TextEncoder();

export const single: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const { spec } = ctx;
  const durable = spec.config.durability !== 'none';
  const service = workflowService();
  service.engines = new Set([SELF]);
  mkdirSync(spec.dataDir, { recursive: true });
  const log = durable ? openSync(path.join(spec.dataDir, 'steps.log'), 'a') : undefined;
  let served = 0;
  /**
   * Executes one operation; with fsync, the operation and then each state it ran are appended and synced one by
   * one (a logging engine persists after every step), before anything that depends on them leaves.
   */
  const execute = (op: Uint8Array, client: string, seq: number, readOnly: boolean): Uint8Array => {
    const before = service.machine.state.steps;
    const result = service.execute(op, { client, seq, cid: served++, timestamp: Date.now(), nonce: 0, readOnly });
    for (const d of service.takeDeferred()) reply({ client: d.client, seq: d.seq, readOnly: false, result: d.result });
    if (log !== undefined && !readOnly) {
      const steps = service.machine.state.steps - before;
      for (let i = 0; i <= steps; i++) {
        const header = Buffer.alloc(8);
        header.writeUInt32BE(i === 0 ? op.byteLength : 0);
        header.writeUInt32BE(i, 4);
        writeSync(log, header);
        if (i === 0) writeSync(log, op);
        fdatasyncSync(log);
      }
    }
    return result;
  };
  const { verify } = requestAuth(spec, clientMacCheck(ctx, 0));
  let pending: ReplyEntry[] = [];
  const t: Transport = clientTransport(ctx, (from, buf) => {
    const req = buf[0] === REQUEST ? decodeRequest(buf.subarray(1)) : undefined;
    if (!req || clientBase(req.client) !== from || !verify(req)) return;
    const result = execute(requestOp(req), req.client, req.seq, req.readOnly);
    if (result !== DEFERRED) reply({ client: req.client, seq: req.seq, readOnly: req.readOnly, result });
  });
  /** Replies leave after the current event, together (as a replica's replies of one step do). */
  function reply(r: ReplyEntry): void {
    pending.push(r);
    if (pending.length === 1) queueMicrotask(flush);
  }
  const flush = () => {
    const list = pending;
    pending = [];
    sendReplies(t, list, 0);
  };
  let selfSeq = 0;
  const submit = async (op: WorkflowOp): Promise<void> => {
    execute(enc.encode(JSON.stringify(op)), `${SELF}/0`, ++selfSeq, false);
  };
  const caller = new CallerShell(
    { me: 0, n: 1, self: SELF, callers: 1, takeoverMs: 60_000, log: ctx.log },
    service,
    submit,
  );
  await t.start();
  caller.start();
  return {
    health: () => ({ served, ...caller.health() }),
    async stop() {
      caller.stop();
      await t.close();
      if (log !== undefined) closeSync(log);
    },
  };
};

export const singleRoles: RoleResolver = async (kind) => (kind === 'workflow' ? { single } : undefined);

export function spawnSingleEngine(specFile: string): ChildProcess {
  return spawnBenchNode(import.meta.filename, specFile);
}

serveIfMain(import.meta.url, singleRoles, 'single workflow engine');
