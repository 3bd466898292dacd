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
  /**
   * What the user can choose in this cloud: `single-node` (one node, nothing to lay out: the cloud is its fault
   * domain), `one-per-host` (as many hosts as nodes, so the layout is forced: what can change is the number of
   * hosts, see hostOptions) or `layout` (fewer hosts than nodes: the advice picks the layout over them).
   */
  choice: 'single-node' | 'one-per-host' | 'layout';
  advice: Advice;
  /** For `one-per-host`: the best layout on each number of hosts 1..nodes, after the same number of faults. */
  hostOptions: HostOption[];
  /** The number of hosts among hostOptions that keeps the majority most often (fewest on a tie); null otherwise. */
  bestHosts: number | null;
}

export interface HostOption {
  hosts: number;
  layout: number[];
  pKeep: number;
  attacksToBreak: number | null;
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
      const choice = nodes === 1 ? 'single-node' : pms === nodes ? 'one-per-host' : 'layout';
      const hostOptions = choice === 'one-per-host' ? hostSweep(nodes, placement, advice.attacks, opts.maxPerPm) : [];
      const bestHosts = bestHostOption(hostOptions)?.hosts ?? null;
      out.push({
        component: name,
        kind: c.kind,
        cloud,
        nodes,
        hosts: declared ?? null,
        pms,
        choice,
        advice,
        hostOptions,
        bestHosts,
      });
    }
  }
  if (out.some((a) => a.hosts === null && a.nodes > 1)) {
    notes.push('clouds without `hosts` get one host per node (the schema default "as many as needed")');
  }
  return { placement, components: out, notes };
}

/**
 * With one node per host the layout is forced; what the user can still choose is how many hosts to ask the cloud
 * for. The best layout on each count, evaluated after the same `attacks` faults so the rows compare.
 */
function hostSweep(nodes: number, q: RiskQuery, attacks: number, maxPerPm: number | undefined): HostOption[] {
  const rows: HostOption[] = [];
  for (let hosts = 1; hosts <= nodes; hosts++) {
    if (maxPerPm !== undefined && hosts * maxPerPm < nodes) continue;
    const a = advise({ vms: nodes, pms: hosts, ...q, attacks, maxPerPm });
    rows.push({ hosts, ...a.recommended });
  }
  return rows;
}

/** The host count to suggest: the highest P(kept), then more attacks to break, then fewer hosts (cheaper). */
function bestHostOption(rows: readonly HostOption[]): HostOption | undefined {
  const breaks = (r: HostOption) => r.attacksToBreak ?? Number.POSITIVE_INFINITY;
  let best: HostOption | undefined;
  for (const r of rows) {
    if (!best || r.pKeep > best.pKeep + 1e-12 || (Math.abs(r.pKeep - best.pKeep) <= 1e-12 && breaks(r) > breaks(best)))
      best = r;
  }
  return best;
}

/**
 * The notes worth printing for one cloud: none for a single node; for a forced one-per-host layout only how the
 * faults were counted (the comparisons of one layout with itself say nothing).
 */
export function notesOf(e: CloudAdvice): string[] {
  if (e.choice === 'single-node') return [];
  if (e.choice === 'one-per-host') return e.advice.notes.filter((n) => n.startsWith('no --attacks'));
  return e.advice.notes;
}

/** Notes every advised cloud shares, said once; the rest stay with their cloud. */
export function splitNotes(entries: readonly CloudAdvice[]): { shared: string[]; own: string[][] } {
  const all = entries.map(notesOf);
  const advised = all.filter((_, i) => entries[i]?.choice !== 'single-node');
  const shared = advised.length > 1 ? (advised[0] ?? []).filter((n) => advised.every((ns) => ns.includes(n))) : [];
  return { shared, own: all.map((ns) => ns.filter((n) => !shared.includes(n))) };
}
