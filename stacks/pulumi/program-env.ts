/**
 * What the three provider programs (aws.ts, azure.ts, gcp.ts) share: the environment program.ts hands them and the
 * ComponentResources they parent their resources under.
 *
 * program.ts loads a provider module and calls its `realize`; the provider modules import only this module and the
 * pure model (model.ts), never program.ts, so no import runs in a circle.
 */
import * as pulumi from '@pulumi/pulumi';
import type { Plan } from '../../components/plan-types.js';
import type { KeyMaterial } from './keys.js';
import type { ModelRule, RealizationModel } from './model.js';

export interface ProgramInputs {
  keys: KeyMaterial;
  /** npm package spec each VM installs, e.g. `tclouds@0.1.0`. */
  packageSpec: string;
  /** Addresses of nodes realized by other targets (node id -> IP), from their deployments. */
  externalHosts: Record<string, string>;
  /** destroy --keep-data: buckets leave the state instead of being deleted. */
  retainData: boolean;
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
