/**
 * The files a local deployment is made of: every node's spec (what `tclouds node run` reads), and the outputs
 * clients, status and chaos read (outputs.json). Specs carry paths of 0600 key files, never a key.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { kindOf } from '../../components/kinds.js';
import { auditTargetOf, isProducerKey } from '../../components/log/audit-plan.js';
import type { ComponentPlan, Plan, PlannedNode } from '../../components/plan-types.js';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import {
  type ComponentOutput,
  type DeploymentOutputs,
  NODE_SPEC_VERSION,
  type NodeSpec,
  OUTPUTS_VERSION,
} from '../../runtime/node-spec.js';
import { readOutputsFile } from '../../runtime/outputs-file.js';
import {
  hasSigningKey,
  keyFileOf,
  readPlannedPublicKey,
  readSigningPublicKey,
  signingKeyFileOf,
} from '../plan-keys.js';
import type { RealizeContext } from '../realizer.js';
import type { LocalDesign } from './design.js';
import { stackPaths } from './paths.js';

/**
 * Public keys of the planned keys that exist already, and the signing public keys of the SMR clients whose signing
 * keys exist (preview: nothing is created).
 */
export async function existingKeys(
  plan: Plan,
  stackDir: string,
): Promise<{ publicKeys: Map<string, string>; signingKeys: Map<string, string> }> {
  const publicKeys = new Map<string, string>();
  const signingKeys = new Map<string, string>();
  for (const c of Object.values(plan.components)) {
    for (const k of c.keys) {
      const pub = await readPlannedPublicKey(stackDir, k).catch(() => undefined);
      if (pub) publicKeys.set(k.id, pub);
      if (!hasSigningKey(k, c.kind)) continue;
      const signing = await readSigningPublicKey(stackDir, k).catch(() => undefined);
      if (signing) signingKeys.set(k.id, signing);
    }
  }
  return { publicKeys, signingKeys };
}

export async function buildSpecs(
  plan: Plan,
  ctx: RealizeContext,
  d: LocalDesign,
  publicKeys: Map<string, string>,
  signingKeys: Map<string, string>,
): Promise<Map<string, NodeSpec>> {
  const p = stackPaths(ctx.stackDir);
  const specs = new Map<string, NodeSpec>();
  for (const [component, c] of Object.entries(plan.components)) {
    const peerOf = (n: PlannedNode) => ({
      id: n.id,
      role: n.role,
      index: n.index,
      host: d.addresses.get(n.id) as string,
      ports: { ...n.ports },
      publicKey: publicKeys.get(n.id) ?? '',
    });
    const clients: Record<string, string> = {};
    const clientSigners: Record<string, string> = {};
    for (const k of c.keys) {
      if (k.kind === 'client' && publicKeys.has(k.id)) clients[k.id] = publicKeys.get(k.id) as string;
      if (hasSigningKey(k, c.kind) && signingKeys.has(k.id)) clientSigners[k.id] = signingKeys.get(k.id) as string;
    }
    for (const n of c.nodes) {
      const auditLog = auditTargetOf(plan.components, c, n, {
        hostOf: (id) => d.addresses.get(id) as string,
        publicKeyOf: (id) => publicKeys.get(id) ?? '',
        keyFileOf: (k) => keyFileOf(ctx.stackDir, k),
      });
      specs.set(n.id, {
        version: NODE_SPEC_VERSION,
        stack: plan.stack,
        component,
        kind: c.kind,
        role: n.role,
        id: n.id,
        index: n.index,
        cloud: n.cloud,
        domain: n.domain,
        host: d.addresses.get(n.id) as string,
        ports: { ...n.ports },
        controlPort: n.controlPort,
        peers: c.nodes.filter((o) => o.id !== n.id).map(peerOf),
        clients,
        ...(c.kind === 'smr' ? { clientSigners } : {}),
        dataDir: p.dataDir(n.id),
        keyFile: p.key(n.id),
        publicKey: publicKeys.get(n.id) ?? '',
        config: { ...localConfig(n.config, ctx), ...bucketConfig(c, d, component), ...faultConfig(c) },
        adminTokenFile: p.adminToken,
        ...(auditLog ? { auditLog } : {}),
      });
    }
  }
  return specs;
}

