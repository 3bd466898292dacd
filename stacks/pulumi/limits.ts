/**
 * The providers' documented limits, checked on the realization model before any resource exists, and what a
 * deployment needs quota for. Pure: the model (and, for user data, a render callback) in, a TcError or a list out.
 *
 * Each limit cites the provider page it comes from. The fault-domain counts of the constructs themselves
 * (partitions per AZ, availability-set fault domains, spread availability domains) are in constructs.ts (TC351);
 * this module adds what depends on the region, the VM count or the rendered documents.
 */
import type { Plan } from '../../components/plan-types.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import type { QuotaNeed } from '../realizer.js';
import { LimitCode } from './codes.js';
import { CONSTRUCTS } from './constructs.js';
import type { ModelCloud, ModelGroup, ModelRule, RealizationModel, RuleSource } from './model.js';
import { checkNames } from './names.js';

/** "User data is limited to 16 KB, in raw form, before it is base64-encoded."
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html) */
export const AWS_USER_DATA_MAX_BYTES = 16 * 1024;
/** A spread placement group holds at most seven running instances per Availability Zone
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/placement-strategies.html). The programs use partition
 * groups instead (no per-partition instance limit; seven partitions per AZ, TC351), so this bound never applies;
 * kept so a change of strategy meets it. */
export const AWS_SPREAD_GROUP_MAX_INSTANCES_PER_AZ = 7;
/** "Spread placement policies support a maximum of 8 VMs per policy" (GCP, "About placement policies",
 * https://cloud.google.com/compute/docs/instances/placement-policies-overview, restrictions). */
export const GCP_SPREAD_POLICY_MAX_VMS = 8;
/** "Virtual machines per availability set: 200" (Azure subscription and service limits,
 * https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits). */
export const AZURE_AVAILABILITY_SET_MAX_VMS = 200;
/**
 * "The number of fault domains for managed availability sets varies by region - either two or three per region"
 * (https://learn.microsoft.com/azure/virtual-machines/availability-set-overview). The regions below offer three;
 * every other region is taken as two (the safe side). Check a region with
 * `az vm list-skus --resource-type availabilitySets --query "[?name=='Aligned'].{r:locationInfo[0].location, fd:capabilities[0].value}" -o table`.
 */
export const AZURE_THREE_FAULT_DOMAIN_REGIONS: ReadonlySet<string> = new Set([
  'eastus',
  'eastus2',
  'westus',
  'centralus',
  'northcentralus',
  'southcentralus',
  'canadacentral',
  'northeurope',
  'westeurope',
]);
export const AZURE_DEFAULT_REGION_FAULT_DOMAINS = 2;
/** "Elastic IP addresses per Region: 5" by default (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html). */
export const AWS_DEFAULT_EIP_QUOTA = 5;
/** vCPUs a GCP `n2-node-80-640` sole-tenant node counts against the regional N2 CPU quota. */
export const GCP_SOLE_TENANT_NODE_VCPUS = 80;

/** Most fault domains an Azure availability set has in `region`. */
export function azureRegionFaultDomains(region: string): number {
  return AZURE_THREE_FAULT_DOMAIN_REGIONS.has(region.toLowerCase()) ? 3 : AZURE_DEFAULT_REGION_FAULT_DOMAINS;
}

/** What the limit checks need besides the model. */
export interface LimitInputs {
  /** Addresses of nodes realized by other targets (node id -> IP). */
  externalHosts: Record<string, string>;
  /** The stack's name suffix (globally unique names). */
  nameSuffix: string;
  /**
   * The node's user data as the program renders it, with the longest addresses its peers can have: measured
   * against the AWS limit. Omitted: not checked (callers that render no user data).
   */
  renderUserData?: (nodeId: string) => string;
}

/** Every plan-time limit of the target; throws the first one broken. */
export function checkLimits(plan: Plan, model: RealizationModel, inputs: LimitInputs): void {
  checkRuleSources(plan, model, inputs.externalHosts);
  for (const cloud of model.clouds) for (const g of cloud.groups) checkGroup(cloud, g);
  checkNames(model, inputs.nameSuffix);
  if (model.provider === 'aws' && inputs.renderUserData) checkUserData(model, inputs.renderUserData);
}

