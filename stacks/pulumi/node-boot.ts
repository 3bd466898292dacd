/**
 * What a cloud node is given, split by who may see it. Pure: no Pulumi import, no I/O.
 *
 * - `bootValuesOf`: the node's BootValues (boot-refs.ts), the only thing its user data carries: the secret store
 *   entries and the runtime of its first boot; never a value that changes with the spec or the build, so neither
 *   changes user data.
 * - `secretFilesOf`: which secrets the node fetches and where each lands on the VM: spec, node key, its own admin
 *   token, its control port's TLS key and certificate, for storage gateways the writer key and the credentials of
 *   the buckets it writes to, and its software record (`softwareRecordOf`: the artifact locator and SHA-256 or the
 *   published package, and the pinned Node runtime), which the VM installs before every start. Being a secret of
 *   the node, a new build changes the node's digest (spec-digests.ts) and is rolled like a new spec.
 * - `gatewayCredentialConfig`: how a gateway reaches each of its buckets (the provider identity of its own VM for
 *   buckets of its target; a credentials file from the secret store for buckets of other targets; federation for GCP
 *   buckets from AWS and Azure), written into
 *   the gateway's spec config beside the Azure account names the drivers need.
 */
import type { Plan, PlannedNode } from '../../components/plan-types.js';
import type {
  BucketCredentialEntry,
  BucketCredentialsFile,
  CredentialSource,
} from '../../components/storage/cloud-credentials/source.js';
import type { BootValues, NodeRuntimeRef, NodeSecretKind, NodeSecretRef, SoftwareRecord } from './boot-refs.js';
import { SECRET_PATHS } from './cloud-init.js';
import type { CloudProvider } from './constructs.js';
import { containerName, globalBucketName, storageAccountName } from './names.js';
import type { SoftwareInput } from './program-env.js';

/** How a gateway reaches each bucket, and its `bucket-credentials` secret: shapes the storage gateway reads. */
export type { BucketCredentialEntry, CredentialSource };

/**
 * The secrets one node fetches at boot, in a fixed order (the software record last). Gateways (nodes that write
 * buckets) get two more.
 */
export function secretFilesOf(plan: Plan, node: PlannedNode): { kind: NodeSecretKind; path: string }[] {
  const files: { kind: NodeSecretKind; path: string }[] = [
    { kind: 'spec', path: SECRET_PATHS.spec },
    { kind: 'node-key', path: SECRET_PATHS['node-key'] },
    { kind: 'admin-token', path: SECRET_PATHS['admin-token'] },
    { kind: 'control-tls', path: SECRET_PATHS['control-tls'] },
  ];
  if (isGateway(plan, node)) {
    files.push({ kind: 'writer-key', path: SECRET_PATHS['writer-key'] });
    files.push({ kind: 'bucket-credentials', path: SECRET_PATHS['bucket-credentials'] });
  }
  files.push({ kind: 'software', path: SECRET_PATHS.software });
  return files;
}

/** The AWS Secrets Manager name of one of a node's secrets (unique per account and region). */
export function awsSecretName(stack: string, nodeId: string, kind: NodeSecretKind): string {
  return `tclouds/${stack}/${nodeId}/${kind}`;
}

/** A node that writes its component's buckets: a storage gateway (its config names the buckets). */
export function isGateway(plan: Plan, node: PlannedNode): boolean {
  const comp = plan.components[node.component]!;
  return comp.buckets.length > 0 && typeof node.config.buckets === 'object' && node.config.buckets !== null;
}

/** The secret store entries of a node, resolved (refs are provider ids: ARN, Key Vault secret id, GCP name). */
export interface ResolvedBootRefs {
  region?: string;
  secrets: NodeSecretRef[];
}

/** The BootValues of one node: no software in them (that is the `software` secret). */
export function bootValuesOf(
  nodeId: string,
  provider: CloudProvider,
  nodeRuntime: NodeRuntimeRef,
  refs: ResolvedBootRefs,
): BootValues {
  return {
    nodeId,
    provider,
    ...(refs.region ? { region: refs.region } : {}),
    nodeRuntime,
    secrets: refs.secrets.map((s) => ({ kind: s.kind, ref: s.ref, path: s.path })),
  };
}

