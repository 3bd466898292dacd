/**
 * What a cloud deployment must create, as plain data: the Plan narrowed to the clouds of one provider, with private
 * addresses, fault-domain constructs and firewall rules decided. A deployment over several providers (one program,
 * one stack: program.ts) has one model per provider; nodes of the other providers of the same deployment are peers
 * reached at their static public addresses, created in the same program before any VM. Pure (no Pulumi import), so the rules that matter
 * for security and fault tolerance (who may reach which port, which VM lands in which domain) are computed once
 * and the three provider programs only render them.
 *
 * Addresses are static and derived from the plan: cloud k of the target gets 10.(16+k).0.0/16 and its nodes
 * 10.(16+k).0.10, .11, ... in plan order. Knowing every private address before anything exists lets each node's
 * spec (peers and their hosts) be written by cloud-init without a second pass.
 */
import type { ComponentPlan, Plan, PlannedBucket, PlannedNode } from '../../components/plan-types.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { PulumiCode } from './codes.js';
import { type CloudProvider, chooseConstruct, type DomainGroup } from './constructs.js';

export interface ModelNode {
  node: PlannedNode;
  privateIp: string;
  /** 1-based slot in the fault-domain construct (partition number, availability domain, host index). */
  slot: number;
}

/** The nodes of one component in one cloud, and the construct that keeps their domains apart. */
export interface ModelGroup {
  component: string;
  kind: string;
  cloud: string;
  construct: DomainGroup;
  nodes: ModelNode[];
}

/** Where allowed traffic may come from. */
export type RuleSource =
  /** A node in the same cloud: its private address. */
  | { kind: 'private'; nodeId: string; ip: string }
  /** A node in another cloud of this deployment (any provider of it): its static public address (created first). */
  | { kind: 'public'; nodeId: string; cloud: string }
  /** A node realized by another deployment: its address comes from that deployment (`externalHosts`). */
  | { kind: 'external'; nodeId: string; cloud: string }
  /** A declared client network (topology `clients.cidrs`). */
  | { kind: 'cidr'; cidr: string };

/** Allow TCP `port` to the nodes of `role` of `component` in `cloud`, from exactly `sources`. */
export interface ModelRule {
  component: string;
  cloud: string;
  role: string;
  portName: string;
  port: number;
  /** Node ids this rule opens the port on. */
  targets: string[];
  sources: RuleSource[];
}

export interface ModelCloud {
  name: string;
  provider: CloudProvider;
  region: string;
  /** Network (VPC / VNet / GCP network) range, and the one subnet every node of the cloud sits in. */
  cidr: string;
  subnetCidr: string;
  groups: ModelGroup[];
  buckets: PlannedBucket[];
  rules: ModelRule[];
}

export interface RealizationModel {
  stack: string;
  provider: CloudProvider;
  clouds: ModelCloud[];
  /** Every node of the target, by id. */
  nodes: Map<string, ModelNode & { cloud: string }>;
  notes: string[];
}

/** Every provider one cloud deployment can cover, in a fixed order (aws, azure, gcp). */
export const CLOUD_PROVIDERS: readonly CloudProvider[] = ['aws', 'azure', 'gcp'];

/** The cloud providers of the plan's clouds (a `provider: local` cloud belongs to no cloud deployment). */
export function planProviders(plan: Plan): CloudProvider[] {
  const used = new Set(Object.values(plan.clouds).map((c) => c.provider));
  return CLOUD_PROVIDERS.filter((p) => used.has(p));
}

const FIRST_HOST = 10; // providers reserve the first few addresses of a subnet (AWS 4, Azure 4, GCP 2)
const SUBNET_SIZE = 4096; // a /20
const MAX_CLOUDS = 200;

/**
 * The cloud model of one target (`provider`): its clouds with addresses, fault-domain constructs and firewall rules
 * decided. Throws the plan's errors (no cloud for the target, missing region, construct too small, address space)
 * before any resource exists.
 */
export function buildCloudModel(
  plan: Plan,
  provider: CloudProvider,
  deployment: readonly CloudProvider[] = [provider],
): RealizationModel {
  const cloudNames = targetClouds(plan, provider);
  const notes: string[] = [];
  const nodes: TargetNodes = new Map();
  const clouds = cloudNames.map((name, k) => modelCloud(plan, provider, name, k, nodes));
  // Nodes of the other providers of this deployment: in the same program, so their public addresses are known.
  const inDeployment = (cloud: string) => deployment.includes(plan.clouds[cloud]?.provider as CloudProvider);
  addFirewallRules(plan, clouds, nodes, inDeployment, notes);
  addControlRules(plan, clouds, notes);
  noteExternalSources(clouds, notes);
  return { stack: plan.stack, provider, clouds, nodes, notes };
}

type TargetNodes = RealizationModel['nodes'];

