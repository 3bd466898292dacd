/**
 * Advice for a whole topology: for each component, its nodes are spread over its clouds (the same
 * spreadOverClouds the plans use), and within each cloud laid out over that cloud's `hosts` (PMs) under the
 * file's `placement` fault model. Pure: the command loads the file.
 */

import { replicaCount, spreadOverClouds } from '../topology/replicas.js';
import type { Topology } from '../topology/schema.js';
import { advise } from './advise.js';
import { placementError } from './codes.js';
import type { Advice, RiskQuery } from './types.js';

export interface CloudAdvice {
  component: string;
  kind: string;
  cloud: string;
  /** Nodes of the component in this cloud (VMs). */
  nodes: number;
  /** The cloud's declared `hosts`, or null when not declared (one host per node). */
  hosts: number | null;
  /** PMs used: min(hosts, nodes). */
  pms: number;
  advice: Advice;
}

export interface TopologyAdvice {
  placement: RiskQuery;
  components: CloudAdvice[];
  notes: string[];
}

export function adviseTopology(
  topology: Topology,
  opts: { attacks?: number; maxPerPm?: number; override?: Partial<RiskQuery> } = {},
): TopologyAdvice {
  const placement: RiskQuery = {
    threat: opts.override?.threat ?? topology.placement.threat,
    keep: opts.override?.keep ?? topology.placement.keep,
    removal: opts.override?.removal ?? topology.placement.removal,
  };
  const names = Object.keys(topology.components);
  if (names.length === 0) {
    throw placementError('TC113', 'the topology declares no components, so there is nothing to place', {
      hint: 'add a component under `components:`',
    });
  }
  const out: CloudAdvice[] = [];
  const notes: string[] = [];
  for (const name of names) {
    const c = topology.components[name];
    if (!c) continue;
    const spread = spreadOverClouds(replicaCount(c), c.clouds);
    for (const [cloud, nodes] of Object.entries(spread)) {
      const declared = topology.clouds[cloud]?.hosts;
      const pms = Math.min(declared ?? nodes, nodes);
      if (declared !== undefined && declared > nodes) {
        notes.push(`${name} in ${cloud}: ${declared} hosts for ${nodes} nodes, so one node per host (${nodes} PMs)`);
      }
      const advice = advise({ vms: nodes, pms, ...placement, attacks: opts.attacks, maxPerPm: opts.maxPerPm });
      out.push({ component: name, kind: c.kind, cloud, nodes, hosts: declared ?? null, pms, advice });
    }
  }
  if (out.some((a) => a.hosts === null)) {
    notes.push('clouds without `hosts` get one host per node (the schema default "as many as needed")');
  }
  return { placement, components: out, notes };
}
