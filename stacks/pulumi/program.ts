/**
 * The inline Pulumi program of one cloud deployment: every cloud provider of a topology (aws, azure, gcp) in one
 * program and one stack. `createDeploymentProgram(plan, modules, inputs)` returns the function the Automation API
 * (deploy) or the mock runtime (preview, tests) runs; `createProgram(plan, provider, inputs, module)` is the same
 * for one provider.
 *
 * Order: every provider's networks and every node's static public address first (`ProviderModule.addresses`),
 * then the rest of each provider (`realize`). Each node's spec is a secret-store entry rendered from those
 * addresses, so one pass yields complete specs: no peer without a host, no second deploy.
 *
 * Shape of the resource graph: one `tclouds:component:<Kind>` ComponentResource per TClouds component, holding one
 * VM (plus its address) per node, the fault-domain construct and the firewall of each role, whatever the providers
 * of its nodes; one `tclouds:cloud:Network` per cloud holding the network. Each provider's resources use that
 * provider's default provider (one per package in the stack). The provider modules (aws.ts, azure.ts, gcp.ts) are
 * imported lazily: each pulls in only the SDK submodules it uses, and takes what the three share from
 * program-env.ts (never from here).
 */
import * as pulumi from '@pulumi/pulumi';
import type { Plan, PlannedNode } from '../../components/plan-types.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { controlTlsFileText } from '../../runtime/control-tls.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import { addressOrder } from './address-order.js';
import { adoption } from './adopt.js';
import type { NodeSecretKind } from './boot-refs.js';
import { cloudNodeSpec, renderCloudInit } from './cloud-init.js';
import { DeploymentCode } from './codes.js';
import type { CloudProvider } from './constructs.js';
import { checkLimits } from './limits.js';
import { buildCloudModel, CLOUD_PROVIDERS, type ModelRule, type RealizationModel } from './model.js';
import {
  awsSecretName,
  bootNotes,
  bootValuesOf,
  bucketCredentialsOf,
  gatewayCredentialConfig,
  isGateway,
  secretFilesOf,
  softwareRecordOf,
} from './node-boot.js';
import {
  type NodeBootRefs,
  type NodeSecretValue,
  type ProgramEnv,
  type ProgramInputs,
  type ProviderModule,
  type Realized,
  TcCloud,
  TcComponent,
} from './program-env.js';
import { specDigest } from './spec-digests.js';

export async function loadProvider(provider: CloudProvider): Promise<ProviderModule> {
  if (provider === 'aws') return import('./aws.js');
  if (provider === 'azure') return import('./azure.js');
  return import('./gcp.js');
}

export { CLOUD_PROVIDERS, planProviders } from './model.js';

/** The provider modules of `providers`, loaded. */
export async function loadProviders(
  providers: readonly CloudProvider[],
): Promise<Partial<Record<CloudProvider, ProviderModule>>> {
  const mods = await Promise.all(providers.map(loadProvider));
  return Object.fromEntries(providers.map((p, i) => [p, mods[i]!] as const));
}

/** The program of one provider's clouds (a deployment of a single-provider topology; tests of one provider). */
export function createProgram(
  plan: Plan,
  provider: CloudProvider,
  inputs: ProgramInputs,
  mod: ProviderModule,
): () => Promise<Record<string, unknown>> {
  return createDeploymentProgram(plan, { [provider]: mod }, inputs);
}

/** What the program needs of each provider of the deployment: its model and its module. */
interface ProviderPart {
  provider: CloudProvider;
  model: RealizationModel;
  mod: ProviderModule;
}

/**
 * The program of a deployment over `mods`' providers. Throws every plan error (peers on local clouds, a peer
 * without an address, constructs, regions, provider limits) before any resource exists.
 */
export function createDeploymentProgram(
  plan: Plan,
  mods: Partial<Record<CloudProvider, ProviderModule>>,
  inputs: ProgramInputs,
): () => Promise<Record<string, unknown>> {
  const providers = CLOUD_PROVIDERS.filter((p) => mods[p]);
  // The program of what is already deployed (destroy's first update) is never blocked by a check it predates.
  if (!inputs.skipLimitChecks) checkLocalPeers(plan, providers);
  // Decided before any resource exists: a plan that does not fit the constructs fails with no side effect.
  const parts: ProviderPart[] = providers.map((provider) => ({
    provider,
    model: buildCloudModel(plan, provider, providers),
    mod: mods[provider]!,
  }));
  if (!inputs.skipLimitChecks)
    for (const { model } of parts)
      checkLimits(plan, model, {
        externalHosts: inputs.externalHosts,
        nameSuffix: inputs.nameSuffix,
        // The BootValues-only user data the program renders, with every id at its longest.
        renderUserData: (id) => userDataBeforeCreate(plan, model, inputs, id),
      });
  if (!inputs.skipLimitChecks) checkPeerAddresses(plan, providers, inputs.externalHosts);
  return () => runDeployment(plan, parts, inputs);
}