/** The clouds of the plan this target realizes, in plan order; none, or more than the address plan allows, is an error. */
function targetClouds(plan: Plan, provider: CloudProvider): string[] {
  const cloudNames = Object.keys(plan.clouds).filter((c) => plan.clouds[c]?.provider === provider);
  if (cloudNames.length === 0) {
    throw new TcError(PulumiCode.nothingForTarget, `the topology has no cloud with provider ${provider}`, {
      exit: ExitCode.invalid,
      hint: `add a cloud with \`provider: ${provider}\`, or choose another --target (${[...new Set(Object.values(plan.clouds).map((c) => c.provider))].join(', ')})`,
    });
  }
  if (cloudNames.length > MAX_CLOUDS) {
    throw new TcError(PulumiCode.addressSpace, `more than ${MAX_CLOUDS} ${provider} clouds in one stack`, {
      exit: ExitCode.invalid,
    });
  }
  return cloudNames;
}

/** Cloud `name`, the k-th of the target: its network ranges, its node groups and its buckets (rules come later). */
function modelCloud(plan: Plan, provider: CloudProvider, name: string, k: number, nodes: TargetNodes): ModelCloud {
  const cloud = plan.clouds[name]!;
  if (!cloud.region) {
    throw new TcError(PulumiCode.missingRegion, `cloud ${name} (${provider}) has no region`, {
      exit: ExitCode.invalid,
      hint: `add e.g. \`region: ${provider === 'aws' ? 'eu-west-1' : provider === 'azure' ? 'westeurope' : 'europe-west1'}\` to clouds.${name}`,
      location: { path: `clouds.${name}.region` },
    });
  }
  const octet = 16 + k;
  const buckets = Object.values(plan.components)
    .flatMap((c) => c.buckets)
    .filter((b) => b.cloud === name);
  return {
    name,
    provider,
    region: cloud.region,
    cidr: `10.${octet}.0.0/16`,
    subnetCidr: `10.${octet}.0.0/20`,
    groups: modelGroups(plan, provider, name, octet, nodes),
    buckets,
    rules: [],
  };
}

/**
 * One group per component with nodes in cloud `name`: its fault-domain construct, and each node's static private
 * address (10.<octet>.0.10, .11, ... in plan order over the whole cloud) and construct slot. Records every node
 * in `nodes`.
 */
function modelGroups(
  plan: Plan,
  provider: CloudProvider,
  name: string,
  octet: number,
  nodes: TargetNodes,
): ModelGroup[] {
  const cloud = plan.clouds[name]!;
  let hostIndex = 0;
  const groups: ModelGroup[] = [];
  for (const [component, comp] of Object.entries(plan.components)) {
    const here = comp.nodes.filter((n) => n.cloud === name);
    if (here.length === 0) continue;
    const construct = chooseConstruct(provider, name, cloud.construct, component, comp, here);
    const members = here.map((node) => {
      const i = FIRST_HOST + hostIndex++;
      if (i >= SUBNET_SIZE - 1) {
        throw new TcError(
          PulumiCode.addressSpace,
          `cloud ${name} has more than ${SUBNET_SIZE - FIRST_HOST - 1} nodes`,
          {
            exit: ExitCode.invalid,
            hint: 'split the nodes over more clouds',
          },
        );
      }
      const m: ModelNode = {
        node,
        privateIp: `10.${octet}.${i >> 8}.${i & 255}`,
        slot: construct.slotOf.get(node.domain) ?? 1,
      };
      nodes.set(node.id, { ...m, cloud: name });
      return m;
    });
    groups.push({ component, kind: comp.kind, cloud: name, construct, nodes: members });
  }
  return groups;
}

/** Firewall rules: one per (component, role, port) and cloud, from exactly the nodes that talk to it. */
function addFirewallRules(
  plan: Plan,
  clouds: ModelCloud[],
  nodes: TargetNodes,
  inDeployment: (cloud: string) => boolean,
  notes: string[],
): void {
  for (const [component, comp] of Object.entries(plan.components)) {
    for (const link of comp.links) {
      const fromNodes = link.from === 'clients' ? [] : comp.nodes.filter((n) => n.role === link.from);
      for (const cloud of clouds) {
        for (const [port, ids] of targetsByPort(comp.nodes, link, cloud.name)) {
          let sources: RuleSource[];
          if (link.from === 'clients') {
            sources = plan.clients.cidrs.map((cidr) => ({ kind: 'cidr' as const, cidr }));
            if (sources.length === 0) {
              addNote(
                notes,
                `${component}: no client CIDRs declared, so ${link.to} port ${link.port} is reachable only from inside`,
              );
              continue;
            }
          } else {
            sources = fromNodes.map((n) => nodeSource(n, cloud.name, nodes, inDeployment));
          }
          mergeRule(cloud.rules, {
            component,
            cloud: cloud.name,
            role: link.to,
            portName: link.port,
            port,
            targets: ids,
            sources,
          });
        }
      }
    }
  }
}

/** Name of the rule that opens each node's control port (GET /health, /metrics; admin calls need the token). */
export const CONTROL_PORT_NAME = 'control';

/**
 * `tclouds status` and `chaos` run on the operator's machine and probe each node's control port: open it to the
 * declared client networks (`clients.cidrs`), and to nothing else. Without declared networks it stays closed, and
 * status shows cloud nodes as unreachable: say so.
 */
