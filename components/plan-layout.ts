/**
 * Shared plan building blocks: how role groups become PlannedNodes spread over clouds and, inside each
 * cloud, over fault domains (hosts / physical machines). Every per-kind plan (components/<kind>/plan.ts)
 * describes its role groups and lets this module place them, so all kinds place nodes the same way.
 *
 * Fault domains come from the placement advisor (placement/index.ts, `advise`) when the cloud declares
 * `hosts`; otherwise (or when the advisor cannot answer) from an even spread, and the plan says so in its notes.
 */
import { createHash } from 'node:crypto';
import { advise } from '../placement/index.js';
import type { Mode } from '../topology/schema.js';
import type {
  ComponentPlan,
  ComponentPlanInput,
  PlannedCloud,
  PlannedLayout,
  PlannedLink,
  PlannedNode,
} from './plan-types.js';

/**
 * The advisor computes exact probabilities over partitions of the VMs; past this many VMs in one cloud the
 * search is too slow for a plan (which must stay well under a second for 1,000 nodes), so we spread evenly.
 */
export const ADVISOR_MAX_VMS = 24;

/** One group of nodes with the same role, e.g. the 4 SMR replicas. */
export interface RoleGroup {
  role: string;
  /** Number of nodes; node i goes to cloud `clouds[i % clouds.length]` (servers housing). */
  count: number;
  ports: Record<string, number>;
  controlPort: number;
  config(index: number): Record<string, unknown>;
  /** Twin quad: the box (0 or 1) this group lives on. */
  box?: number;
}

/**
 * Where TIS nodes live, from the deployment mode (seed ch. 4):
 * - appliance: all replicas of a component as VMs on one box (the component's first cloud, one host), or on two
 *   boxes each holding a full group ("twin quad") when that cloud declares `hosts: 2` or more;
 * - every other mode: one VM (or local process) per node, spread over the component's clouds.
 */
export function housingOf(
  mode: Mode,
  clouds: Record<string, PlannedCloud>,
  boxCloud: string,
): ComponentPlan['housing'] {
  if (mode !== 'appliance') return 'servers';
  return (clouds[boxCloud]?.hosts ?? 1) >= 2 ? 'twin-quad' : 'appliance-box';
}

/** Node id, unique in the stack. */
export function nodeId(component: string, role: string, index: number): string {
  return `${component}-${role}-${index}`;
}

/**
 * Place role groups. Returns the nodes (group order, then index) and the per-cloud layouts.
 * `componentClouds` is the component's cloud list in topology order.
 */
export function placeGroups(
  input: ComponentPlanInput,
  componentClouds: readonly string[],
  groups: readonly RoleGroup[],
  housing: ComponentPlan['housing'],
): { nodes: PlannedNode[]; layouts: Record<string, PlannedLayout> } {
  const boxCloud = componentClouds[0] as string;
  // 1. clouds: round-robin per role group (servers), or the box cloud (appliance).
  const draft: Array<Omit<PlannedNode, 'domain'> & { box?: number }> = [];
  for (const g of groups) {
    for (let i = 0; i < g.count; i++) {
      const cloud = housing === 'servers' ? (componentClouds[i % componentClouds.length] as string) : boxCloud;
      draft.push({
        id: nodeId(input.name, g.role, i),
        component: input.name,
        role: g.role,
        index: i,
        cloud,
        ports: { ...g.ports },
        controlPort: g.controlPort,
        config: g.config(i),
        ...(g.box === undefined ? {} : { box: g.box }),
      });
    }
  }
  // 2. fault domains inside each cloud.
  const layouts: Record<string, PlannedLayout> = {};
  const domains = new Map<string, number>();
  for (const cloud of componentClouds) {
    const inCloud = draft.filter((n) => n.cloud === cloud);
    if (inCloud.length === 0) continue;
    if (housing === 'appliance-box') {
      layouts[cloud] = { hosts: 1, layout: [inCloud.length], method: 'appliance' };
      for (const n of inCloud) domains.set(n.id, 0);
      continue;
    }
    if (housing === 'twin-quad') {
      const perBox = [0, 1].map((b) => inCloud.filter((n) => (n.box ?? 0) === b).length);
      layouts[cloud] = { hosts: 2, layout: [...perBox].sort((a, b) => b - a), method: 'appliance' };
      for (const n of inCloud) domains.set(n.id, n.box ?? 0);
      continue;
    }
    const layout = layoutFor(input, cloud, inCloud.length);
    layouts[cloud] = layout;
    const assignment = assignDomains(layout.layout, inCloud.length);
    inCloud.forEach((n, k) => {
      domains.set(n.id, assignment[k] as number);
    });
  }
  const nodes: PlannedNode[] = draft.map(({ box: _box, ...n }) => ({
    id: n.id,
    component: n.component,
    role: n.role,
    index: n.index,
    cloud: n.cloud,
    domain: domains.get(n.id) ?? 0,
    ports: n.ports,
    controlPort: n.controlPort,
    config: n.config,
  }));
  return { nodes, layouts };
}

