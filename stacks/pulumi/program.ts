/**
 * The inline Pulumi program of one topology and one cloud target: `createProgram(plan, target, inputs)` returns the
 * function the Automation API (deploy) or the mock runtime (preview, tests) runs.
 *
 * Shape of the resource graph: one `tclouds:component:<Kind>` ComponentResource per TClouds component, holding one
 * VM (plus its address) per node, the fault-domain construct and the firewall of each role; one
 * `tclouds:cloud:Network` per cloud holding the network. The provider modules (aws.ts, azure.ts, gcp.ts) are
 * imported lazily: each pulls in only the SDK submodules it uses, and takes what the three share from
 * program-env.ts (never from here).
 */
import * as pulumi from '@pulumi/pulumi';
import type { Plan, PlannedNode } from '../../components/plan-types.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import type { NodeSecretKind } from './boot-refs.js';
import { cloudNodeSpec, renderCloudInit } from './cloud-init.js';
import type { CloudProvider } from './constructs.js';
import { checkLimits } from './limits.js';
import { buildCloudModel, type ModelRule, type RealizationModel } from './model.js';
import { BUCKET_NAME_MAX } from './names.js';
import {
  awsSecretName,
  bootNotes,
  bootValuesOf,
  bucketCredentialsOf,
  gatewayCredentialConfig,
  isGateway,
  secretFilesOf,
} from './node-boot.js';
import {
  artifactObjectName,
  type NodeBootRefs,
  type NodeSecretValue,
  type ProgramEnv,
  type ProgramInputs,
  type ProviderModule,
  TcCloud,
  TcComponent,
} from './program-env.js';
import { specDigest } from './spec-digests.js';

export async function loadProvider(provider: CloudProvider): Promise<ProviderModule> {
  if (provider === 'aws') return import('./aws.js');
  if (provider === 'azure') return import('./azure.js');
  return import('./gcp.js');
}

export function createProgram(
  plan: Plan,
  provider: CloudProvider,
  inputs: ProgramInputs,
  mod: ProviderModule,
): () => Promise<Record<string, unknown>> {
  // Decided before any resource exists: a plan that does not fit the constructs fails with no side effect.
  const model = buildCloudModel(plan, provider);
  if (!inputs.skipLimitChecks)
    checkLimits(plan, model, {
      externalHosts: inputs.externalHosts,
      nameSuffix: inputs.nameSuffix,
      // The BootValues-only user data the program renders, with every id at its longest.
      renderUserData: (id) => userDataBeforeCreate(plan, model, inputs, id),
    });
  return async () => {
    const components = new Map<string, TcComponent>();
    const clouds = new Map<string, TcCloud>();
    const publicIps = new Map<string, pulumi.Output<string>>();
    const env: ProgramEnv = {
      plan,
      model,
      inputs,
      publicIps,
      component(name) {
        let c = components.get(name);
        if (!c) {
          c = new TcComponent(plan.components[name]!.kind, name);
          components.set(name, c);
        }
        return c;
      },
      cloudParent(cloud) {
        let c = clouds.get(cloud);
        if (!c) {
          c = new TcCloud(cloud);
          clouds.set(cloud, c);
        }
        return c;
      },
      nodeSecrets: (nodeId) => nodeSecretsOf(plan, model, inputs, publicIps, nodeId),
      userData: (nodeId, refs) => userDataOf(inputs, provider, nodeId, refs),
      sourceRanges: (rule) => sourceRangesOf(rule, inputs, publicIps),
      tags: (extra = {}) => ({ 'tclouds-stack': plan.stack, 'managed-by': 'tclouds', ...extra }),
    };
    // Components first so every node can be parented under its component.
    for (const [name, comp] of Object.entries(plan.components)) {
      if (comp.nodes.some((n) => model.nodes.has(n.id)) || comp.buckets.some((b) => inTarget(model, b.cloud))) {
        env.component(name);
      }
    }
    const result = mod.realize(env);
    for (const c of components.values()) c.done();
    for (const c of clouds.values()) c.done();
    const nodes: Record<string, unknown> = {};
    for (const [id, n] of Object.entries(result.nodes)) {
      const m = model.nodes.get(id)!;
      nodes[id] = { privateIp: n.privateIp, publicIp: n.publicIp, cloud: m.cloud, domain: m.node.domain, slot: m.slot };
    }
    const boot = bootNotes(
      plan,
      provider,
      model.nodes.size,
      inputs.software,
      inputs.externalBucketCredentials,
      inputs.externalGatewayIdentities,
    );
    const notes = [...model.notes, ...boot];
    // What each node fetches at its start (its spec and every other secret of it), by digest: deploy restarts the
    // nodes whose digest changed, so a new bucket credential or token reaches a running node as a new spec does.
    // A digest of values that each hold a random key or token reveals none of them: it is no secret.
    const ids = Object.keys(result.nodes);
    const specDigests = pulumi.unsecret(
      pulumi
        .all(ids.map((id) => pulumi.all(nodeSecretsOf(plan, model, inputs, publicIps, id).map((v) => v.value))))
        .apply((all) => Object.fromEntries(ids.map((id, i) => [id, specDigest(all[i]!.join('\0'))] as const))),
    );
    // Gateway identities are no secret (an account, a role name, a principal id): the GCP deploy binds them.
    const gatewayIdentities = pulumi.unsecret(pulumi.output(result.gatewayIdentities ?? {}));
    return {
      provider,
      nodes,
      buckets: result.buckets,
      images: result.images ?? {},
      notes,
      specDigests,
      gatewayIdentities,
    };
  };
}

