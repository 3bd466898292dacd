/**
 * What the three provider programs (aws.ts, azure.ts, gcp.ts) share: the environment program.ts hands them, the
 * ComponentResources they parent their resources under, and the steps every provider takes the same way (networks
 * and static public addresses before anything else, bucket parents, address families of a rule's sources).
 *
 * program.ts loads a provider module and calls its `realize`; the provider modules import only this module and the
 * pure model (model.ts), never program.ts, so no import runs in a circle.
 */
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import type { Plan } from '../../components/plan-types.js';
import type { NodeRuntimeRef, NodeSecretKind } from './boot-refs.js';
import type { KeyMaterial } from './keys.js';
import { hasIpv4Source } from './limits.js';
import type { ModelCloud, ModelGroup, ModelNode, ModelRule, RealizationModel } from './model.js';
import type { ForeignGatewayIdentity } from './node-boot.js';

/** The packed node software on this machine: the file to upload and its SHA-256 (lower-case hex). */
export interface ArtifactFile {
  path: string;
  sha256: string;
}

/**
 * What the VMs install: the build that runs the deploy, uploaded as the stack's artifact (the default), or a
 * published npm package the user named (`deploy --node-package tclouds@x.y.z`).
 */
export type SoftwareInput = { artifact: ArtifactFile } | { packageSpec: string };

export interface ProgramInputs {
  keys: KeyMaterial;
  software: SoftwareInput;
  /** The pinned Node runtime: the one the software record names, and the one a new VM's first boot installs. */
  nodeRuntime: NodeRuntimeRef;
  /** Addresses of nodes realized by other targets (node id -> IP), from their deployments. */
  externalHosts: Record<string, string>;
  /**
   * Credentials of buckets realized by other targets (`<cloud>/<bucket>` -> the credentials those deploys wrote to
   * `<stackDir>/keys/bucket-<cloud>-<bucket>.json`): a gateway here that writes to such a bucket gets them in its
   * `bucket-credentials` secret. Buckets of this target are reached with the gateway's own identity instead.
   */
  externalBucketCredentials: Record<string, unknown>;
  /**
   * VM identities of gateways realized by another deployment (node id -> account and role, or tenant and
   * principal; `keys/gateway-identities-<provider>.json` of an AWS or Azure deployment without GCP): the GCP part
   * binds them to its buckets by workload identity federation. Gateways of this deployment need no file.
   */
  externalGatewayIdentities?: Record<string, ForeignGatewayIdentity>;
  /**
   * Buckets are retained on delete (left in the cloud with their data when removed from the program or the stack
   * is destroyed). False only for the update `destroy --delete-data` makes first: buckets then go, objects too.
   */
  retainData: boolean;
  /** VM images pinned for this target, by region (stack-pins.ts); a region without one resolves the newest. */
  images?: Record<string, string>;
  /**
   * The stack's random suffix of every globally unique name (buckets, storage accounts, the artifact store, Key
   * Vaults; names.ts, stack-pins.ts), one for all targets: two users' `demo` stacks never collide. "" for stacks
   * deployed before suffixes.
   */
  nameSuffix: string;
  /**
   * Resources a destroy kept (retained buckets and their writers), by `<type>::<name>` -> provider id: the next
   * deploy adopts them (Pulumi `import`) instead of failing to create what exists (adopt.ts).
   */
  adopt?: Record<string, string>;
  /**
   * The program of what is already deployed (the updates destroy and a dropped bucket make first): its limits
   * were checked when it was deployed, or it predates a check, and must never block keeping or deleting data.
   */
  skipLimitChecks?: boolean;
}

export class TcComponent extends pulumi.ComponentResource {
  constructor(kind: string, name: string, opts: pulumi.ComponentResourceOptions = {}) {
    super(`tclouds:component:${kind.charAt(0).toUpperCase()}${kind.slice(1)}`, name, {}, opts);
  }
  /** Children are added from outside (the provider modules); this marks construction complete. */
  done(): void {
    this.registerOutputs({});
  }
}

