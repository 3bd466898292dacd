/**
 * Plan of a log component (TClouds D2.2.1, ch. 11, §11.3.4, the cloud-of-clouds-distributed Log Service):
 * - Log Core: 3f+1 replicas of an SMR group running the log service (Byzantine, no trusted cloud);
 * - Log Storage: one bucket per cloud, written by every core replica through DepSky, so f clouds losing or
 *   corrupting their copies lose and change nothing (n >= 3f+1 clouds, like a storage component). It needs no VM:
 *   the clouds' own object stores are the storage nodes;
 * - Log Console: the one access interface (HTTP, signed tokens, policies).
 * Every core replica has its own Ed25519 writer key (`writer-<node>`): its segment copies and tree-head signatures
 * are its own, so a compromised replica cannot overwrite what the others stored.
 */

import type { z } from 'zod';
import { replicaCount } from '../../topology/replicas.js';
import type { KindPlanInput } from '../kind.js';
import { bucketName, nodeId, planRoleGroups } from '../plan-layout.js';
import type { ComponentPlan } from '../plan-types.js';
import type { LOG_CONFIGS } from './config.js';

export const LOG_PORTS = {
  core: { peer: 7400, client: 7401 },
  console: { http: 7420 },
} as const;
export const LOG_CONTROL_PORT = 7499;

/** A cloud's jurisdiction for access policies: the first part of its region (eu-west-1 -> eu), else its name. */
export function jurisdictionOf(cloud: string, region: string | undefined): string {
  return region ? (region.split('-')[0] as string) : cloud;
}

export function planLog(input: KindPlanInput<'log'>): ComponentPlan {
  const c = input.component;
  const n = replicaCount(c);
  const buckets = c.clouds.map((cloud) => ({
    cloud,
    name: bucketName(input.stack, input.name, cloud),
    component: input.name,
  }));
  const where = {
    clouds: [...c.clouds],
    buckets: Object.fromEntries(buckets.map((b) => [b.cloud, b.name])),
    providers: Object.fromEntries(c.clouds.map((cloud) => [cloud, input.clouds[cloud]?.provider ?? 'local'])),
    regions: Object.fromEntries(
      c.clouds.flatMap((cloud) => {
        const region = input.clouds[cloud]?.region;
        return region ? [[cloud, region]] : [];
      }),
    ),
  };
  const consoleClient = `console-${input.name}`;
  const plan = planRoleGroups(input, {
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
        config: (): z.input<(typeof LOG_CONFIGS)['core']> => ({
          f: c.f,
          n,
          faults: 'byzantine',
          service: 'log',
          ...where,
        }),
      },
      {
        role: 'console',
        count: 1,
        ports: { ...LOG_PORTS.console },
        controlPort: LOG_CONTROL_PORT,
        config: (): z.input<(typeof LOG_CONFIGS)['console']> => ({
          f: c.f,
          ...where,
          jurisdictions: Object.fromEntries(
            c.clouds.map((cloud) => [
              cloud,
              c.jurisdictions?.[cloud] ?? jurisdictionOf(cloud, input.clouds[cloud]?.region),
            ]),
          ),
          clientId: consoleClient,
        }),
      },
    ],
    links: [
      { from: 'core', to: 'core', port: 'peer' },
      { from: 'console', to: 'core', port: 'client' },
      { from: 'clients', to: 'core', port: 'client' },
      { from: 'clients', to: 'console', port: 'http' },
    ],
    client: { f: c.f, n, faults: 'byzantine', replyQuorum: c.f + 1, ...where },
  });
  const writers = Array.from({ length: n }, (_, i) => nodeId(input.name, 'core', i));
  return {
    ...plan,
    buckets,
    keys: [
      ...plan.keys,
      { id: consoleClient, kind: 'client', for: input.name },
      ...writers.map((w) => ({ id: `writer-${w}`, kind: 'storage-writer' as const, for: w })),
      { id: `console-token-${input.name}`, kind: 'storage-writer' as const, for: `${input.name}-console` },
    ],
  };
}