/** The sources a rule has once rendered: external peers count only when their address is known. */
export function effectiveSources(rule: ModelRule, externalHosts: Record<string, string>): RuleSource[] {
  return rule.sources.filter((s) => s.kind !== 'external' || !!externalHosts[s.nodeId]);
}

const WORLD = new Set(['0.0.0.0/0', '::/0']);

/**
 * Whether a rule has an IPv4 source once rendered. Providers that want one address family per rule (Azure, GCP)
 * must not get an IPv4 rule without one: GCP reads `sourceRanges: []` as 0.0.0.0/0 (a rule whose only sources
 * are IPv6 client networks would open the port to every IPv4 address).
 */
export function hasIpv4Source(rule: ModelRule, externalHosts: Record<string, string>): boolean {
  return rule.sources.some((s) => {
    if (s.kind === 'private' || s.kind === 'public') return true;
    if (s.kind === 'external') return !!externalHosts[s.nodeId] && !externalHosts[s.nodeId]!.includes(':');
    return !s.cidr.includes(':');
  });
}

/**
 * A rule with no source is never a resource: GCP opens `sourceRanges: []` to 0.0.0.0/0 and ARM refuses an NSG
 * rule without a prefix. Nor is a rule open to the world unless the topology declares it (`clients.cidrs`).
 */
export function checkRuleSources(plan: Plan, model: RealizationModel, externalHosts: Record<string, string>): void {
  for (const cloud of model.clouds) {
    for (const rule of cloud.rules) {
      const sources = effectiveSources(rule, externalHosts);
      const where = { path: `components.${rule.component}.links` };
      if (sources.length === 0) {
        const others = [...new Set(rule.sources.map((s) => ('cloud' in s ? s.cloud : '')).filter(Boolean))].sort();
        throw new TcError(
          LimitCode.ruleWithoutSource,
          `${rule.component}: port ${rule.portName} (${rule.port}) of ${rule.role} in cloud ${cloud.name} would have no allowed source`,
          {
            exit: ExitCode.invalid,
            hint:
              others.length > 0
                ? `its only sources are in ${others.join(', ')}, realized by another target whose addresses are not known yet: deploy that target first`
                : 'declare who may reach it (`clients.cidrs`) or link a role that has nodes',
            location: where,
          },
        );
      }
      for (const s of sources) {
        if (s.kind === 'cidr' && WORLD.has(s.cidr) && !plan.clients.cidrs.includes(s.cidr)) {
          throw new TcError(LimitCode.openToWorld, `${rule.component}: ${rule.role} would be open to ${s.cidr}`, {
            exit: ExitCode.invalid,
            hint: 'only networks declared in `clients.cidrs` may reach a node',
            location: where,
          });
        }
      }
    }
  }
}

/** Per-group limits that depend on the region or on the VM count (the domain count is checked by constructs.ts). */
function checkGroup(cloud: ModelCloud, g: ModelGroup): void {
  const where = { path: `components.${g.component}` };
  const vms = g.nodes.length;
  if (g.construct.kind === 'gcp:resource-policy' && vms > GCP_SPREAD_POLICY_MAX_VMS) {
    throw new TcError(
      LimitCode.spreadPolicyVms,
      `component ${g.component} puts ${vms} VMs in cloud ${cloud.name}, but a GCP spread placement policy takes at most ${GCP_SPREAD_POLICY_MAX_VMS}`,
      {
        exit: ExitCode.invalid,
        hint: `set \`construct: gcp:sole-tenant-node\` for cloud ${cloud.name} (${CONSTRUCTS['gcp:sole-tenant-node'].label}), or spread the component over more clouds`,
        location: where,
      },
    );
  }
  if (g.construct.kind !== 'azure:availability-set') return;
  const regionMax = azureRegionFaultDomains(cloud.region);
  if (g.construct.domains.length > regionMax) {
    throw new TcError(
      LimitCode.regionFaultDomains,
      `component ${g.component} needs ${g.construct.domains.length} fault domains in cloud ${cloud.name}, but availability sets in ${cloud.region} have ${regionMax}`,
      {
        exit: ExitCode.invalid,
        hint: `set \`construct: azure:dedicated-host\` for cloud ${cloud.name} (${CONSTRUCTS['azure:dedicated-host'].label}), or use a region with 3 fault domains (${[...AZURE_THREE_FAULT_DOMAIN_REGIONS].slice(0, 3).join(', ')}, ...)`,
        location: { path: `clouds.${cloud.name}.region` },
      },
    );
  }
  if (vms > AZURE_AVAILABILITY_SET_MAX_VMS) {
    throw new TcError(
      LimitCode.availabilitySetVms,
      `component ${g.component} puts ${vms} VMs in one availability set in cloud ${cloud.name}; Azure allows ${AZURE_AVAILABILITY_SET_MAX_VMS}`,
      {
        exit: ExitCode.invalid,
        hint: `set \`construct: azure:dedicated-host\` for cloud ${cloud.name}, or spread the component over more clouds`,
        location: where,
      },
    );
  }
}