async function runDeployment(
  plan: Plan,
  parts: ProviderPart[],
  inputs: ProgramInputs,
): Promise<Record<string, unknown>> {
  const components = new Map<string, TcComponent>();
  const clouds = new Map<string, TcCloud>();
  const publicIps = new Map<string, pulumi.Output<string>>();
  const adopt = adoption(inputs.adopt);
  // Every resource sits under a component or cloud parent: their transformations reach all of them.
  const parentOpts = { transformations: [adopt.transformation, addressOrder(plan)] };
  // Buckets of every provider of the deployment, for gateways that write to another provider's: created after
  // some gateways' secrets are declared, so those secrets read them through a deferred output (resolved below).
  const [deployedBuckets, resolveBuckets] = pulumi.deferredOutput<Record<string, unknown>>();
  const shared = {
    plan,
    inputs,
    publicIps,
    gatewayIdentities: {} as ProgramEnv['gatewayIdentities'],
    component(name: string) {
      let c = components.get(name);
      if (!c) {
        c = new TcComponent(plan.components[name]!.kind, name, parentOpts);
        components.set(name, c);
      }
      return c;
    },
    cloudParent(cloud: string) {
      let c = clouds.get(cloud);
      if (!c) {
        c = new TcCloud(cloud, parentOpts);
        clouds.set(cloud, c);
      }
      return c;
    },
    sourceRanges: (rule: ModelRule) => sourceRangesOf(rule, inputs, publicIps),
    tags: (extra: Record<string, string> = {}) => ({ 'tclouds-stack': plan.stack, 'managed-by': 'tclouds', ...extra }),
  };
  // Each node's secrets as its provider stored them: the digests of the outputs are of exactly these values.
  const stored = new Map<string, NodeSecretValue[]>();
  const secretsOf = (model: RealizationModel, id: string) =>
    stored.get(id) ?? nodeSecretsOf(plan, model, inputs, { publicIps, deployedBuckets }, id);
  const envs: ProgramEnv[] = parts.map(({ provider, model }) => ({
    ...shared,
    model,
    nodeSecrets: (nodeId, artifactLocator) => {
      const values = nodeSecretsOf(plan, model, inputs, { publicIps, deployedBuckets }, nodeId, artifactLocator);
      stored.set(nodeId, values);
      return values;
    },
    userData: (nodeId, refs) => userDataOf(inputs, provider, nodeId, refs),
  }));
  // Components first so every node can be parented under its component.
  for (const [name, comp] of Object.entries(plan.components)) {
    const here = (cloud: string) => parts.some((p) => inTarget(p.model, cloud));
    if (comp.nodes.some((n) => here(n.cloud)) || comp.buckets.some((b) => here(b.cloud))) shared.component(name);
  }
  // Step one for every provider before step two for any: every address exists before any VM and any spec.
  const addressed = parts.map((p, i) => p.mod.addresses?.(envs[i]!));
  // In CLOUD_PROVIDERS order, GCP last: the AWS and Azure gateways' identities reach its federation (no file).
  const results = parts.map((p, i) => {
    const r = p.mod.realize(envs[i]!, addressed[i]);
    Object.assign(shared.gatewayIdentities, r.gatewayIdentities ?? {});
    return r;
  });
  for (const c of components.values()) c.done();
  for (const c of clouds.values()) c.done();
  resolveBuckets(bucketRecords(plan, results));
  return deploymentOutputs(plan, parts, inputs, results, { publicIps, deployedBuckets, secretsOf, adopt });
}

