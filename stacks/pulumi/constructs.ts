/**
 * Fault domains -> real provider constructs, and their limits as the providers' documentation states them (quoted
 * above each entry of CONSTRUCTS that has a limit).
 *
 * Pure (no Pulumi import): the plan command, the mock preview and the tests all call it. The rule is simple: each
 * provider has a default construct that pins VMs to a bounded number of domains, and one "next construct up" that
 * gives one physical machine per domain with no fixed ceiling (only quota). A layout that needs more domains than
 * the construct offers is an error that names the next construct, never a silent downgrade of the fault model.
 */
import type { ComponentPlan, PlannedNode } from '../../components/plan-types.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { PulumiCode } from './codes.js';

export type CloudProvider = 'aws' | 'azure' | 'gcp';

export type ConstructKind =
  | 'aws:partition-placement-group'
  | 'aws:dedicated-host'
  | 'azure:availability-set'
  | 'azure:dedicated-host'
  | 'gcp:resource-policy'
  | 'gcp:sole-tenant-node'
  /** All nodes of the group sit in one domain: nothing to spread. */
  | 'none';

export interface ConstructInfo {
  kind: ConstructKind;
  /** Most distinct domains one instance of the construct offers (Infinity: limited by quota only). */
  maxDomains: number;
  /** What a person reads in errors and docs. */
  label: string;
  /** The construct to suggest when this one is too small. */
  next?: ConstructKind;
}

export const CONSTRUCTS: Record<Exclude<ConstructKind, 'none'>, ConstructInfo> = {
  // "A partition placement group supports a maximum of seven partitions per Availability Zone."
  'aws:partition-placement-group': {
    kind: 'aws:partition-placement-group',
    maxDomains: 7,
    label: 'AWS partition placement group (at most 7 partitions per availability zone)',
    next: 'aws:dedicated-host',
  },
  'aws:dedicated-host': {
    kind: 'aws:dedicated-host',
    maxDomains: Number.POSITIVE_INFINITY,
    label: 'AWS dedicated hosts (one host per fault domain)',
  },
  // "The number of fault domains for managed availability sets varies by region - either two or three per region"
  // (https://learn.microsoft.com/azure/virtual-machines/availability-set-overview); the region is checked in
  // limits.ts (TC385).
  'azure:availability-set': {
    kind: 'azure:availability-set',
    maxDomains: 3,
    label: 'Azure availability set (at most 3 fault domains, 2 in some regions)',
    next: 'azure:dedicated-host',
  },
  'azure:dedicated-host': {
    kind: 'azure:dedicated-host',
    maxDomains: Number.POSITIVE_INFINITY,
    label:
      'Azure dedicated host group (one dedicated host per fault domain, spread over up to 3 platform fault domains)',
  },
  // Spread placement: at most 8 availability domains per policy, and at most 8 VMs per policy ("About placement
  // policies", restrictions: https://cloud.google.com/compute/docs/instances/placement-policies-overview). The
  // VM count is checked with the other limits (limits.ts, TC383).
  'gcp:resource-policy': {
    kind: 'gcp:resource-policy',
    maxDomains: 8,
    label: 'GCP spread placement policy (at most 8 availability domains)',
    next: 'gcp:sole-tenant-node',
  },
  'gcp:sole-tenant-node': {
    kind: 'gcp:sole-tenant-node',
    maxDomains: Number.POSITIVE_INFINITY,
    label: 'GCP sole-tenant node groups (one node per fault domain)',
  },
};

const DEFAULTS: Record<CloudProvider, ConstructKind> = {
  aws: 'aws:partition-placement-group',
  azure: 'azure:availability-set',
  gcp: 'gcp:resource-policy',
};
const DEDICATED: Record<CloudProvider, ConstructKind> = {
  aws: 'aws:dedicated-host',
  azure: 'azure:dedicated-host',
  gcp: 'gcp:sole-tenant-node',
};

/** Short names accepted in the plan's `clouds.<c>.construct` besides the full `provider:kind` form. */
const ALIASES: Record<string, string> = {
  partition: 'aws:partition-placement-group',
  'partition-placement-group': 'aws:partition-placement-group',
  'dedicated-host': 'dedicated',
  'dedicated-hosts': 'dedicated',
  'availability-set': 'azure:availability-set',
  'dedicated-host-group': 'azure:dedicated-host',
  'azure:dedicated-host-group': 'azure:dedicated-host',
  'gcp:sole-tenant': 'gcp:sole-tenant-node',
  'resource-policy': 'gcp:resource-policy',
  spread: 'gcp:resource-policy',
  'sole-tenant': 'gcp:sole-tenant-node',
};

