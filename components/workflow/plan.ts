/**
 * Plan of a fault-tolerant workflow component (seed ch. 9): a group of BPEL engine replicas (each with its
 * input and output proxy; 2f+1 for crash faults, 3f+1 for Byzantine) and a coordination ensemble
 * (ZooKeeper-like, 2f+1) that orders requests, detects crashes and elects who performs an outgoing call.
 * This release ships no node software for workflow; the plan still lists the nodes.
 */

import type { z } from 'zod';
import { quorumGroupSize, replicaCount } from '../../topology/replicas.js';
import type { KindPlanInput } from '../kind.js';
import { planRoleGroups } from '../plan-layout.js';
import type { ComponentPlan } from '../plan-types.js';
import type { WORKFLOW_CONFIGS } from './config.js';

export const WORKFLOW_PORTS = {
  engine: { peer: 7500, client: 7501 },
  coordination: { peer: 7510, client: 7511 },
} as const;
export const WORKFLOW_CONTROL_PORT = 7599;

export function planWorkflow(input: KindPlanInput<'workflow'>): ComponentPlan {
  const c = input.component;
  const engines = replicaCount(c);
  const ensemble = quorumGroupSize('crash', c.f);
  return planRoleGroups(input, {
    kind: 'workflow',
    f: c.f,
    faults: c.faults,
    clouds: c.clouds,
    groups: [
      {
        role: 'engine',
        count: engines,
        ports: { ...WORKFLOW_PORTS.engine },
        controlPort: WORKFLOW_CONTROL_PORT,
        config: (): z.input<(typeof WORKFLOW_CONFIGS)['engine']> => ({ f: c.f, n: engines, faults: c.faults }),
      },
      {
        role: 'coordination',
        count: ensemble,
        ports: { ...WORKFLOW_PORTS.coordination },
        controlPort: WORKFLOW_CONTROL_PORT,
        config: (): z.input<(typeof WORKFLOW_CONFIGS)['coordination']> => ({ f: c.f, n: ensemble }),
      },
    ],
    links: [
      { from: 'engine', to: 'coordination', port: 'client' },
      { from: 'coordination', to: 'coordination', port: 'peer' },
      { from: 'engine', to: 'engine', port: 'peer' },
      { from: 'clients', to: 'engine', port: 'client' },
    ],
    client: { f: c.f, n: engines, faults: c.faults, replyQuorum: c.faults === 'byzantine' ? c.f + 1 : 1 },
  });
}