/**
 * A gateway's VM identity, for the GCP part's federation (gcp-federation.ts): handed over inside the program, or
 * recorded by a deployment without GCP. AWS, the account and the name of the node's role; Azure, the tenant and the principal (object) id of its
 * managed identity.
 */
export type ForeignGatewayIdentity =
  | { provider: 'aws'; accountId: string; roleName: string }
  | { provider: 'azure'; tenantId: string; principalId: string };

/**
 * The gateways outside `target` that write a bucket of `target`, with their identity when it is known (`identities`
 * by node id: a record of another deployment, or what this program realizes, whose value is still to come; an
 * identity of the wrong provider counts as unknown).
 */
export function foreignGateways<I extends { provider: 'aws' | 'azure' } = ForeignGatewayIdentity>(
  plan: Plan,
  target: CloudProvider,
  identities: Record<string, I>,
): { nodeId: string; component: string; provider: 'aws' | 'azure'; identity?: I }[] {
  const out: { nodeId: string; component: string; provider: 'aws' | 'azure'; identity?: I }[] = [];
  for (const [name, comp] of Object.entries(plan.components)) {
    if (!comp.buckets.some((b) => plan.clouds[b.cloud]?.provider === target)) continue;
    for (const n of comp.nodes) {
      const p = plan.clouds[n.cloud]?.provider;
      if ((p !== 'aws' && p !== 'azure') || p === target || !isGateway(plan, n)) continue;
      const identity = identities[n.id];
      out.push({ nodeId: n.id, component: name, provider: p, ...(identity?.provider === p ? { identity } : {}) });
    }
  }
  return out;
}

/** A gateway outside GCP that writes a GCP bucket: its provider hands its identity to the GCP part (federation). */
export function needsFederation(plan: Plan, node: PlannedNode): boolean {
  const own = plan.clouds[node.cloud]?.provider;
  if (own === 'gcp' || !isGateway(plan, node)) return false;
  return plan.components[node.component]!.buckets.some((b) => plan.clouds[b.cloud]?.provider === 'gcp');
}

/**
 * The software record of a node (its `software` secret). Throws if the software is an artifact and no locator
 * was given (the provider names its artifact object).
 */
export function softwareRecordOf(
  software: SoftwareInput,
  nodeRuntime: NodeRuntimeRef,
  artifactLocator: string | undefined,
): SoftwareRecord {
  if ('artifact' in software) {
    if (!artifactLocator) throw new Error('software record: the artifact has no locator');
    return { version: 1, artifact: { locator: artifactLocator, sha256: software.artifact.sha256 }, nodeRuntime };
  }
  return { version: 1, package: software.packageSpec, nodeRuntime };
}

const IDENTITY_SOURCE: Record<CloudProvider, CredentialSource> = {
  aws: { source: 'aws-instance-role' },
  azure: { source: 'azure-managed-identity' },
  gcp: { source: 'gcp-service-account' },
};

/**
 * The spec config a gateway on `provider` needs besides the plan's: per cloud, the credential source, the bucket's
 * name in that cloud (the plan's name with the stack's name suffix; on Azure the container), and for Azure clouds
 * the storage account that holds the container (the drivers build the account URL from it). One suffix per stack
 * for every target, so a gateway knows the names of buckets other targets create.
 */