/** Each realized bucket as the record a gateway of another provider reads (the same as `keys/bucket-*.json`). */
function bucketRecords(plan: Plan, results: Realized[]): pulumi.Output<Record<string, unknown>> {
  const records: Record<string, pulumi.Output<unknown>> = {};
  for (const r of results)
    for (const [key, b] of Object.entries(r.buckets)) {
      // A bucket reached by identities only (no per-bucket credentials) has no record to hand to other providers.
      if (b.credentials === undefined) continue;
      records[key] = pulumi.output({
        provider: plan.clouds[b.cloud]?.provider,
        cloud: b.cloud,
        bucket: b.name,
        region: b.region,
        endpoint: b.endpoint,
        credentials: b.credentials,
      });
    }
  return pulumi.all(records).apply((r) => r as Record<string, unknown>);
}

/** The stack outputs: nodes, buckets, pinned images, plan notes, spec digests and the ids of retained resources. */
function deploymentOutputs(
  plan: Plan,
  parts: ProviderPart[],
  inputs: ProgramInputs,
  results: Realized[],
  ctx: {
    publicIps: Map<string, pulumi.Output<string>>;
    deployedBuckets: pulumi.Output<Record<string, unknown>>;
    secretsOf: (model: RealizationModel, id: string) => NodeSecretValue[];
    adopt: ReturnType<typeof adoption>;
  },
): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  const buckets: Record<string, unknown> = {};
  const images: Record<string, pulumi.Input<string>> = {};
  const notes: string[] = [];
  const modelOf = new Map<string, RealizationModel>();
  // Buckets of the deployment's providers are reached from inside the program: no gateway waits for another deploy.
  const inProgram: Record<string, unknown> = { ...inputs.externalBucketCredentials };
  for (const r of results)
    for (const [key, b] of Object.entries(r.buckets)) if (b.credentials !== undefined) inProgram[key] = true;
  // Gateway identities known to the GCP part: another deployment's records, and those realized here.
  const known: Record<string, { provider: 'aws' | 'azure' }> = { ...inputs.externalGatewayIdentities };
  const realizedIds: Record<string, pulumi.Output<unknown>> = {};
  parts.forEach(({ provider }, i) => {
    for (const [id, v] of Object.entries(results[i]!.gatewayIdentities ?? {})) {
      if (provider === 'aws' || provider === 'azure') known[id] = { provider };
      realizedIds[id] = v;
    }
  });
  parts.forEach(({ provider, model }, i) => {
    const result = results[i]!;
    for (const [id, n] of Object.entries(result.nodes)) {
      const m = model.nodes.get(id)!;
      modelOf.set(id, model);
      nodes[id] = {
        privateIp: n.privateIp,
        publicIp: n.publicIp,
        cloud: m.cloud,
        provider,
        domain: m.node.domain,
        slot: m.slot,
      };
    }
    for (const [key, b] of Object.entries(result.buckets)) buckets[key] = { ...b, provider };
    Object.assign(images, result.images ?? {});
    notes.push(...model.notes, ...bootNotes(plan, provider, model.nodes.size, inputs.software, inProgram, known));
  });
  // What each node fetches at its start (its spec, its software record and every other secret of it), by digest:
  // deploy restarts the nodes whose digest changed, so a new build, bucket credential or token reaches a running
  // node as a new spec does, in the same waves. A digest of values of which one holds a random key or token
  // reveals none of them: it is no secret.
  const ids = [...modelOf.keys()];
  const specDigests = pulumi.unsecret(
    pulumi
      .all(ids.map((id) => pulumi.all(ctx.secretsOf(modelOf.get(id)!, id).map((v) => v.value))))
      .apply((all) => Object.fromEntries(ids.map((id, i) => [id, specDigest(all[i]!.join('\0'))] as const))),
  );
  const providers = parts.map((p) => p.provider);
  for (const [name, comp] of Object.entries(plan.components)) {
    const places = [...comp.nodes.map((n) => n.cloud), ...comp.buckets.map((b) => b.cloud)];
    if (places.length > 0 && places.every((c) => plan.clouds[c]?.provider === 'local'))
      notes.push(
        `${name} runs only on local clouds: it is not part of this cloud deployment (\`--target local\` runs it)`,
      );
  }
  return {
    ...(providers.length === 1 ? { provider: providers[0] } : {}),
    providers,
    nodes,
    buckets,
    images,
    notes: [...new Set(notes)],
    specDigests,
    // Without GCP in this deployment, a later deployment of it binds these (no secret: accounts, role names,
    // principal ids); with it, they were handed over inside the program.
    ...(providers.includes('gcp') ? {} : { gatewayIdentities: pulumi.unsecret(pulumi.output(realizedIds)) }),
    // Only while data is kept: a destroy records them and the next deploy adopts them (adopt.ts).
    ...(inputs.retainData ? { kept: ctx.adopt.keptIds() } : {}),
  };
}

