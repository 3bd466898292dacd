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
import { cloudNodeSpec, renderCloudInit } from './cloud-init.js';
import type { CloudProvider } from './constructs.js';
import { buildCloudModel, type ModelRule, type RealizationModel } from './model.js';
import { pinnedNodeRuntime } from './node-runtime.js';
import { type ProgramEnv, type ProgramInputs, type ProviderModule, TcCloud, TcComponent } from './program-env.js';

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
      userData: (nodeId) => userDataOf(plan, model, inputs, nodeId),
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
    // The spec of every node, as its secret store entry will hold it (a Pulumi secret: never in user data).
    const specs = Object.keys(result.nodes).map((id) => nodeSpecOf(plan, model, inputs, publicIps, id));
    const nodeSpecs = pulumi.secret(
      pulumi.all(specs).apply((xs) => Object.fromEntries(xs.map((x) => [x.id, x] as const))),
    );
    return { provider, nodes, buckets: result.buckets, notes: model.notes, nodeSpecs };
  };
}

function inTarget(model: RealizationModel, cloud: string): boolean {
  return model.clouds.some((c) => c.name === cloud);
}

function nodeSpecOf(
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
  return pulumi.all(remote.map((p) => publicIps.get(p.id)!)).apply((ips) => {
    const ipOf = new Map(remote.map((p, i) => [p.id, ips[i]!] as const));
    const hostOf = (p: PlannedNode) =>
      p.cloud === me.cloud ? model.nodes.get(p.id)!.privateIp : (ipOf.get(p.id) ?? inputs.externalHosts[p.id] ?? '');
    return cloudNodeSpec(plan, me.node, me.privateIp, hostOf, inputs.keys.publicKeys, inputs.keys.signingPublicKeys);
  });
}

function userDataOf(plan: Plan, model: RealizationModel, inputs: ProgramInputs, nodeId: string): pulumi.Output<string> {
  const me = model.nodes.get(nodeId)!;
  const cloud = plan.clouds[me.cloud]!;
  // User data holds nothing secret any more: the node reads its spec, key and admin token from the provider's
  // secret store (none are wired here yet, so the VM installs the software and waits for them).
  return pulumi.secret(
    renderCloudInit({
      nodeId,
      provider: cloud.provider as CloudProvider,
      ...(cloud.region ? { region: cloud.region } : {}),
      software: { packageSpec: inputs.packageSpec },
      nodeRuntime: pinnedNodeRuntime(),
      secrets: [],
    }),
  );
}

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