export function gatewayCredentialConfig(
  plan: Plan,
  component: string,
  provider: CloudProvider,
  nameSuffix: string,
): {
  credentials: Record<string, CredentialSource>;
  accounts: Record<string, string>;
  buckets: Record<string, string>;
  writerKeyFile: string;
} {
  const credentials: Record<string, CredentialSource> = {};
  const accounts: Record<string, string> = {};
  const buckets: Record<string, string> = {};
  for (const b of plan.components[component]!.buckets) {
    const p = plan.clouds[b.cloud]?.provider;
    if (p !== 'aws' && p !== 'azure' && p !== 'gcp') continue;
    const file = SECRET_PATHS['bucket-credentials'];
    // GCP buckets from AWS and Azure: the VM's identity through the stack's workload identity pool (no key); the
    // pool provider's audience arrives in the bucket's record.
    credentials[b.cloud] =
      p === provider
        ? IDENTITY_SOURCE[p]
        : p === 'gcp' && provider !== 'gcp'
          ? { source: 'federated', identity: provider, file }
          : { source: 'file', file };
    if (p === 'azure') {
      accounts[b.cloud] = storageAccountName(plan.stack, b.cloud, b.name, nameSuffix);
      buckets[b.cloud] = containerName(b.name);
    } else {
      buckets[b.cloud] = globalBucketName(b.name, nameSuffix);
    }
  }
  // The writer key arrives as a secret at its own path (not next to the node key, where the gateway looks by default).
  return { credentials, accounts, buckets, writerKeyFile: SECRET_PATHS['writer-key'] };
}

/**
 * The `bucket-credentials` secret of a gateway: identity for buckets of its own target, the other targets' records
 * for theirs. `missing` names buckets whose target has not been deployed yet (a later deploy of this target fills
 * them in: only this secret changes, no VM is replaced).
 */
export function bucketCredentialsOf(
  plan: Plan,
  component: string,
  provider: CloudProvider,
  external: Record<string, unknown>,
): BucketCredentialsFile {
  const clouds: Record<string, BucketCredentialEntry> = {};
  for (const b of plan.components[component]!.buckets) {
    const p = plan.clouds[b.cloud]?.provider;
    if (p !== 'aws' && p !== 'azure' && p !== 'gcp') continue;
    const record = external[`${b.cloud}/${b.name}`];
    clouds[b.cloud] =
      p === provider
        ? { provider: p, bucket: b.name, source: 'identity' }
        : record === undefined
          ? { provider: p, bucket: b.name, source: 'missing' }
          : { provider: p, bucket: b.name, source: 'credentials', credentials: record };
  }
  return { version: 1, clouds };
}

/**
 * Plan notes about what the VMs boot from: the software (with its full checksum) and who may read it, and the
 * gateways that cannot reach a bucket yet because its target (or, for GCP buckets, theirs) has not been deployed.
 */
export function bootNotes(
  plan: Plan,
  provider: CloudProvider,
  nodeCount: number,
  software: SoftwareInput,
  external: Record<string, unknown>,
  identities: Record<string, { provider: 'aws' | 'azure' }> = {},
): string[] {
  const notes = [
    'artifact' in software
      ? `node software: this build, sha256 ${software.artifact.sha256}, readable only by the ${nodeCount} node identities of this target`
      : `node software: the published package ${software.packageSpec} (--node-package)`,
  ];
  for (const [name, comp] of Object.entries(plan.components)) {
    if (!comp.nodes.some((n) => plan.clouds[n.cloud]?.provider === provider && isGateway(plan, n))) continue;
    const clouds = bucketCredentialsOf(plan, name, provider, external).clouds;
    for (const [cloud, entry] of Object.entries(clouds)) {
      if (entry.source !== 'missing') continue;
      // GCP buckets: the GCP part binds the gateways' identities; in one deployment with it, one pass does it all.
      if (entry.provider === 'gcp') {
        notes.push(
          `gateways of ${name} on ${provider} reach ${cloud} by workload identity federation only when the GCP clouds are deployed after them; \`deploy --target clouds\` realizes both in one pass`,
        );
        continue;
      }
      notes.push(
        `gateways of ${name} cannot reach ${cloud} until \`deploy --target ${entry.provider}\` has run; deploy this target again then (only their secrets change)`,
      );
    }
  }
  if (provider === 'gcp') {
    for (const g of foreignGateways(plan, 'gcp', identities)) {
      if (g.identity) continue;
      notes.push(
        `gateway ${g.nodeId} on ${g.provider} gets no access to the GCP buckets of ${g.component}: ${g.provider} is not in this deployment and no deployment of it recorded the gateway's identity; \`deploy --target clouds\` realizes both in one pass`,
      );
    }
  }
  return notes;
}