function inTarget(model: RealizationModel, cloud: string): boolean {
  return model.clouds.some((c) => c.name === cloud);
}

/** The node's NodeSpec, once the public addresses of its peers in other clouds of this target are known. */
function specOf(
  plan: Plan,
  model: RealizationModel,
  inputs: ProgramInputs,
  publicIps: Map<string, pulumi.Output<string>>,
  nodeId: string,
): pulumi.Output<NodeSpec> {
  const me = model.nodes.get(nodeId)!;
  const comp = plan.components[me.node.component]!;
  // Peers in other clouds of this target are reached at their static public address.
  const remote = comp.nodes.filter((p) => p.cloud !== me.cloud && publicIps.has(p.id));
  const remoteIps = pulumi.all(remote.map((p) => publicIps.get(p.id)!));
  return remoteIps.apply((ips) => {
    const ipOf = new Map(remote.map((p, i) => [p.id, ips[i]!] as const));
    const hostOf = (p: PlannedNode) =>
      p.cloud === me.cloud ? model.nodes.get(p.id)!.privateIp : (ipOf.get(p.id) ?? inputs.externalHosts[p.id] ?? '');
    const spec = cloudNodeSpec(
      plan,
      me.node,
      me.privateIp,
      hostOf,
      inputs.keys.publicKeys,
      inputs.keys.signingPublicKeys,
    );
    if (!isGateway(plan, me.node)) return spec;
    // Gateways: which identity or credentials file reaches each bucket, the buckets' cloud names, Azure accounts.
    const gw = gatewayCredentialConfig(plan, me.node.component, model.provider, inputs.nameSuffix);
    const buckets = { ...(spec.config.buckets as Record<string, string>), ...gw.buckets };
    return { ...spec, config: { ...spec.config, ...gw, buckets } };
  });
}

/** The text of a node's `spec` secret. */
function specText(spec: NodeSpec): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}

/** The values of the node's secret store entries, each a Pulumi secret (never printed, never in user data). */
function nodeSecretsOf(
  plan: Plan,
  model: RealizationModel,
  inputs: ProgramInputs,
  publicIps: Map<string, pulumi.Output<string>>,
  nodeId: string,
): NodeSecretValue[] {
  const me = model.nodes.get(nodeId)!;
  const component = me.node.component;
  const secretOf = (kind: NodeSecretKind): pulumi.Output<string> => {
    if (kind === 'spec') return specOf(plan, model, inputs, publicIps, nodeId).apply(specText);
    if (kind === 'node-key') return pulumi.output(inputs.keys.privatePem[nodeId] ?? '');
    if (kind === 'admin-token') return pulumi.output(`${inputs.keys.adminTokens[nodeId] ?? ''}\n`);
    if (kind === 'writer-key') return pulumi.output(inputs.keys.writerPem[component] ?? '');
    const creds = bucketCredentialsOf(plan, component, model.provider, inputs.externalBucketCredentials);
    return pulumi.output(`${JSON.stringify(creds, null, 2)}\n`);
  };
  return secretFilesOf(plan, me.node).map((f) => ({ ...f, value: pulumi.secret(secretOf(f.kind)) }));
}