/** The construct the plan asks for in one cloud (default per provider when the plan says nothing). */
export function requestedConstruct(
  provider: CloudProvider,
  cloud: string,
  construct: string | undefined,
): ConstructKind {
  if (construct === undefined || construct === '') return DEFAULTS[provider];
  let name = ALIASES[construct] ?? construct;
  if (name === 'dedicated') name = DEDICATED[provider];
  if (name in CONSTRUCTS && name.startsWith(`${provider}:`)) return name as ConstructKind;
  const known = Object.keys(CONSTRUCTS).filter((k) => k.startsWith(`${provider}:`));
  throw new TcError(
    PulumiCode.unknownConstruct,
    `cloud ${cloud} (${provider}) asks for fault-domain construct "${construct}"`,
    {
      exit: ExitCode.invalid,
      hint: `${provider} offers: ${known.join(', ')}`,
      location: { path: `clouds.${cloud}.construct` },
    },
  );
}

export interface DomainGroup {
  kind: ConstructKind;
  /** Distinct fault domains the group uses (plan domain numbers, ascending). */
  domains: number[];
  /** Plan domain -> construct slot, 1-based (partition number, availability domain, host index + 1). */
  slotOf: Map<number, number>;
}

/**
 * Choose the construct for the nodes of one component in one cloud and check its limits.
 * Appliance housing (one box, or two boxes for "twin quad") is a dedicated machine by definition.
 */
export function chooseConstruct(
  provider: CloudProvider,
  cloud: string,
  requested: string | undefined,
  component: string,
  comp: Pick<ComponentPlan, 'housing'>,
  nodes: readonly PlannedNode[],
): DomainGroup {
  const domains = [...new Set(nodes.map((n) => n.domain))].sort((a, b) => a - b);
  const slotOf = new Map(domains.map((d, i) => [d, i + 1] as const));
  let kind = requestedConstruct(provider, cloud, requested);
  if (comp.housing === 'appliance-box' || comp.housing === 'twin-quad') kind = DEDICATED[provider];
  const info = CONSTRUCTS[kind as Exclude<ConstructKind, 'none'>];
  if (domains.length > info.maxDomains) {
    const next = info.next ? CONSTRUCTS[info.next as Exclude<ConstructKind, 'none'>] : undefined;
    throw new TcError(
      PulumiCode.tooManyDomains,
      `component ${component} needs ${domains.length} distinct fault domains in cloud ${cloud}, but the ${info.label} offers at most ${info.maxDomains}`,
      {
        exit: ExitCode.invalid,
        hint: next
          ? `set \`construct: ${next.kind}\` for cloud ${cloud} (${next.label}), or spread the component over more clouds/regions`
          : `spread the component over more clouds or regions`,
        location: { path: `components.${component}` },
      },
    );
  }
  if (kind === 'azure:availability-set') checkEvenForAvailabilitySet(cloud, component, domains, nodes);
  // One domain needs no spreading construct, unless the machine itself was asked for (dedicated/appliance).
  if (domains.length <= 1 && kind === DEFAULTS[provider]) kind = 'none';
  return { kind, domains, slotOf };
}

/**
 * Azure assigns availability-set fault domains itself, round-robin: it can only reproduce a layout whose domains
 * hold equal numbers of VMs (give or take one). Anything else needs pinning (dedicated hosts).
 */
function checkEvenForAvailabilitySet(
  cloud: string,
  component: string,
  domains: number[],
  nodes: readonly PlannedNode[],
) {
  const counts = domains.map((d) => nodes.filter((n) => n.domain === d).length);
  const max = Math.max(...counts);
  const min = Math.min(...counts);
  if (max - min > 1) {
    throw new TcError(
      PulumiCode.unevenLayout,
      `component ${component} in cloud ${cloud} uses layout [${counts.join(', ')}], but an Azure availability set spreads VMs evenly over its fault domains`,
      {
        exit: ExitCode.invalid,
        hint: `set \`construct: azure:dedicated-host\` for cloud ${cloud} to pin each VM to its host`,
        location: { path: `components.${component}` },
      },
    );
  }
}
