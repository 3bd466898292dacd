/**
 * What the three provider programs (aws.ts, azure.ts, gcp.ts) share: the environment program.ts hands them, the
 * ComponentResources they parent their resources under, and the steps every provider takes the same way (networks
 * and static public addresses before anything else, bucket parents, address families of a rule's sources).
 *
 * program.ts loads a provider module and calls its `realize`; the provider modules import only this module and the
 * pure model (model.ts), never program.ts, so no import runs in a circle.
 */
import * as pulumi from '@pulumi/pulumi';
import type { Plan } from '../../components/plan-types.js';
import type { KeyMaterial } from './keys.js';
import { hasIpv4Source } from './limits.js';
import type { ModelCloud, ModelGroup, ModelNode, ModelRule, RealizationModel } from './model.js';

export interface ProgramInputs {
  keys: KeyMaterial;
  /** npm package spec each VM installs, e.g. `tclouds@0.1.0`. */
  packageSpec: string;
  /** Addresses of nodes realized by other targets (node id -> IP), from their deployments. */
  externalHosts: Record<string, string>;
  /**
   * Buckets are retained on delete (left in the cloud with their data when removed from the program or the stack
   * is destroyed). False only for the update `destroy --delete-data` makes first: buckets then go, objects too.
   */
  retainData: boolean;
  /** VM images pinned for this target, by region (stack-pins.ts); a region without one resolves the newest. */
  images?: Record<string, string>;
  /** Suffix of globally unique names (names.ts, stack-pins.ts); "" for stacks made before suffixes. */
  nameSuffix?: string;
  /**
   * The program of what is already deployed (the updates destroy and a dropped bucket make first): its limits
   * were checked when it was deployed, or it predates a check, and must never block keeping or deleting data.
   */
  skipLimitChecks?: boolean;
}

export class TcComponent extends pulumi.ComponentResource {
  constructor(kind: string, name: string) {
    super(`tclouds:component:${kind.charAt(0).toUpperCase()}${kind.slice(1)}`, name, {}, {});
  }
  /** Children are added from outside (the provider modules); this marks construction complete. */
  done(): void {
    this.registerOutputs({});
  }
}

export class TcCloud extends pulumi.ComponentResource {
  constructor(name: string) {
    super('tclouds:cloud:Network', name, {}, {});
  }
  done(): void {
    this.registerOutputs({});
  }
}

export interface NodeResult {
  privateIp: string;
  publicIp: pulumi.Output<string>;
}

export interface BucketResult {
  cloud: string;
  name: pulumi.Input<string>;
  region: string;
  endpoint: pulumi.Input<string>;
  /** Per-bucket credentials (access key / container SAS / service-account key). Always a Pulumi secret. */
  credentials: pulumi.Output<unknown>;
}

/** What a provider program returns: its VMs by node id, its buckets by `<cloud>/<bucket>`. */
export interface Realized {
  nodes: Record<string, NodeResult>;
  buckets: Record<string, BucketResult>;
  /** VM image each region resolved to (kept by the deploy as the stack's pin). */
  images?: Record<string, pulumi.Input<string>>;
}

/** What the provider modules get: the decided model plus helpers that keep secrets and rules uniform. */
export interface ProgramEnv {
  plan: Plan;
  model: RealizationModel;
  inputs: ProgramInputs;
  component(name: string): TcComponent;
  cloudParent(cloud: string): TcCloud;
  /** Static public address of every node of the target (filled by the provider before firewalls and VMs). */
  publicIps: Map<string, pulumi.Output<string>>;
  /** The node's cloud-init document, as a secret. */
  userData(nodeId: string): pulumi.Output<string>;
  /** IPv4 / IPv6 source ranges of a rule (peer addresses as /32 or /128). */
  sourceRanges(rule: ModelRule): { v4: pulumi.Output<string[]>; v6: string[] };
  tags(extra?: Record<string, string>): Record<string, string>;
}

export interface ProviderModule {
  realize(env: ProgramEnv): Realized;
}

/**
 * Step one of every provider: each cloud's network, then a static public address per node of that cloud, for every
 * cloud of the target before any firewall or VM (the firewalls of one cloud name the addresses of the others).
 * `address` creates the node's address resource and returns its IP, which lands in `env.publicIps`.
 */
export function networksAndAddresses<Net>(
  env: ProgramEnv,
  network: (cloud: ModelCloud) => Net,
  address: (cloud: ModelCloud, group: ModelGroup, member: ModelNode, net: Net) => pulumi.Output<string>,
): Map<string, Net> {
  const nets = new Map<string, Net>();
  for (const cloud of env.model.clouds) {
    const net = network(cloud);
    nets.set(cloud.name, net);
    for (const g of cloud.groups) {
      for (const m of g.nodes) env.publicIps.set(m.node.id, address(cloud, g, m, net));
    }
  }
  return nets;
}

/** A bucket sits under its component when it has one in the plan, else under its cloud. */
export function bucketParent(env: ProgramEnv, cloud: ModelCloud, component: string | undefined): pulumi.Resource {
  return component && env.plan.components[component] ? env.component(component) : env.cloudParent(cloud.name);
}

/**
 * A rule's sources split by address family, for providers that refuse rules mixing IPv4 and IPv6 prefixes (Azure,
 * GCP): the IPv4 ranges and the IPv6 ones, each when there are any.
 */
export function sourcesByFamily(env: ProgramEnv, rule: ModelRule): { v6: boolean; ranges: pulumi.Input<string[]> }[] {
  const { v4, v6 } = env.sourceRanges(rule);
  const families: { v6: boolean; ranges: pulumi.Input<string[]> }[] = [];
  // Never an IPv4 rule without an IPv4 source: GCP would read its empty `sourceRanges` as 0.0.0.0/0.
  if (hasIpv4Source(rule, env.inputs.externalHosts)) families.push({ v6: false, ranges: v4 });
  if (v6.length > 0) families.push({ v6: true, ranges: v6 });
  return families;
}

/**
 * One `make(component)` per component, made on first use and kept (in the order first asked for): per-component
 * identities of the VMs that reach buckets.
 */
export function perComponent<T>(make: (component: string) => T): { of(component: string): T; made: Map<string, T> } {
  const made = new Map<string, T>();
  return {
    made,
    of(component) {
      if (!made.has(component)) made.set(component, make(component));
      return made.get(component) as T;
    },
  };
}
