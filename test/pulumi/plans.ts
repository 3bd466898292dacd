/**
 * Plans for the Pulumi tests. Templates take the user's path: `renderTopology` (what `tclouds init` writes), then
 * `loadTopology` and the real plan compiler (`compilePlan`). `handPlan` builds a Plan in the documented shape for
 * cases the templates do not reach (a construct pinned too small, peers on another target, hand-made layouts).
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePlan } from '../../components/plan.js';
import type { ComponentPlan, Plan, PlannedCloud, PlannedNode } from '../../components/plan-types.js';
import { loadTopology } from '../../topology/load.js';
import type { Mode, Provider } from '../../topology/schema.js';
import { renderTopology } from '../../topology/templates.js';
import { tempDir } from '../support/tmp.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Deployment modes that have a topology template in templates/ (not the cloud-init ones). */
export function templateModes(): Mode[] {
  const dir = join(ROOT, 'templates');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith('cloud-init'))
    .sort()
    .map((f) => f.replace(/\.ya?ml$/, '') as Mode);
}

/** The real path a user takes: `tclouds init --mode <mode> --clouds <provider>`, then load, then compile. */
export async function templatePlan(mode: Mode, provider: Provider, cidrs: string[] = []): Promise<Plan> {
  let text = renderTopology({ mode, providers: [provider], name: 'demo' }).text;
  if (cidrs.length > 0) text += `\nclients:\n  cidrs: [${cidrs.join(', ')}]\n`;
  return compileText(text);
}

/** Compile a topology given as YAML text (written to a temp dir, loaded like any file). */
export async function compileText(text: string): Promise<Plan> {
  const dir = tempDir('tc-pulumi-');
  writeFileSync(join(dir, 'tclouds.yaml'), text);
  return compilePlan(await loadTopology(join(dir, 'tclouds.yaml')));
}

/** One cloud with `hosts` physical machines and an SMR group of 3f+1 allowed to share it. */
export function denseTopology(provider: Provider, region: string, hosts: number, f = 1): string {
  return `name: dense
mode: native
clouds:
  c1: { provider: ${provider}, region: ${region}, hosts: ${hosts} }
clients: { cidrs: [198.51.100.0/24] }
components:
  ledger:
    kind: smr
    f: ${f}
    clouds: [c1]
    colocate: allowed
`;
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
      layouts[cloud] = {
        hosts: counts.size,
        layout: [...counts.values()].sort((a, b) => b - a),
        method: 'even-spread',
      };
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
      keys: [
        ...nodes.map((n) => ({ id: n.id, kind: 'node' as const, for: n.id })),
        { id: `client-${name}`, kind: 'client', for: name },
      ],
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

/**
 * One SMR group over two targets: `ledger` with replicas 0 and 1 in the AWS cloud `a` and replicas 2 and 3 in
 * the GCP cloud `g`, so each target must open its peer ports to the nodes the other one realizes.
 */
export function awsGcpLedgerPlan(opts: { stack?: string; buckets?: HandComponent['buckets'] } = {}): Plan {
  return handPlan({
    ...(opts.stack === undefined ? {} : { stack: opts.stack }),
    clouds: { a: { provider: 'aws', region: 'eu-west-1' }, g: { provider: 'gcp', region: 'europe-west1' } },
    components: {
      ledger: {
        nodes: [
          { cloud: 'a', domain: 0 },
          { cloud: 'a', domain: 1 },
          { cloud: 'g', domain: 0 },
          { cloud: 'g', domain: 1 },
        ],
        ...(opts.buckets === undefined ? {} : { buckets: opts.buckets }),
      },
    },
  });
}

/** One SMR component over three cloud providers and a local cloud: refused (TC389), local and cloud never mix. */
export const MIXED_LOCAL_TOPOLOGY = `name: mixed
mode: mediator
clouds:
  a: { provider: aws, region: eu-west-1 }
  g: { provider: gcp, region: europe-west1 }
  z: { provider: azure, region: westeurope }
  here: { provider: local }
components:
  ledger:
    kind: smr
    f: 1
    clouds: [a, g, z, here]
`;