/** What a kind without twin-quad boxes (log, mapreduce, workflow) says about itself; `planRoleGroups` does the rest. */
export interface RoleGroupsPlanSpec {
  kind: ComponentPlan['kind'];
  f: number;
  faults: ComponentPlan['faults'];
  clouds: readonly string[];
  groups: readonly RoleGroup[];
  links: PlannedLink[];
  client: Record<string, unknown>;
}

/**
 * Plan of a kind whose role groups all live in the same housing and that has no buckets: an appliance gets one
 * box even when the cloud could hold a twin quad (these kinds do not replicate per box), every node gets a node
 * key and the component one client key.
 */
export function planRoleGroups(input: ComponentPlanInput, spec: RoleGroupsPlanSpec): ComponentPlan {
  const housing = housingOf(input.mode, input.clouds, spec.clouds[0] as string);
  const effective = housing === 'twin-quad' ? 'appliance-box' : housing;
  const { nodes, layouts } = placeGroups(input, spec.clouds, spec.groups, effective);
  return {
    kind: spec.kind,
    f: spec.f,
    faults: spec.faults,
    clouds: [...spec.clouds],
    housing: effective,
    nodes,
    buckets: [],
    links: spec.links,
    keys: [
      ...nodes.map((node) => ({ id: node.id, kind: 'node' as const, for: node.id })),
      { id: `client-${input.name}`, kind: 'client', for: input.name },
    ],
    client: spec.client,
    layouts,
  };
}

/** VMs per host for `vms` nodes of one component in one cloud. */
export function layoutFor(input: ComponentPlanInput, cloud: string, vms: number): PlannedLayout {
  const hosts = input.clouds[cloud]?.hosts;
  if (hosts === undefined) {
    // "hosts: as many as needed" (topology schema): every node on its own host.
    input.notes.push(`cloud ${cloud} declares no hosts: every node there gets its own host (even spread, no advisor)`);
    return { hosts: vms, layout: new Array<number>(vms).fill(1), method: 'even-spread' };
  }
  if (vms > ADVISOR_MAX_VMS) {
    input.notes.push(
      `${input.name}/${cloud}: ${vms} nodes exceed the advisor's exact search (${ADVISOR_MAX_VMS}); fault domains assigned by even spread`,
    );
    return evenSpread(vms, hosts);
  }
  try {
    // The advisor places at least one VM on every PM it is given; with fewer VMs than hosts, one VM per host
    // is the only sensible layout and the advisor still supplies its risk figures for it.
    const advice = advise({
      vms,
      pms: Math.min(hosts, vms),
      threat: input.placement.threat,
      keep: input.placement.keep,
      removal: input.placement.removal,
    });
    const layout = [...advice.recommended.layout].filter((x) => x > 0).sort((a, b) => b - a);
    if (layout.reduce((a, b) => a + b, 0) !== vms || layout.length > hosts) throw new Error('inconsistent advice');
    const out: PlannedLayout = {
      hosts: layout.length,
      layout,
      method: 'advisor',
      pKeep: roundProbability(advice.recommended.pKeep),
    };
    if (typeof advice.recommended.attacksToBreak === 'number') out.attacksToBreak = advice.recommended.attacksToBreak;
    return out;
  } catch (e) {
    input.notes.push(
      `${input.name}/${cloud}: placement advisor gave no layout (${e instanceof Error ? e.message : String(e)}); fault domains assigned by even spread`,
    );
    return evenSpread(vms, hosts);
  }
}

/** Probabilities printed in the plan are rounded so tiny float differences never change the plan's bytes. */
function roundProbability(p: number): number {
  return Math.round(p * 1e9) / 1e9;
}

/** As even as possible over min(hosts, vms) hosts, sorted descending. */
export function evenSpread(vms: number, hosts: number): PlannedLayout {
  const used = Math.max(1, Math.min(hosts, vms));
  const layout = new Array<number>(used).fill(0);
  for (let i = 0; i < vms; i++) layout[i % used] = (layout[i % used] as number) + 1;
  return { hosts: used, layout, method: 'even-spread' };
}

/**
 * Host of each of `vms` nodes for a layout: round-robin over the hosts that still have room, so consecutive
 * replicas (0, 1, 2...) land on different hosts first.
 */
export function assignDomains(layout: readonly number[], vms: number): number[] {
  const room = [...layout];
  const out: number[] = [];
  let h = 0;
  for (let k = 0; k < vms; k++) {
    let tries = 0;
    while ((room[h] ?? 0) <= 0 && tries < room.length) {
      h = (h + 1) % room.length;
      tries++;
    }
    out.push(h);
    room[h] = (room[h] ?? 0) - 1;
    h = (h + 1) % room.length;
  }
  return out;
}

/** DNS-safe bucket name, at most 63 characters, deterministic. */
export function bucketName(stack: string, component: string, cloud: string): string {
  const full = `${stack}-${component}-${cloud}`;
  if (full.length <= 63) return full;
  const digest = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, 54).replace(/-+$/, '')}-${digest}`;
}
