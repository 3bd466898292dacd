/**
 * Plan of a log component (seed ch. 11, CoC-distributed Log Service): a replicated Log Core (the service
 * controller, 3f+1 replicas tolerating f Byzantine ones), one Log Storage node per cloud (holds the entries;
 * the core writes every entry to all of them) and one Log Console (the public access interface).
 * This release ships no node software for the log roles; the plan still lists them so cloud targets can
 * be previewed and the shape is fixed.
 */

import type { z } from 'zod';
import { replicaCount } from '../../topology/replicas.js';
import type { KindPlanInput } from '../kind.js';
import { planRoleGroups } from '../plan-layout.js';
import type { ComponentPlan } from '../plan-types.js';
import type { LOG_CONFIGS } from './config.js';

export const LOG_PORTS = {
  core: { peer: 7400, client: 7401 },
  storage: { http: 7410 },
  console: { http: 7420 },
} as const;
export const LOG_CONTROL_PORT = 7499;

export function planLog(input: KindPlanInput<'log'>): ComponentPlan {
  const c = input.component;
  const n = replicaCount(c);
  return planRoleGroups(input, {
    kind: 'log',
    f: c.f,
    faults: 'byzantine',
    clouds: c.clouds,
    groups: [
      {
        role: 'core',
        count: n,
        ports: { ...LOG_PORTS.core },
        controlPort: LOG_CONTROL_PORT,
        config: (): z.input<(typeof LOG_CONFIGS)['core']> => ({ f: c.f, n, faults: 'byzantine' }),
      },
      {
        role: 'storage',
        count: c.clouds.length,
        ports: { ...LOG_PORTS.storage },
        controlPort: LOG_CONTROL_PORT,
        config: (): z.input<(typeof LOG_CONFIGS)['storage']> => ({ f: c.f }),
      },
      {
        role: 'console',
        count: 1,
        ports: { ...LOG_PORTS.console },
        controlPort: LOG_CONTROL_PORT,
        config: (): z.input<(typeof LOG_CONFIGS)['console']> => ({ f: c.f }),
      },
    ],
    links: [
      { from: 'core', to: 'core', port: 'peer' },
      { from: 'core', to: 'storage', port: 'http' },
      { from: 'console', to: 'core', port: 'client' },
      { from: 'clients', to: 'core', port: 'client' },
      { from: 'clients', to: 'console', port: 'http' },
    ],
    client: { f: c.f, n, faults: 'byzantine', replyQuorum: c.f + 1 },
  });
}
