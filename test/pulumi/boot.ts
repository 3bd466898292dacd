/**
 * Boot checks shared by the per-provider test files: what each VM boots from (the artifact and its checksum, the
 * secret store entries named in its boot values) and who may read it, read from what the real program registered
 * with Pulumi's mock runtime.
 */
import { expect } from 'vitest';
import type { Plan } from '../../components/plan-types.js';
import { StorageGatewayConfigSchema } from '../../components/storage/config.js';
import { parseSoftwareRecord, type SoftwareRecord } from '../../runtime/cloud-boot/software.js';
import { NodeSpecSchema } from '../../runtime/spec-file.js';
import type { NodeSecretKind } from '../../stacks/pulumi/boot-refs.js';
import type { CloudProvider } from '../../stacks/pulumi/constructs.js';
import type { KeyMaterial } from '../../stacks/pulumi/keys.js';
import type { MockRun } from '../../stacks/pulumi/mock-preview.js';
import { bootValuesOfVm, byName, type Json, ofType, targetNodes, unwrap, VM_TYPE } from './graph.js';

const SECRET_TYPE: Record<CloudProvider, string> = {
  aws: 'aws:secretsmanager/secret:Secret',
  azure: 'azure-native:keyvault:Secret',
  gcp: 'gcp:secretmanager/secret:Secret',
};
const ARTIFACT_TYPE: Record<CloudProvider, string> = {
  aws: 'aws:s3/bucketObjectv2:BucketObjectv2',
  azure: 'azure-native:storage:Blob',
  gcp: 'gcp:storage/bucketObject:BucketObject',
};
/** Built-in Azure roles (by definition id). */
const KEY_VAULT_SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
const BLOB_DATA_READER = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1';

/** The principal of a node's identity as the mocks name it: role ARN, managed identity principal, SA member. */
export function principalOf(provider: CloudProvider, run: MockRun, nodeId: string): string {
  if (provider === 'aws') return `arn:aws:mock:::${nodeId}-role`;
  if (provider === 'azure') return `${nodeId}-identity-principal`;
  const sa = byName(run, 'gcp:serviceaccount/account:Account', `${nodeId}-identity`);
  return `serviceAccount:${sa.inputs.accountId}@mock.iam.gserviceaccount.com`;
}

/** The stored value of one node secret (tests only). */
/** A node's software record (its `software` secret), parsed as the VM parses it. */
export function softwareOf(provider: CloudProvider, run: MockRun, nodeId: string): SoftwareRecord {
  return parseSoftwareRecord(secretValue(provider, run, nodeId, 'software'));
}

export function secretValue(provider: CloudProvider, run: MockRun, nodeId: string, kind: NodeSecretKind): string {
  const name = `${nodeId}-${kind}`;
  if (provider === 'aws') {
    return unwrap(byName(run, 'aws:secretsmanager/secretVersion:SecretVersion', `${name}-value`).inputs.secretString);
  }
  if (provider === 'azure') return unwrap(byName(run, SECRET_TYPE.azure, name).inputs.properties).value;
  return unwrap(byName(run, 'gcp:secretmanager/secretVersion:SecretVersion', `${name}-value`).inputs.secretData);
}

/** Who may read one secret: the principals of its resource policy / role assignments / IAM bindings. */
function readersOfSecret(provider: CloudProvider, run: MockRun, nodeId: string, kind: NodeSecretKind): string[] {
  const name = `${nodeId}-${kind}`;
  if (provider === 'aws') {
    const policy = JSON.parse(
      String(byName(run, 'aws:secretsmanager/secretPolicy:SecretPolicy', `${name}-reader`).inputs.policy),
    );
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0]).toMatchObject({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue' });
    return [policy.Statement[0].Principal.AWS].flat();
  }
  if (provider === 'azure') {
    return ofType(run, 'azure-native:authorization:RoleAssignment')
      .filter((a) => a.inputs.scope === `${name}-id`)
      .map((a) => {
        expect(a.inputs.roleDefinitionId).toMatch(new RegExp(`/roleDefinitions/${KEY_VAULT_SECRETS_USER}$`));
        return a.inputs.principalId as string;
      });
  }
  return ofType(run, 'gcp:secretmanager/secretIamMember:SecretIamMember')
    .filter((b) => b.inputs.secretId === `${name}-id`)
    .map((b) => {
      expect(b.inputs.role).toBe('roles/secretmanager.secretAccessor');
      return b.inputs.member as string;
    });
}

