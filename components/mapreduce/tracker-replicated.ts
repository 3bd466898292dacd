/**
 * `jobTracker: replicated`: one tracker replica's SMR side. The node is an SMR replica of the tracker group
 * (components/smr `startReplica`, unchanged) whose service is the scheduling state (tracker-service.ts), and its
 * shell (tracker.ts) is an SMR client of that group under the identity `<node id>.shell` with the node's key: what
 * the shell sees from workers and clients goes in as ordered endorsements, and what the service decides comes back
 * to the shell to carry out. Shell ids are a name of their own, not the node id, for the reason workflow engines'
 * callers have one (components/workflow/node.ts): a transport refuses a peer claiming its own id.
 */
import type { NodeSpec, PeerSpec } from '../../runtime/node-spec.js';
import type { RoleContext, RoleInstance } from '../../runtime/role.js';
import { SmrClient, type SmrSession } from '../smr/client.js';
import { replicaConfig } from '../smr/config.js';
import { startReplica } from '../smr/node.js';
import { replicaGroup } from '../smr/replica-env.js';
import type { Action } from './core.js';
import { REPLICATED_SUBMIT_TIMEOUT_MS, WORKER_SLOTS } from './limits.js';
import { type TrackerOp, TrackerService } from './tracker-service.js';

export const SHELL_SUFFIX = '.shell';
export const shellId = (nodeId: string): string => `${nodeId}${SHELL_SUFFIX}`;

const enc = new TextEncoder();

export class ReplicatedTracker {
  readonly service: TrackerService;
  readonly group: PeerSpec[];
  private replica: RoleInstance | undefined;
  private client: SmrClient | undefined;
  private readonly idle: SmrSession[] = [];

  constructor(
    private readonly ctx: RoleContext,
    readonly f: number,
    onActions: (a: Action[]) => void,
  ) {
    this.group = replicaGroup(ctx.spec);
    this.service = new TrackerService(
      { slots: WORKER_SLOTS, f, shells: new Set(this.group.map((p) => shellId(p.id))) },
      onActions,
    );
  }

  /** The spec the SMR replica runs with: its own config, and the tracker shells allowed as clients. */
  private replicaSpec(): NodeSpec {
    const spec = this.ctx.spec;
    const clients = { ...spec.clients };
    for (const p of this.group) clients[shellId(p.id)] = p.publicKey;
    return { ...spec, clients };
  }

  async start(): Promise<void> {
    const spec = this.replicaSpec();
    const config = replicaConfig(
      { f: this.f, n: this.group.length, faults: 'byzantine', service: 'mapreduce-tracker', clientAuth: 'mac' },
      this.group.length,
    );
    const { wiring } = await startReplica({ ...this.ctx, spec }, config, this.group, this.service);
    this.replica = wiring;
    this.client = new SmrClient({
      stack: spec.stack,
      clientId: shellId(spec.id),
      privateKey: this.ctx.privateKey,
      replicas: this.group.map((p) => ({
        id: p.id,
        index: p.index,
        host: p.host,
        port: p.ports.client as number,
        publicKey: p.publicKey,
      })),
      f: this.f,
      timeoutMs: REPLICATED_SUBMIT_TIMEOUT_MS,
      log: this.ctx.log.child({ part: 'shell' }),
    });
    // Waits for nobody: the other replicas may still be starting; the client connects as they come.
    await this.client.connect(0, 0);
  }

  /** Orders one op of this shell; a failure is logged (the next view, report or tick is sent anyway). */
  submit(op: TrackerOp): void {
    const client = this.client;
    if (!client) return;
    const session = this.idle.pop() ?? client.session();
    session
      .invoke(enc.encode(JSON.stringify(op)))
      .catch((e) => this.ctx.log.warn('an ordered tracker input failed', { op: op.t, error: (e as Error).message }))
      .finally(() => this.idle.push(session));
  }

  health(): Record<string, unknown> {
    return this.replica?.health() ?? {};
  }

  async stop(): Promise<void> {
    await this.client?.close();
    await this.replica?.stop();
  }
}
