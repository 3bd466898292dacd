/**
 * Plan of a storage component (DepSky): one bucket per cloud, written by the TIA (client-resident) or by
 * gateway nodes (TIS) that front the clouds for an organisation (mediator; appliance: the gateways are VMs of
 * one box). Native mode keeps DepSky as a client library over the provider's buckets (no gateways).
 */
import type { KindPlanInput } from '../kind.js';
import { bucketName, housingOf, nodeId, placeGroups, type RoleGroup } from '../plan-layout.js';
import type { ComponentPlan, PlannedKey } from '../plan-types.js';
import type { StorageGatewayConfigInput } from './config.js';

export const GATEWAY_PORTS = { http: 7300 } as const;
export const GATEWAY_CONTROL_PORT = 7399;

export function planStorage(input: KindPlanInput<'storage'>): ComponentPlan {
  const c = input.component;
  const n = c.clouds.length;
  const buckets = c.clouds.map((cloud) => ({
    cloud,
    name: bucketName(input.stack, input.name, cloud),
    component: input.name,
  }));
  const withGateways = input.mode === 'mediator' || input.mode === 'appliance';
  // Gateways of an appliance live on one box whatever the host count: a twin quad of gateways would add
  // nothing (the data is safe in the clouds), so `appliance-box` it is.
  const housing: ComponentPlan['housing'] = !withGateways
    ? 'none'
    : housingOf(input.mode, input.clouds, c.clouds[0] as string) === 'servers'
      ? 'servers'
      : 'appliance-box';
  const groups: RoleGroup[] = withGateways
    ? [
        {
          role: 'gateway',
          count: c.gateways,
          ports: { ...GATEWAY_PORTS },
          controlPort: GATEWAY_CONTROL_PORT,
          config: (): StorageGatewayConfigInput => ({
            protocol: c.protocol,
            f: c.f,
            n,
            clouds: [...c.clouds],
            buckets: Object.fromEntries(buckets.map((b) => [b.cloud, b.name])),
            // A gateway on a cloud VM reaches each bucket through that cloud's SDK (components/storage/node.ts).
            providers: Object.fromEntries(c.clouds.map((cloud) => [cloud, input.clouds[cloud]?.provider ?? 'local'])),
            regions: Object.fromEntries(
              c.clouds.flatMap((cloud) => {
                const region = input.clouds[cloud]?.region;
                return region ? [[cloud, region]] : [];
              }),
            ),
          }),
        },
      ]
    : [];
  const { nodes, layouts } = placeGroups(input, c.clouds, groups, housing);
  const keys: PlannedKey[] = [
    ...nodes.map((node) => ({ id: node.id, kind: 'node' as const, for: node.id })),
    { id: `writer-${input.name}`, kind: 'storage-writer', for: input.name },
    { id: `client-${input.name}`, kind: 'client', for: input.name },
  ];
  return {
    kind: 'storage',
    f: c.f,
    faults: 'byzantine',
    clouds: [...c.clouds],
    housing,
    nodes,
    buckets,
    links: withGateways ? [{ from: 'clients', to: 'gateway', port: 'http' }] : [],
    keys,
    client: {
      protocol: c.protocol,
      f: c.f,
      n,
      clouds: [...c.clouds],
      buckets: Object.fromEntries(buckets.map((b) => [b.cloud, b.name])),
      // Reads and writes need n-f clouds to answer (DepSky quorums).
      quorum: n - c.f,
      ...(withGateways
        ? { gateways: Array.from({ length: c.gateways }, (_, i) => nodeId(input.name, 'gateway', i)) }
        : {}),
    },
    layouts,
  };
}
