/**
 * How an engine orders what its caller shell learned (a call's result, a takeover, a tick): as an SMR client of
 * its own group, under the identity `<node id>.caller` with the node's key, with a pool of sessions so several calls' results travel at once (an
 * SMR session has one request in flight).
 */
import type { PeerSpec } from '../../runtime/node-spec.js';
import type { RoleContext } from '../../runtime/role.js';
import { SmrClient, type SmrSession } from '../smr/client.js';
import type { WorkflowEngineConfig } from './config.js';
import type { WorkflowOp } from './operations.js';

/** Deadline of one ordered request from the shell; past it, the work is redone at the next scan. */
const SUBMIT_TIMEOUT_MS = 10_000;

const enc = new TextEncoder();

/** The client identity of an engine's caller shell (node.ts says why it is not the node id). */
export const CALLER_SUFFIX = '.caller';
export const callerId = (nodeId: string): string => `${nodeId}${CALLER_SUFFIX}`;

export class SmrSubmitter {
  private readonly client: SmrClient;
  private readonly idle: SmrSession[] = [];

  constructor(ctx: RoleContext, config: WorkflowEngineConfig, group: readonly PeerSpec[]) {
    this.client = new SmrClient({
      stack: ctx.spec.stack,
      clientId: callerId(ctx.spec.id),
      privateKey: ctx.privateKey,
      replicas: group.map((p) => ({
        id: p.id,
        index: p.index,
        host: p.host,
        port: p.ports.client!,
        publicKey: p.publicKey,
      })),
      f: config.faults === 'crash' ? 0 : config.f,
      timeoutMs: SUBMIT_TIMEOUT_MS,
      log: ctx.log.child({ part: 'caller' }),
    });
  }

  /** Connecting waits for nobody: peers may still be starting, and the client connects as they come. */
  async start(): Promise<void> {
    await this.client.connect(0, 0);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  readonly submit = async (op: WorkflowOp): Promise<void> => {
    const session = this.idle.pop() ?? this.client.session();
    try {
      await session.invoke(enc.encode(JSON.stringify(op)));
    } finally {
      this.idle.push(session);
    }
  };
}