function addControlRules(plan: Plan, clouds: ModelCloud[], notes: string[]): void {
  const sources: RuleSource[] = plan.clients.cidrs.map((cidr) => ({ kind: 'cidr' as const, cidr }));
  for (const cloud of clouds) {
    for (const g of cloud.groups) {
      const byRolePort = new Map<string, { role: string; port: number; ids: string[] }>();
      for (const m of g.nodes) {
        const key = `${m.node.role}:${m.node.controlPort}`;
        const entry = byRolePort.get(key) ?? { role: m.node.role, port: m.node.controlPort, ids: [] };
        entry.ids.push(m.node.id);
        byRolePort.set(key, entry);
      }
      if (sources.length === 0) {
        if (byRolePort.size > 0)
          addNote(
            notes,
            'no client CIDRs declared: `tclouds status` from outside the clouds cannot reach the nodes (declare `clients.cidrs` to include your address)',
          );
        continue;
      }
      for (const { role, port, ids } of byRolePort.values()) {
        mergeRule(cloud.rules, {
          component: g.component,
          cloud: cloud.name,
          role,
          portName: CONTROL_PORT_NAME,
          port,
          targets: ids,
          sources: [...sources],
        });
      }
    }
  }
}

/** The nodes a link reaches in one cloud, by the port number they listen on for it. */
function targetsByPort(
  componentNodes: readonly PlannedNode[],
  link: ComponentPlan['links'][number],
  cloud: string,
): Map<number, string[]> {
  const byPort = new Map<number, string[]>();
  for (const t of componentNodes.filter((n) => n.role === link.to && n.cloud === cloud)) {
    const port = t.ports[link.port];
    if (port === undefined) continue;
    byPort.set(port, [...(byPort.get(port) ?? []), t.id]);
  }
  return byPort;
}

/**
 * How node `n` reaches a port in `cloud`: private address (same cloud), static public address (another cloud of
 * this deployment, whatever its provider), or the address another deployment recorded.
 */
function nodeSource(
  n: PlannedNode,
  cloud: string,
  nodes: TargetNodes,
  inDeployment: (cloud: string) => boolean,
): RuleSource {
  const here = nodes.get(n.id);
  if (here && n.cloud === cloud) return { kind: 'private', nodeId: n.id, ip: here.privateIp };
  if (here || inDeployment(n.cloud)) return { kind: 'public', nodeId: n.id, cloud: n.cloud };
  return { kind: 'external', nodeId: n.id, cloud: n.cloud };
}

/** Sources realized by another deployment open only to the addresses it recorded: say so. */
function noteExternalSources(clouds: ModelCloud[], notes: string[]): void {
  const external = [...clouds.flatMap((c) => c.rules.flatMap((r) => r.sources))].filter((s) => s.kind === 'external');
  if (external.length > 0) {
    const otherClouds = [...new Set(external.map((s) => (s.kind === 'external' ? s.cloud : '')))].sort();
    addNote(
      notes,
      `nodes in ${otherClouds.join(', ')} are realized by another deployment: their ports open to the addresses it recorded (deploy every provider at once with \`--target clouds\`)`,
    );
  }
}

/** Two links can open the same port of the same role (e.g. `replica -> replica` and `gateway -> replica`). */
function mergeRule(rules: ModelRule[], rule: ModelRule): void {
  const same = rules.find((r) => r.component === rule.component && r.role === rule.role && r.port === rule.port);
  if (!same) {
    rules.push(rule);
    return;
  }
  const key = (s: RuleSource) => JSON.stringify(s);
  const seen = new Set(same.sources.map(key));
  for (const s of rule.sources) if (!seen.has(key(s))) same.sources.push(s);
  for (const t of rule.targets) if (!same.targets.includes(t)) same.targets.push(t);
}

function addNote(notes: string[], note: string): void {
  if (!notes.includes(note)) notes.push(note);
}

/** Rules of one role of one component in one cloud. */
export function rulesOf(cloud: ModelCloud, component: string, role: string): ModelRule[] {
  return cloud.rules.filter((r) => r.component === component && r.role === role);
}

/** Roles of a component that have nodes in a cloud, in plan order. */
export function rolesIn(cloud: ModelCloud, component: string): string[] {
  const g = cloud.groups.find((x) => x.component === component);
  return g ? [...new Set(g.nodes.map((n) => n.node.role))] : [];
}

/** Buckets of a component over every cloud of the target, in cloud order (a component that owns some: gateways). */
export function componentBuckets(model: RealizationModel, component: string): PlannedBucket[] {
  return model.clouds.flatMap((c) => c.buckets.filter((b) => b.component === component));
}

/** Resource-name-safe form of a string (lowercase letters, digits and dashes). */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

/** GCP network tag of a role's instances; firewall rules target it. At most 63 characters. */
export function roleTag(component: string, role: string): string {
  return slug(`tc-${component}-${role}`).slice(0, 63).replace(/-+$/, '');
}