/**
 * A user service module (SMR `service: ./svc.js`) is relative to the topology file in the plan; node processes
 * run elsewhere, so their spec gets the absolute path.
 */
function localConfig(config: Record<string, unknown>, ctx: RealizeContext): Record<string, unknown> {
  const service = config.service;
  if (typeof service !== 'string' || service === 'kv' || service === 'noop') return { ...config };
  return { ...config, service: path.resolve(path.dirname(ctx.topologyFile), service) };
}

/**
 * Local deployments are rehearsals: every node of a kind with misbehaviour modes gets its fault switch (POST
 * /admin/fault, guarded by the stack's admin token), so `tclouds chaos byzantine` works without a topology change.
 * Cloud realizers never add it; there only the plan does, when the topology asks.
 */
function faultConfig(c: ComponentPlan): Record<string, unknown> {
  return (kindOf(c.kind)?.chaos.faultModes.length ?? 0) > 0 ? { faultInjection: true } : {};
}

/** Gateways on the local target get the absolute directories of their buckets. */
function bucketConfig(c: ComponentPlan, d: LocalDesign, component: string): Record<string, unknown> {
  if (c.buckets.length === 0) return {};
  return {
    bucketPaths: Object.fromEntries(d.buckets.filter((b) => b.component === component).map((b) => [b.cloud, b.path])),
  };
}

export function specHash(spec: NodeSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}

export function buildOutputs(
  plan: Plan,
  ctx: RealizeContext,
  d: LocalDesign,
  specs: Map<string, NodeSpec>,
  publicKeys: Map<string, string>,
  signingKeys: Map<string, string>,
  digest: string,
): DeploymentOutputs {
  const components: Record<string, ComponentOutput> = {};
  for (const [name, c] of Object.entries(plan.components)) {
    const clientKeys: ComponentOutput['clientKeys'] = {};
    for (const k of c.keys) {
      // A node's producer key is that node's alone: the outputs name no path to it.
      if (k.kind === 'node' || isProducerKey(k)) continue;
      clientKeys[k.id] = { keyFile: keyFileOf(ctx.stackDir, k), publicKey: publicKeys.get(k.id) ?? '' };
      const signing = signingKeys.get(k.id);
      if (hasSigningKey(k, c.kind) && signing) {
        // The signing key's path only (0600 file); the secret itself never enters outputs.json.
        clientKeys[k.id] = {
          ...clientKeys[k.id]!,
          signingKeyFile: signingKeyFileOf(ctx.stackDir, k),
          signingPublicKey: signing,
        };
      }
    }
    components[name] = {
      kind: c.kind,
      nodes: c.nodes.map((n) => {
        const s = specs.get(n.id) as NodeSpec;
        return {
          id: n.id,
          role: n.role,
          index: n.index,
          host: s.host,
          ports: { ...n.ports },
          publicKey: s.publicKey,
          cloud: n.cloud,
          domain: n.domain,
          controlPort: n.controlPort,
        };
      }),
      buckets: d.buckets
        .filter((b) => b.component === name)
        .map((b) => ({ cloud: b.cloud, provider: 'local' as const, name: b.name, path: b.path })),
      client: c.client,
      clientKeys,
    };
  }
  return {
    version: OUTPUTS_VERSION,
    stack: plan.stack,
    target: 'local',
    topologyFile: ctx.topologyFile,
    planDigest: digest,
    deployedAt: new Date().toISOString(),
    components,
  };
}

/** The stack's outputs.json; null when absent, TC501 when damaged (runtime/outputs-file.ts). */
export async function readOutputs(stackDir: string): Promise<DeploymentOutputs | null> {
  return readOutputsFile(stackPaths(stackDir).outputs);
}

export async function writeFileIfChanged(file: string, text: string): Promise<void> {
  const now = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (now !== text) await writeFileAtomic(file, text);
}
