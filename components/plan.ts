/**
 * The joiner: a validated topology -> one Plan (components/plan-types.ts).
 *
 * Pure and deterministic: no clock, no randomness, no environment, no absolute paths. Keys follow the
 * topology's order, so the same file always gives byte-identical JSON (`planJson`), and `planDigest` is a
 * stable fingerprint realizers use to tell "nothing changed" from "something to do".
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { TcError } from '../kernel/errors.js';
import type { LoadedTopology } from '../topology/load.js';
import type { Provider } from '../topology/schema.js';
import type { KindModule } from './kind.js';
import { KINDS } from './kinds.js';
import { wireAuditLogs } from './log/audit-plan.js';
import { PlanCode } from './plan-codes.js';
import type { ComponentPlan, ComponentPlanInput, Plan, PlannedCloud } from './plan-types.js';
import { PLAN_VERSION } from './plan-types.js';

/**
 * Fault-domain constructs per provider, smallest first, with the most domains each offers: an AWS partition
 * placement group has at most 7 partitions per availability zone, an Azure availability set at most 3 fault
 * domains, a GCP spread placement policy at most 8 availability domains; dedicated hosts and sole-tenant nodes
 * give one host per domain, without a limit but at the cost of whole hosts. The plan names the smallest that fits;
 * the Pulumi realizer maps it.
 */
export const FAULT_DOMAIN_CONSTRUCTS: Record<Provider, readonly { construct: string; maxDomains: number }[]> = {
  aws: [
    { construct: 'aws:partition-placement-group', maxDomains: 7 },
    { construct: 'aws:dedicated-host', maxDomains: Number.POSITIVE_INFINITY },
  ],
  azure: [
    { construct: 'azure:availability-set', maxDomains: 3 },
    { construct: 'azure:dedicated-host', maxDomains: Number.POSITIVE_INFINITY },
  ],
  gcp: [
    { construct: 'gcp:resource-policy', maxDomains: 8 },
    { construct: 'gcp:sole-tenant-node', maxDomains: Number.POSITIVE_INFINITY },
  ],
  local: [{ construct: 'local:loopback', maxDomains: Number.POSITIVE_INFINITY }],
};

export function compilePlan(loaded: LoadedTopology): Plan {
  const t = loaded.topology;
  const notes: string[] = [];
  const clouds: Record<string, PlannedCloud> = {};
  for (const [name, c] of Object.entries(t.clouds)) {
    const pc: PlannedCloud = { provider: c.provider };
    if (c.region !== undefined && c.provider !== 'local') pc.region = c.region;
    if (c.hosts !== undefined) pc.hosts = c.hosts;
    if (c.path !== undefined) pc.path = relativePath(loaded.dir, c.path);
    clouds[name] = pc;
  }
  const placement = { threat: t.placement.threat, keep: t.placement.keep, removal: t.placement.removal };
  const components: Record<string, ComponentPlan> = {};
  for (const [name, component] of Object.entries(t.components)) {
    const input: ComponentPlanInput = { name, mode: t.mode, component, clouds, placement, notes };
    const kind = KINDS[component.kind] as KindModule;
    components[name] = kind.plan({ ...input, stack: t.name });
    if (t.mode === 'appliance' && components[name].housing !== 'none') {
      notes.push(`${name}: appliance box is cloud "${component.clouds[0]}" (the component's first cloud)`);
    }
  }
  checkUniqueIds(components);
  wireAuditLogs(
    components,
    Object.fromEntries(
      Object.entries(t.components).map(([name, c]) => [name, 'auditLog' in c ? c.auditLog : undefined]),
    ),
  );
  // Construct per cloud: the smallest one offering as many fault domains as the busiest layout uses.
  for (const [name, cloud] of Object.entries(clouds)) {
    const needed = Math.max(0, ...Object.values(components).map((c) => c.layouts[name]?.hosts ?? 0));
    if (needed === 0) continue;
    const options = FAULT_DOMAIN_CONSTRUCTS[cloud.provider];
    const fit = options.find((o) => o.maxDomains >= needed) ?? options[options.length - 1];
    if (fit) {
      cloud.construct = fit.construct;
      if (fit !== options[0] && options[0]) {
        notes.push(
          `${name}: ${needed} fault domains exceed ${options[0].construct} (at most ${options[0].maxDomains}); using ${fit.construct}`,
        );
      }
    }
  }
  return {
    version: PLAN_VERSION,
    stack: t.name,
    mode: t.mode,
    placement,
    clouds,
    components,
    clients: { cidrs: [...t.clients.cidrs] },
    notes: [...new Set(notes)],
  };
}

function checkUniqueIds(components: Record<string, ComponentPlan>): void {
  const seen = new Map<string, string>();
  for (const [name, c] of Object.entries(components)) {
    for (const n of c.nodes) {
      const other = seen.get(n.id);
      if (other !== undefined) {
        throw new TcError(
          PlanCode.planFailed,
          `node id ${n.id} of component "${name}" clashes with one of "${other}"`,
          {
            hint: 'rename one of the components so that <component>-<role>-<index> ids are unique',
            location: { path: `components.${name}` },
          },
        );
      }
      seen.set(n.id, name);
    }
  }
}

/** A `path:` of the topology as a normalized POSIX path relative to the topology's directory. */
function relativePath(dir: string, p: string): string {
  const rel = path.relative(dir, path.resolve(dir, p)) || '.';
  return rel.split(path.sep).join('/');
}

/** The canonical bytes of a plan (what `tclouds plan --json` prints under `plan`). */
export function planJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

/** SHA-256 of the canonical plan bytes, hex. */
export function planDigest(plan: Plan): string {
  return createHash('sha256').update(planJson(plan)).digest('hex');
}

/** Every node of a plan, in component order. */
export function allNodes(plan: Plan): Array<ComponentPlan['nodes'][number] & { kind: ComponentPlan['kind'] }> {
  return Object.values(plan.components).flatMap((c) => c.nodes.map((n) => ({ ...n, kind: c.kind })));
}