/**
 * A component whose nodes or buckets sit both on `provider: local` clouds and on clouds of this deployment cannot
 * work: local nodes listen on this machine's loopback, which no cloud node reaches, and the reverse.
 */
function checkLocalPeers(plan: Plan, providers: readonly CloudProvider[]): void {
  const isLocal = (cloud: string) => plan.clouds[cloud]?.provider === 'local';
  const inDeployment = (cloud: string) => providers.includes(plan.clouds[cloud]?.provider as CloudProvider);
  for (const [name, comp] of Object.entries(plan.components)) {
    const places = [...comp.nodes.map((n) => n.cloud), ...comp.buckets.map((b) => b.cloud)];
    const local = [...new Set(places.filter(isLocal))].sort();
    if (local.length === 0 || !places.some(inDeployment)) continue;
    throw new TcError(
      DeploymentCode.localPeers,
      `component ${name} has nodes or buckets on local cloud${local.length === 1 ? '' : 's'} ${local.join(', ')} and on ${providers.join(', ')} clouds: local nodes listen on this machine's loopback, which cloud nodes cannot reach`,
      {
        exit: ExitCode.invalid,
        hint: `a cloud deploy realizes components whose nodes and buckets are all on aws, azure or gcp clouds; give ${name} cloud clouds only (or \`tclouds deploy --target local\` to run the whole topology on this machine)`,
        location: { path: `components.${name}.clouds` },
      },
    );
  }
}

/** Every peer a node's spec names has an address: in this deployment, or recorded by another one. */
function checkPeerAddresses(
  plan: Plan,
  providers: readonly CloudProvider[],
  externalHosts: Record<string, string>,
): void {
  const inDeployment = (cloud: string) => providers.includes(plan.clouds[cloud]?.provider as CloudProvider);
  for (const [name, comp] of Object.entries(plan.components)) {
    if (!comp.nodes.some((n) => inDeployment(n.cloud))) continue;
    const missing = comp.nodes.filter((p) => !inDeployment(p.cloud) && !externalHosts[p.id]);
    if (missing.length === 0) continue;
    const others = [...new Set(missing.map((p) => plan.clouds[p.cloud]?.provider ?? p.cloud))].sort();
    throw new TcError(
      DeploymentCode.peerWithoutAddress,
      `component ${name}: ${missing.length} peer${missing.length === 1 ? '' : 's'} (${missing[0]!.id}${missing.length > 1 ? ', ...' : ''}) on ${others.join(', ')} would have no address in the specs of its ${providers.join(', ')} nodes`,
      {
        exit: ExitCode.invalid,
        hint: 'deploy every cloud provider of the topology in one deployment: `tclouds deploy --target clouds`',
        location: { path: `components.${name}.clouds` },
      },
    );
  }
}

function inTarget(model: RealizationModel, cloud: string): boolean {
  return model.clouds.some((c) => c.name === cloud);
}

/**
 * The node's NodeSpec from every peer's address: the private address in its own cloud, the static public address
 * (created in step one, whatever its provider) in other clouds of the deployment, another deployment's record
 * otherwise. Never an empty host: checked before the program runs (`checkPeerAddresses`).
 */
