/**
 * The workflow node role, `engine`: an SMR replica (components/smr/node.ts, unchanged) whose service is the
 * workflow engine (service.ts), plus the caller shell (caller.ts) that makes the outgoing calls and orders their
 * results, takeovers and timer ticks back through the same replica group.
 *
 * The shell is an SMR client of its own group under the identity `<node id>.caller`, with the node's key: the
 * replica is given a spec whose client list also holds these identities, so no extra key has to be planned,
 * shipped or kept. A name of its own, not the node id: a transport refuses a connection that claims its own id
 * (the shell must reach its own replica too), and the MAC keys derived for it differ from the replica-to-replica
 * vector keys, which are derived from the same key pair and the node ids.
 *
 * POST /admin/workflow-read {op: status|history|list|definitions, ...} answers from this replica's own state,
 * unordered: tests and operators compare replicas with it (the same history on every replica).
 */
import type { NodeSpec } from '../../runtime/node-spec.js';
import type { RoleContext, RoleFactory, RoleInstance } from '../../runtime/role.js';
import { roles as smrRoles } from '../smr/node.js';
import { replicaGroup } from '../smr/replica-env.js';
import { CALLER_LIE, CallerShell } from './caller.js';
import { WorkflowCode } from './codes.js';
import { engineConfig, type WorkflowEngineConfig } from './config.js';
import { READ_OPS, WorkflowOpSchema } from './operations.js';
import { workflowService } from './service.js';
import { CALLER_SUFFIX, callerId, SmrSubmitter } from './smr-submit.js';

/** The spec the SMR replica runs with: the SMR config of this engine, and the engines allowed as clients. */
function replicaSpec(spec: NodeSpec, config: WorkflowEngineConfig): NodeSpec {
  const clients = { ...spec.clients };
  for (const p of replicaGroup(spec)) clients[callerId(p.id)] = p.publicKey;
  return {
    ...spec,
    clients,
    config: {
      f: config.f,
      n: config.n,
      faults: config.faults,
      service: 'workflow',
      durability: config.durability,
      walMaxBytes: config.walMaxBytes,
      checkpointPeriod: config.checkpointPeriod,
      batchSize: config.batchSize,
      clientAuth: 'mac',
      faultInjection: config.faultInjection,
    },
  };
}

/**
 * The chaos partition set as the replica's transports see it: a partitioned engine's caller identity is cut off
 * with its node, so a cut-off engine cannot order a call's result through the others' client ports either.
 */
class PartitionWithCallers extends Set<string> {
  constructor(private readonly nodes: Set<string>) {
    super();
  }
  override has(id: string): boolean {
    return this.nodes.has(id) || (id.endsWith(CALLER_SUFFIX) && this.nodes.has(id.slice(0, -CALLER_SUFFIX.length)));
  }
}

const engine: RoleFactory = async (ctx: RoleContext): Promise<RoleInstance> => {
  const group = replicaGroup(ctx.spec);
  const config = engineConfig(ctx.spec.config, group.length);
  const service = workflowService();
  service.engines = new Set(group.map((p) => callerId(p.id)));
  const replica = await smrRoles.replica!({
    ...ctx,
    spec: replicaSpec(ctx.spec, config),
    ...(ctx.partitioned ? { partitioned: new PartitionWithCallers(ctx.partitioned) } : {}),
  });
  const submitter = new SmrSubmitter(ctx, config, group);
  await submitter.start();
  // Byzantine engines: f+1 make each call and the engine takes an outcome once f+1 of them ordered it the same.
  const callers = config.faults === 'byzantine' ? config.f + 1 : 1;
  service.machine.resultQuorum = callers;
  const caller = new CallerShell(
    {
      me: ctx.spec.index,
      n: group.length,
      self: callerId(ctx.spec.id),
      callers,
      takeoverMs: config.takeoverMs,
      log: ctx.log.child({ part: 'caller' }),
    },
    service,
    submitter.submit,
  );
  caller.start();
  /** POST /admin/fault: the caller shell's lie, or the SMR replica's misbehaviour (which clears the lie). */
  const switchFault = async (body: unknown): Promise<unknown> => {
    const mode = (body as { mode?: unknown } | undefined)?.mode;
    if (mode !== CALLER_LIE) {
      const r = await replica.admin?.('fault', body);
      caller.lie = false;
      return r;
    }
    if (!config.faultInjection) throw new Error('fault injection is disabled (spec config faultInjection is not set)');
    await replica.admin?.('fault', { mode: 'none' });
    caller.lie = true;
    ctx.log.warn('fault mode changed', { mode });
    return { fault: mode };
  };
  ctx.log.info('workflow engine started', { index: ctx.spec.index, n: config.n, takeoverMs: config.takeoverMs });
  return {
    health: () => ({ ...replica.health(), ...caller.health() }),
    async stop() {
      caller.stop();
      await submitter.close();
      await replica.stop();
    },
    async admin(action, body) {
      if (action === 'fault') return switchFault(body);
      if (action !== 'workflow-read') return replica.admin?.(action, body);
      const parsed = WorkflowOpSchema.safeParse(body);
      if (!parsed.success || !READ_OPS.has(parsed.data.op)) {
        return {
          error: {
            code: WorkflowCode.rejected,
            message: 'workflow-read takes a status, history, list or definitions op',
          },
        };
      }
      return service.machine.apply(parsed.data, 0);
    },
  };
};

export const roles: Record<string, RoleFactory> = { engine };