export class TcCloud extends pulumi.ComponentResource {
  constructor(name: string, opts: pulumi.ComponentResourceOptions = {}) {
    super('tclouds:cloud:Network', name, {}, opts);
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
  /**
   * Per-bucket credentials for gateways of other targets (access key / container SAS), always a Pulumi secret; on
   * GCP no key, only the workload identity pool providers' audiences (gcp-federation.ts).
   */
  credentials?: pulumi.Output<unknown>;
}

/** What a provider program returns: its VMs by node id, its buckets by `<cloud>/<bucket>`. */
export interface Realized {
  nodes: Record<string, NodeResult>;
  buckets: Record<string, BucketResult>;
  /** VM image each region resolved to (kept by the deploy as the stack's pin). */
  images?: Record<string, pulumi.Input<string>>;
  /**
   * AWS and Azure: the identities of the gateways that write GCP buckets. The program hands them to the GCP part
   * of the same deployment (`ProgramEnv.gatewayIdentities`), which binds them.
   */
  gatewayIdentities?: Record<string, pulumi.Output<ForeignGatewayIdentity>>;
}

/** What the provider modules get: the decided model plus helpers that keep secrets and rules uniform. */
export interface ProgramEnv {
  plan: Plan;
  model: RealizationModel;
  inputs: ProgramInputs;
  component(name: string): TcComponent;
  cloudParent(cloud: string): TcCloud;
  /**
   * Identities of the gateways the providers realized before this one (AWS and Azure realize before GCP), by node
   * id: values still to come, which the GCP part binds to its buckets (gcp-federation.ts) in the same pass.
   */
  gatewayIdentities: Record<string, pulumi.Output<ForeignGatewayIdentity>>;
  /** Static public address of every node of the target (filled by the provider before firewalls and VMs). */
  publicIps: Map<string, pulumi.Output<string>>;
  /**
   * What the node reads from the secret store at every start (spec, key, admin token; for gateways also the writer
   * key and bucket credentials; its software record, naming `artifactLocator` when the software is the artifact),
   * each value a Pulumi secret. The provider stores each in an entry only the node may read.
   */
  nodeSecrets(nodeId: string, artifactLocator?: pulumi.Input<string>): NodeSecretValue[];
  /**
   * The node's user data: its BootValues only (first-boot runtime, secret store refs), nothing secret. Built from
   * names that change with neither the spec nor the build, so neither changes it.
   */
  userData(nodeId: string, refs: NodeBootRefs): pulumi.Output<string>;
  /** IPv4 / IPv6 source ranges of a rule (peer addresses as /32 or /128). */
  sourceRanges(rule: ModelRule): { v4: pulumi.Output<string[]>; v6: string[] };
  tags(extra?: Record<string, string>): Record<string, string>;
}

/** One secret of a node: what it is, where it lands on the VM, and its value (a Pulumi secret). */
export interface NodeSecretValue {
  kind: NodeSecretKind;
  path: string;
  value: pulumi.Output<string>;
}

/** What the provider created for a node's boot: its secret store entries. */
export interface NodeBootRefs {
  /** AWS: the region of the node's Secrets Manager entries. */
  region?: string;
  secrets: { kind: NodeSecretKind; path: string; ref: pulumi.Input<string> }[];
}

/** The artifact object's name: content-addressed, so a new build is a new object and an old VM keeps its own. */
export function artifactObjectName(sha256: string): string {
  return `tclouds-${sha256.slice(0, ARTIFACT_NAME_HASH_CHARS)}.tgz`;
}
const ARTIFACT_NAME_HASH_CHARS = 16;

export function artifactOf(inputs: ProgramInputs): ArtifactFile | undefined {
  return 'artifact' in inputs.software ? inputs.software.artifact : undefined;
}

/** A short stable hash of a stack-scoped name, for unique resource names (buckets, vaults, accounts, ids). */
export function stackHash(stack: string, what: string, chars: number): string {
  return createHash('sha256').update(`${stack}/${what}`).digest('hex').slice(0, chars);
}

/**
 * One provider's program, in two steps: `addresses` creates its networks and every node's static public address
 * (program.ts runs it for every provider of the deployment before any `realize`, so every node's spec can name
 * every peer's address), `realize` the rest, given what `addresses` returned (or making it itself when absent).
 */
export interface ProviderModule {
  addresses?(env: ProgramEnv): unknown;
  realize(env: ProgramEnv, addressed?: unknown): Realized;
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