function specOf(
  plan: Plan,
  model: RealizationModel,
  inputs: ProgramInputs,
  publicIps: Map<string, pulumi.Output<string>>,
  nodeId: string,
): pulumi.Output<NodeSpec> {
  const me = model.nodes.get(nodeId)!;
  const comp = plan.components[me.node.component]!;
  const remote = comp.nodes.filter((p) => p.cloud !== me.cloud && publicIps.has(p.id));
  const remoteIps = pulumi.all(remote.map((p) => publicIps.get(p.id)!));
  return remoteIps.apply((ips) => {
    const ipOf = new Map(remote.map((p, i) => [p.id, ips[i]!] as const));
    const hostOf = (p: PlannedNode) => {
      const host =
        p.cloud === me.cloud ? model.nodes.get(p.id)!.privateIp : (ipOf.get(p.id) ?? inputs.externalHosts[p.id]);
      // What is already deployed (destroy's first update) keeps the spec it has, even one from before this check.
      if (!host && inputs.skipLimitChecks) return '';
      if (!host)
        throw new TcError(DeploymentCode.peerWithoutAddress, `the spec of ${nodeId} has no address for ${p.id}`, {
          exit: ExitCode.invalid,
          hint: 'deploy every cloud provider of the topology in one deployment: `tclouds deploy --target clouds`',
        });
      return host;
    };
    const spec = cloudNodeSpec(
      plan,
      me.node,
      me.privateIp,
      hostOf,
      inputs.keys.publicKeys,
      inputs.keys.signingPublicKeys,
      inputs.keys.controlTls[nodeId]?.sha256,
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

/**
 * The values of the node's secret store entries, each a Pulumi secret (never printed, never in user data). A
 * gateway's bucket credentials name, for each bucket of another provider, that bucket's record from this program
 * (`deployed`) or from another deployment's file.
 */
function nodeSecretsOf(
  plan: Plan,
  model: RealizationModel,
  inputs: ProgramInputs,
  known: { publicIps: Map<string, pulumi.Output<string>>; deployedBuckets: pulumi.Output<Record<string, unknown>> },
  nodeId: string,
  artifactLocator?: pulumi.Input<string>,
): NodeSecretValue[] {
  const me = model.nodes.get(nodeId)!;
  const component = me.node.component;
  const secretOf = (kind: NodeSecretKind): pulumi.Output<string> => {
    if (kind === 'software') {
      return pulumi
        .output(artifactLocator)
        .apply((locator) => `${JSON.stringify(softwareRecordOf(inputs.software, inputs.nodeRuntime, locator))}\n`);
    }
    if (kind === 'spec') return specOf(plan, model, inputs, known.publicIps, nodeId).apply(specText);
    if (kind === 'node-key') return pulumi.output(inputs.keys.privatePem[nodeId] ?? '');
    if (kind === 'admin-token') return pulumi.output(`${inputs.keys.adminTokens[nodeId] ?? ''}\n`);
    if (kind === 'control-tls') {
      const tls = inputs.keys.controlTls[nodeId];
      return pulumi.output(tls ? controlTlsFileText(tls) : '');
    }
    if (kind === 'writer-key') return pulumi.output(inputs.keys.writerPem[component] ?? '');
    return known.deployedBuckets.apply((deployed) => {
      const records = { ...inputs.externalBucketCredentials, ...deployed };
      return `${JSON.stringify(bucketCredentialsOf(plan, component, model.provider, records), null, 2)}\n`;
    });
  };
  return secretFilesOf(plan, me.node).map((f) => ({ ...f, value: pulumi.secret(secretOf(f.kind)) }));
}

/**
 * The node's user data from what the provider created for it: BootValues only, rendered by `renderCloudInit` (the
 * one renderer of the program and of the plan-time size check). Depends on the secret refs, never on the spec, a
 * key or the build (the software record is a secret).
 */
function userDataOf(inputs: ProgramInputs, provider: CloudProvider, nodeId: string, refs: NodeBootRefs) {
  const secretRefs = pulumi.all(refs.secrets.map((s) => pulumi.output(s.ref)));
  return secretRefs.apply((ids) =>
    renderCloudInit(
      bootValuesOf(nodeId, provider, inputs.nodeRuntime, {
        ...(refs.region ? { region: refs.region } : {}),
        secrets: refs.secrets.map((s, i) => ({ kind: s.kind, path: s.path, ref: ids[i]! })),
      }),
    ),
  );
}

/**
 * The user data a node of this plan will get, before any resource exists (the plan-time size check): its
 * BootValues with every provider id at the longest it can be (an AWS secret ARN: region, 12-digit account, the
 * secret's name and the 6 characters Secrets Manager appends).
 */
function userDataBeforeCreate(plan: Plan, model: RealizationModel, inputs: ProgramInputs, nodeId: string): string {
  const me = model.nodes.get(nodeId)!;
  const region = model.clouds.find((c) => c.name === me.cloud)?.region ?? '';
  const ref = (kind: NodeSecretKind) =>
    model.provider === 'aws'
      ? `arn:aws:secretsmanager:${region}:${'0'.repeat(AWS_ACCOUNT_DIGITS)}:secret:${awsSecretName(plan.stack, nodeId, kind)}-XXXXXX`
      : `${LONGEST_SECRET_REF_STEM}/${nodeId}-${kind}`;
  return renderCloudInit(
    bootValuesOf(nodeId, model.provider, inputs.nodeRuntime, {
      ...(model.provider === 'aws' ? { region } : {}),
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