/** AWS refuses user data over 16 KB when the instance is created: measure every node's rendered document now. */
function checkUserData(model: RealizationModel, render: (nodeId: string) => string): void {
  for (const [id, n] of model.nodes) {
    const bytes = Buffer.byteLength(render(id), 'utf8');
    if (bytes > AWS_USER_DATA_MAX_BYTES) {
      throw new TcError(
        LimitCode.userDataTooLarge,
        `the boot document of ${id} is ${bytes} bytes; AWS user data takes at most ${AWS_USER_DATA_MAX_BYTES}`,
        {
          exit: ExitCode.invalid,
          hint: `user data holds only the boot script and references (software, secret store entries named after stack and node): shorten the stack or node names of ${n.node.component}`,
          location: { path: `components.${n.node.component}` },
        },
      );
    }
  }
}

/** Something a deployment needs quota for, shown by `plan` before anything is created (`resource`: what is
 * counted, e.g. `dedicated hosts (m5)`; `note`: why, and what to ask the provider for). */
export type { QuotaNeed };

/** Dedicated hosts and sole-tenant nodes (a whole machine per fault domain) and per-region address quotas. */
export function quotaNeeds(model: RealizationModel): QuotaNeed[] {
  const out: QuotaNeed[] = [];
  for (const cloud of model.clouds) {
    const base = { provider: model.provider, cloud: cloud.name, region: cloud.region };
    const hosts = cloud.groups.reduce(
      (n, g) =>
        n +
        (CONSTRUCTS[g.construct.kind as keyof typeof CONSTRUCTS]?.maxDomains === Infinity
          ? g.construct.domains.length
          : 0),
      0,
    );
    const vms = cloud.groups.reduce((n, g) => n + g.nodes.length, 0);
    if (model.provider === 'aws') {
      if (hosts > 0)
        out.push({
          ...base,
          resource: 'dedicated hosts (m5)',
          count: hosts,
          note: 'a whole host per fault domain: quota "Running Dedicated m5 Hosts"',
        });
      out.push({
        ...base,
        resource: 'Elastic IP addresses',
        count: vms,
        note: `one per node; the default quota is ${AWS_DEFAULT_EIP_QUOTA} per region`,
      });
    } else if (model.provider === 'azure') {
      if (hosts > 0)
        out.push({
          ...base,
          resource: 'dedicated hosts (DSv3-Type4)',
          count: hosts,
          note: 'a whole host per fault domain: quota for dedicated hosts of the DSv3 family',
        });
      out.push({ ...base, resource: 'Standard public IP addresses', count: vms, note: 'one per node' });
    } else {
      if (hosts > 0)
        out.push({
          ...base,
          resource: 'sole-tenant nodes (n2-node-80-640)',
          count: hosts,
          note: `a whole node per fault domain: ${hosts * GCP_SOLE_TENANT_NODE_VCPUS} N2 CPUs of regional quota`,
        });
      out.push({
        ...base,
        resource: 'static external IP addresses',
        count: vms,
        note: 'one per node (regional quota "Static IP addresses")',
      });
    }
  }
  return out;
}
