/**
 * Plan of an SMR component (BFT-SMaRt shape): n = 3f+1 replicas (2f+1 for crash faults, or `replicas`),
 * every replica talks to every other on `peer` and serves clients on `client`. Clients (TIAs) accept a
 * result once f+1 replicas reply identically, so the client configuration carries f, n and the fault kind, and
 * `clientAuth` (MAC vectors or Ed25519 signatures) goes to both the replicas and the client.
 */
import { replicaCount } from '../../topology/replicas.js';
import type { KindPlanInput } from '../kind.js';
import { housingOf, nodeId, placeGroups, type RoleGroup } from '../plan-layout.js';
import type { ComponentPlan } from '../plan-types.js';
import type { SmrReplicaConfigInput } from './config.js';

export const SMR_PORTS = { peer: 7100, client: 7101 } as const;
export const SMR_CONTROL_PORT = 7199;

export function planSmr(input: KindPlanInput<'smr'>): ComponentPlan {
  const c = input.component;
  const n = replicaCount(c);
  const housing = housingOf(input.mode, input.clouds, c.clouds[0] as string);
  const config =
    (group?: number) =>
    (_i: number): SmrReplicaConfigInput => ({
      f: c.f,
      n,
      faults: c.faults,
      service: c.service,
      batchSize: c.batchSize,
      checkpointPeriod: c.checkpointPeriod,
      // Replicas refuse MAC-only requests when it is `signature` (components/smr/request-auth.ts).
      clientAuth: c.clientAuth,
      durability: c.durability,
      ...(c.walMaxBytes === undefined ? {} : { walMaxBytes: c.walMaxBytes }),
      ...(group === undefined ? {} : { group }),
      // Only when the topology asks: cloud realizers copy this config as it is (the local one always enables it).
      ...(c.chaos?.byzantine ? { faultInjection: true } : {}),
    });
  let groups: RoleGroup[];
  if (housing === 'twin-quad') {
    // Twin quad (seed 4.4): one full replica group per box, for BFT inside a box and availability across boxes.
    // The two groups are independent (role names `replica` and `standby`): the TIA uses the first and fails
    // over to the second; this release does not copy state between them.
    groups = [
      { role: 'replica', count: n, ports: { ...SMR_PORTS }, controlPort: SMR_CONTROL_PORT, config: config(0), box: 0 },
      { role: 'standby', count: n, ports: { ...SMR_PORTS }, controlPort: SMR_CONTROL_PORT, config: config(1), box: 1 },
    ];
    input.notes.push(
      `${input.name}: twin quad: two independent groups of ${n} replicas (replica, standby) on two boxes; the client fails over, state is not copied between the groups`,
    );
  } else {
    groups = [{ role: 'replica', count: n, ports: { ...SMR_PORTS }, controlPort: SMR_CONTROL_PORT, config: config() }];
  }
  const { nodes, layouts } = placeGroups(input, c.clouds, groups, housing);
  const roles = groups.map((g) => g.role);
  return {
    kind: 'smr',
    f: c.f,
    faults: c.faults,
    clouds: [...c.clouds],
    housing,
    nodes,
    buckets: [],
    links: roles.flatMap((r) => [
      { from: r, to: r, port: 'peer' },
      { from: 'clients', to: r, port: 'client' },
    ]),
    keys: [
      ...nodes.map((node) => ({ id: node.id, kind: 'node' as const, for: node.id })),
      { id: `client-${input.name}`, kind: 'client', for: input.name },
    ],
    client: {
      f: c.f,
      n,
      faults: c.faults,
      service: c.service,
      // `signature`: the client signs every request with its Ed25519 key (client.ts clientFromOutputs).
      clientAuth: c.clientAuth,
      // Ordered requests: f+1 identical replies; read-only fast path: all n (protocol/types.ts quorum.readOnly says
      // why), reissued ordered otherwise.
      replyQuorum: c.f + 1,
      readOnlyQuorum: n,
      replicas: Array.from({ length: n }, (_, i) => nodeId(input.name, 'replica', i)),
      ...(housing === 'twin-quad'
        ? { standby: Array.from({ length: n }, (_, i) => nodeId(input.name, 'standby', i)) }
        : {}),
    },
    layouts,
  };
}
