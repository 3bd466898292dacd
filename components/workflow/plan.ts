/**
 * Plan of a fault-tolerant workflow component (TClouds D2.2.1, ch. 9): one group of engine replicas, 2f+1 for
 * crash faults (the default) or 3f+1 for Byzantine ones. Each engine is an SMR replica (components/smr) whose
 * service is the workflow engine, and makes the outgoing calls it is chosen for.
 *
 * The seed also has a ZooKeeper ensemble that orders requests, detects crashes and elects the replica that makes
 * each outgoing call. This plan has no coordination role: the SMR the engines run already orders every input
 * (starts, call results, timer firings, takeovers), and the caller of a call follows from its id and the ordered
 * takeovers (README.md in this folder says why).
 */

import type { z } from 'zod';
import { replicaCount } from '../../topology/replicas.js';
import type { KindPlanInput } from '../kind.js';
import { nodeId, planRoleGroups } from '../plan-layout.js';
import type { ComponentPlan } from '../plan-types.js';
import type { WORKFLOW_CONFIGS } from './config.js';

export const WORKFLOW_PORTS = { engine: { peer: 7500, client: 7501 } } as const;
export const WORKFLOW_CONTROL_PORT = 7599;

export function planWorkflow(input: KindPlanInput<'workflow'>): ComponentPlan {
  const c = input.component;
  const engines = replicaCount(c);
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
        config: (): z.input<(typeof WORKFLOW_CONFIGS)['engine']> => ({
          f: c.f,
          n: engines,
          faults: c.faults,
          durability: c.durability,
          ...(c.takeoverMs === undefined ? {} : { takeoverMs: c.takeoverMs }),
        }),
      },
    ],
    links: [
      { from: 'engine', to: 'engine', port: 'peer' },
      // Engines are clients of their own group too: a call's result and a timer firing are ordered requests.
      { from: 'engine', to: 'engine', port: 'client' },
      { from: 'clients', to: 'engine', port: 'client' },
    ],
    client: {
      f: c.f,
      n: engines,
      faults: c.faults,
      replyQuorum: c.faults === 'byzantine' ? c.f + 1 : 1,
      engines: Array.from({ length: engines }, (_, i) => nodeId(input.name, 'engine', i)),
    },
  });
}