/** Who may read the artifact object: bucket policy principals / container role assignments / bucket bindings. */
function artifactReaders(provider: CloudProvider, run: MockRun): string[] {
  if (provider === 'aws') {
    const policy = JSON.parse(
      String(byName(run, 'aws:s3/bucketPolicy:BucketPolicy', 'artifact-readers').inputs.policy),
    );
    const allows = policy.Statement.filter((s: Json) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    const object = byName(run, ARTIFACT_TYPE.aws, 'artifact-object').inputs.key as string;
    expect(allows[0]).toMatchObject({ Action: 's3:GetObject', Resource: `arn:aws:mock:::artifact/${object}` });
    expect(
      byName(run, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'artifact-no-public').inputs,
    ).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    return allows[0].Principal.AWS;
  }
  if (provider === 'azure') {
    expect(byName(run, 'azure-native:storage:BlobContainer', 'artifact-container').inputs.publicAccess).toBe('None');
    expect(byName(run, 'azure-native:storage:StorageAccount', 'artifact-account').inputs.allowBlobPublicAccess).toBe(
      false,
    );
    return ofType(run, 'azure-native:authorization:RoleAssignment')
      .filter((a) => a.inputs.scope === 'artifact-container-id')
      .map((a) => {
        expect(a.inputs.roleDefinitionId).toMatch(new RegExp(`/roleDefinitions/${BLOB_DATA_READER}$`));
        return a.inputs.principalId as string;
      });
  }
  const bucket = byName(run, 'gcp:storage/bucket:Bucket', 'artifact').inputs;
  expect(bucket).toMatchObject({ uniformBucketLevelAccess: true, publicAccessPrevention: 'enforced' });
  return ofType(run, 'gcp:storage/bucketIAMMember:BucketIAMMember')
    .filter((b) => b.name.endsWith('-artifact-reader'))
    .map((b) => {
      expect(b.inputs).toMatchObject({ role: 'roles/storage.objectViewer', bucket: bucket.name });
      return b.inputs.member as string;
    });
}

/**
 * The artifact exists with the test file's checksum in every VM's boot values; exactly the node identities may read
 * it; every node has its secrets (and gateways two more), each readable by its own identity alone, named in its boot
 * values; every node has its own admin token and its own control TLS key and certificate.
 */
export function checkBoot(plan: Plan, provider: CloudProvider, run: MockRun, keys: KeyMaterial, sha256: string): void {
  const nodes = targetNodes(plan, provider);
  const object = byName(run, ARTIFACT_TYPE[provider], 'artifact-object').inputs as Record<string, Json>;
  expect(object.metadata).toEqual({ sha256 });
  expect([...artifactReaders(provider, run)].sort()).toEqual(nodes.map((n) => principalOf(provider, run, n.id)).sort());
  const tokens = new Set<string>();
  for (const n of nodes) {
    const boot = bootValuesOfVm(provider, byName(run, VM_TYPE[provider], n.id));
    expect(boot).toMatchObject({ nodeId: n.id, provider });
    expect(softwareOf(provider, run, n.id)).toMatchObject({ version: 1, artifact: { sha256 } });
    const gateway = n.role === 'gateway';
    const kinds = boot.secrets.map((s) => s.kind);
    expect(kinds).toEqual([
      'spec',
      'node-key',
      'admin-token',
      'control-tls',
      ...(gateway ? (['writer-key', 'bucket-credentials'] as const) : []),
      'software',
    ]);
    for (const s of boot.secrets) {
      expect(readersOfSecret(provider, run, n.id, s.kind), `${n.id} ${s.kind}`).toEqual([
        principalOf(provider, run, n.id),
      ]);
      expect(ofType(run, SECRET_TYPE[provider]).some((r) => r.name === `${n.id}-${s.kind}`)).toBe(true);
    }
    if (provider === 'aws') {
      // The role's own policy names its secrets and no other node's.
      const own = JSON.parse(String(byName(run, 'aws:iam/rolePolicy:RolePolicy', `${n.id}-access`).inputs.policy));
      expect(own.Statement.find((x: Json) => x.Sid === 'ItsSecrets').Resource).toEqual(boot.secrets.map((x) => x.ref));
    }
    expect(secretValue(provider, run, n.id, 'node-key')).toBe(keys.privatePem[n.id]);
    const token = secretValue(provider, run, n.id, 'admin-token').trim();
    expect(token).toBe(keys.adminTokens[n.id]);
    tokens.add(token);
    const spec = JSON.parse(secretValue(provider, run, n.id, 'spec'));
    expect(spec).toMatchObject({ id: n.id, keyFile: '/run/tclouds/node.key' });
    // The control port's TLS: the node's own key and certificate, the one its spec names (and callers pin).
    const tls = keys.controlTls[n.id]!;
    expect(secretValue(provider, run, n.id, 'control-tls')).toBe(`${tls.keyPem.trimEnd()}\n${tls.certPem}`);
    expect(spec.controlTls).toEqual({ file: '/run/tclouds/control-tls.pem', sha256: tls.sha256 });
    // The spec loader of the node accepts it, and a gateway's config parses as the gateway parses it.
    const loaded = NodeSpecSchema.safeParse(spec);
    expect(loaded.success, `${n.id}: ${loaded.error?.message}`).toBe(true);
    if (gateway) expect(StorageGatewayConfigSchema.safeParse(spec.config).success).toBe(true);
    if (gateway) expect(secretValue(provider, run, n.id, 'writer-key')).toBe(keys.writerPem[n.component]);
  }
  expect(tokens.size).toBe(nodes.length);
}
