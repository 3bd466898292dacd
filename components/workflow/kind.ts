/**
 * The workflow kind (components/kind.ts): fault-tolerant workflow execution (TClouds D2.2.1, ch. 9) on engine
 * replicas that are SMR replicas running the workflow service. Status: the SMR's quorum and leader, and per
 * engine the executions running and the calls in flight.
 */
import type { KindModule } from '../kind.js';
import { num } from '../kind-status.js';
import { smrKind } from '../smr/kind.js';
import { MISBEHAVIOURS } from '../smr/misbehaviour.js';
import { CALLER_LIE } from './caller.js';
import { WORKFLOW_CONFIGS } from './config.js';
import { planWorkflow } from './plan.js';

export const workflowKind: KindModule<'workflow'> = {
  kind: 'workflow',
  plan: planWorkflow,
  configs: WORKFLOW_CONFIGS,
  roles: () => import('./node.js').then((m) => m.roles),
  status: {
    unit: 'node',
    quorum: smrKind.status.quorum,
    keyMetric: (role) =>
      [
        ['running', role.running],
        ['calls', role.callsInFlight],
        ['calling', role.calling],
        ['decided', role.lastDecided],
      ]
        .filter(([, v]) => num(v) !== null)
        .map(([k, v]) => `${k} ${v}`)
        .join(' · '),
    agreement: smrKind.status.agreement,
    leaderRole: 'engine',
  },
  // The SMR replica's modes, and the caller shell's lie (caller.ts); only Byzantine components tolerate them.
  chaos: { faultModes: [...MISBEHAVIOURS, CALLER_LIE], corruptibleBuckets: false },
};
