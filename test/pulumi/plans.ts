/**
 * Plans for the Pulumi tests. Templates go through the real plan compiler when it is present
 * (components/plan.ts + topology/load.ts); `handPlan` builds a Plan in the documented shape for cases the
 * templates do not cover (a layout that exceeds a construct, cross-cloud links, client CIDRs).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentPlan, Plan, PlannedCloud, PlannedNode } from '../../components/plan-types.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Topology templates shipped in templates/ (not the cloud-init ones). */
export function templateFiles(): string[] {
  const dir = join(ROOT, 'templates');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith('cloud-init'))
    .sort()
    .map((f) => join(dir, f));
}

export interface HandComponent {
  kind?: ComponentPlan['kind'];
  role?: string;
  /** Cloud and domain of each node, in order. */
  nodes: { cloud: string; domain: number }[];
  ports?: Record<string, number>;
  links?: ComponentPlan['links'];
  buckets?: { cloud: string; name: string }[];
  housing?: ComponentPlan['housing'];
}

export function handPlan(opts: {
  stack?: string;
  clouds: Record<string, PlannedCloud>;
  components: Record<string, HandComponent>;
  cidrs?: string[];
}): Plan {
  const components: Record<string, ComponentPlan> = {};
  for (const [name, c] of Object.entries(opts.components)) {
    const role = c.role ?? 'replica';
    const ports = c.ports ?? { peer: 7100, client: 7101 };
    const nodes: PlannedNode[] = c.nodes.map((n, index) => ({
      id: `${name}-${role}-${index}`,
      component: name,
      role,
      index,
      cloud: n.cloud,
      domain: n.domain,
      ports,
      controlPort: 7190,
      config: {},
    }));
    const layouts: ComponentPlan['layouts'] = {};
    for (const cloud of new Set(nodes.map((n) => n.cloud))) {
      const counts = new Map<number, number>();
      for (const n of nodes.filter((x) => x.cloud === cloud)) counts.set(n.domain, (counts.get(n.domain) ?? 0) + 1);
      layouts[cloud] = { hosts: counts.size, layout: [...counts.values()].sort((a, b) => b - a), method: 'even-spread' };
    }
    components[name] = {
      kind: c.kind ?? 'smr',
      f: 1,
      faults: 'byzantine',
      clouds: [...new Set(nodes.map((n) => n.cloud))],
      housing: c.housing ?? 'servers',
      nodes,
      buckets: (c.buckets ?? []).map((b) => ({ ...b, component: name })),
      links: c.links ?? [
        { from: role, to: role, port: 'peer' },
        { from: 'clients', to: role, port: 'client' },
      ],
      keys: [...nodes.map((n) => ({ id: n.id, kind: 'node' as const, for: n.id })), { id: `client-${name}`, kind: 'client', for: name }],
      client: {},
      layouts,
    };
  }
  return {
    version: 1,
    stack: opts.stack ?? 'demo',
    mode: 'mediator',
    placement: { threat: 'byzantine-vm', keep: 'pm-majority', removal: false },
    clouds: opts.clouds,
    components,
    clients: { cidrs: opts.cidrs ?? [] },
    notes: [],
  };
}