/**
 * The node's user data from what the provider created for it: BootValues only, rendered by `renderCloudInit` (the
 * one renderer of the program and of the plan-time size check). Depends on the secret refs and the artifact, never
 * on the spec or a key.
 */
function userDataOf(inputs: ProgramInputs, provider: CloudProvider, nodeId: string, refs: NodeBootRefs) {
  const secretRefs = pulumi.all(refs.secrets.map((s) => pulumi.output(s.ref)));
  return pulumi.all([secretRefs, pulumi.output(refs.artifactLocator)]).apply(([ids, locator]) =>
    renderCloudInit(
      bootValuesOf(nodeId, provider, inputs.software, inputs.nodeRuntime, {
        ...(refs.region ? { region: refs.region } : {}),
        ...(locator ? { artifactLocator: locator } : {}),
        secrets: refs.secrets.map((s, i) => ({ kind: s.kind, path: s.path, ref: ids[i]! })),
      }),
    ),
  );
}

/**
 * The user data a node of this plan will get, before any resource exists (the plan-time size check): its
 * BootValues with every provider id at the longest it can be (an AWS secret ARN: region, 12-digit account, the
 * secret's name and the 6 characters Secrets Manager appends; a locator naming a bucket of the longest name).
 */
function userDataBeforeCreate(plan: Plan, model: RealizationModel, inputs: ProgramInputs, nodeId: string): string {
  const me = model.nodes.get(nodeId)!;
  const region = model.clouds.find((c) => c.name === me.cloud)?.region ?? '';
  const ref = (kind: NodeSecretKind) =>
    model.provider === 'aws'
      ? `arn:aws:secretsmanager:${region}:${'0'.repeat(AWS_ACCOUNT_DIGITS)}:secret:${awsSecretName(plan.stack, nodeId, kind)}-XXXXXX`
      : `${LONGEST_SECRET_REF_STEM}/${nodeId}-${kind}`;
  const sha256 = 'artifact' in inputs.software ? inputs.software.artifact.sha256 : '';
  return renderCloudInit(
    bootValuesOf(nodeId, model.provider, inputs.software, inputs.nodeRuntime, {
      ...(model.provider === 'aws' ? { region } : {}),
      artifactLocator: `s3://${'x'.repeat(BUCKET_NAME_MAX)}/${artifactObjectName(sha256)}`,
      secrets: secretFilesOf(plan, me.node).map((f) => ({ ...f, ref: ref(f.kind) })),
    }),
  );
}
const AWS_ACCOUNT_DIGITS = 12;
/** Azure Key Vault secret ids and GCP secret names are not measured against a limit; a long stand-in. */
const LONGEST_SECRET_REF_STEM = `https://${'x'.repeat(24)}.vault.azure.net/secrets`;

function sourceRangesOf(
  rule: ModelRule,
  inputs: ProgramInputs,
  publicIps: Map<string, pulumi.Output<string>>,
): { v4: pulumi.Output<string[]>; v6: string[] } {
  const v4: pulumi.Input<string>[] = [];
  const v6: string[] = [];
  for (const s of rule.sources) {
    if (s.kind === 'private') v4.push(`${s.ip}/32`);
    else if (s.kind === 'public') v4.push(publicIps.get(s.nodeId)!.apply((ip) => `${ip}/32`));
    else if (s.kind === 'external') {
      const host = inputs.externalHosts[s.nodeId];
      if (host?.includes(':')) v6.push(`${host}/128`);
      else if (host) v4.push(`${host}/32`);
    } else if (s.cidr.includes(':')) v6.push(s.cidr);
    else v4.push(s.cidr);
  }
  return { v4: pulumi.all(v4).apply((xs) => [...new Set(xs)].sort()), v6 };
}
