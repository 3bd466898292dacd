/**
 * What an Azure VM boots from, and who may read it (@pulumi/azure-native 3.x: managedidentity, keyvault, storage,
 * authorization).
 *
 * - One user-assigned managed identity per node: the VM's only identity.
 * - One Key Vault per cloud in RBAC mode (no access policies), holding per node one secret per boot secret
 *   (`<node>-<kind>`); each secret has one role assignment, "Key Vault Secrets User" scoped to that secret, for its
 *   node's identity.
 * - The artifact: a storage account of the stack with no public blob access, one private container holding the
 *   packed node software, and "Storage Blob Data Reader" for each node identity scoped to that container (Azure's
 *   narrowest role-assignment scope for blobs; the container holds nothing else).
 */
import * as authorization from '@pulumi/azure-native/authorization/index.js';
import * as keyvault from '@pulumi/azure-native/keyvault/index.js';
import * as managedidentity from '@pulumi/azure-native/managedidentity/index.js';
import type * as resources from '@pulumi/azure-native/resources/index.js';
import * as storage from '@pulumi/azure-native/storage/index.js';
import * as pulumi from '@pulumi/pulumi';
import type { ModelCloud, ModelNode } from './model.js';
import { artifactObjectName, artifactOf, type ProgramEnv, stackHash } from './program-env.js';

/** Built-in role "Key Vault Secrets User": read secret contents, nothing else. */
export const KEY_VAULT_SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
/** Built-in role "Storage Blob Data Reader": read blobs, nothing else. */
export const BLOB_DATA_READER = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1';
const ARTIFACT_CONTAINER = 'artifacts';
const NAME_HASH_CHARS = 16;
/** Deleted secrets stay recoverable this long (Azure's minimum): a mistaken destroy can be undone. */
const SOFT_DELETE_DAYS = 7;

export interface AzureArtifact {
  container: storage.BlobContainer;
  locator: string;
}

/** Key Vault names: 3-24 letters, digits and single hyphens, globally unique; derived from stack and cloud. */
/** A storage account nobody reads without an identity: no public blobs, TLS 1.2 only, encrypted twice at rest. */
export function privateStorageAccountArgs(
  accountName: string,
  rg: resources.ResourceGroup,
  location: string,
  tags: Record<string, string>,
): storage.StorageAccountArgs {
  return {
    accountName,
    resourceGroupName: rg.name,
    location,
    kind: 'StorageV2',
    sku: { name: 'Standard_LRS' },
    allowBlobPublicAccess: false,
    enableHttpsTrafficOnly: true,
    minimumTlsVersion: 'TLS1_2',
    encryption: {
      keySource: 'Microsoft.Storage',
      services: { blob: { enabled: true, keyType: 'Account' } },
      requireInfrastructureEncryption: true,
    },
    tags,
  };
}

export function vaultName(stack: string, suffix: string, cloud: string): string {
  return `tc-kv-${stackHash(`${stack}/${suffix}`, `vault/${cloud}`, NAME_HASH_CHARS)}`;
}

/** Storage account names: 3-24 lowercase letters and digits, globally unique. */
export function artifactAccountName(stack: string, suffix: string): string {
  return `tcart${stackHash(`${stack}/${suffix}`, 'azure-artifact', NAME_HASH_CHARS)}`;
}

function roleDefinition(role: string): pulumi.Output<string> {
  const subscription = authorization.getClientConfigOutput().subscriptionId;
  return pulumi.interpolate`/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${role}`;
}

/** The stack's artifact in the first cloud's resource group; none when a published package is used. */
export function artifactStore(env: ProgramEnv, rg: resources.ResourceGroup): AzureArtifact | undefined {
  const file = artifactOf(env.inputs);
  const cloud = env.model.clouds[0];
  if (!file || !cloud) return undefined;
  const parent = env.cloudParent(cloud.name);
  const accountName = artifactAccountName(env.plan.stack, env.inputs.nameSuffix);
  const account = new storage.StorageAccount(
    'artifact-account',
    privateStorageAccountArgs(accountName, rg, cloud.region, env.tags()),
    { parent },
  );
  const container = new storage.BlobContainer(
    'artifact-container',
    {
      accountName: account.name,
      resourceGroupName: rg.name,
      containerName: ARTIFACT_CONTAINER,
      publicAccess: 'None',
    },
    { parent },
  );
  const blobName = artifactObjectName(file.sha256);
  new storage.Blob(
    'artifact-object',
    {
      accountName: account.name,
      resourceGroupName: rg.name,
      containerName: container.name,
      blobName,
      type: 'Block',
      contentType: 'application/gzip',
      source: new pulumi.asset.FileAsset(file.path),
      metadata: { sha256: file.sha256 },
    },
    { parent },
  );
  return { container, locator: `https://${accountName}.blob.core.windows.net/${ARTIFACT_CONTAINER}/${blobName}` };
}

/** Each node identity may read the artifact container's blobs; nobody else gets a role there from us. */
export function artifactReaders(
  env: ProgramEnv,
  artifact: AzureArtifact,
  identities: Map<string, managedidentity.UserAssignedIdentity>,
): void {
  const parent = env.cloudParent(env.model.clouds[0]!.name);
  for (const [nodeId, identity] of identities) {
    new authorization.RoleAssignment(
      `${nodeId}-artifact-reader`,
      {
        principalId: identity.principalId,
        principalType: 'ServicePrincipal',
        roleDefinitionId: roleDefinition(BLOB_DATA_READER),
        scope: artifact.container.id,
      },
      { parent },
    );
  }
}

/** The Key Vault of one cloud: RBAC authorization, so every read is a role assignment we can scope to a secret. */
export function cloudVault(env: ProgramEnv, cloud: ModelCloud, rg: resources.ResourceGroup): keyvault.Vault {
  return new keyvault.Vault(
    `${cloud.name}-vault`,
    {
      vaultName: vaultName(env.plan.stack, env.inputs.nameSuffix, cloud.name),
      resourceGroupName: rg.name,
      location: cloud.region,
      properties: {
        tenantId: authorization.getClientConfigOutput().tenantId,
        sku: { family: 'A', name: 'standard' },
        enableRbacAuthorization: true,
        softDeleteRetentionInDays: SOFT_DELETE_DAYS,
      },
      tags: env.tags(),
    },
    { parent: env.cloudParent(cloud.name) },
  );
}

export function nodeIdentity(
  env: ProgramEnv,
  cloud: ModelCloud,
  m: ModelNode,
  rg: resources.ResourceGroup,
  parent: pulumi.Resource,
): managedidentity.UserAssignedIdentity {
  return new managedidentity.UserAssignedIdentity(
    `${m.node.id}-identity`,
    { resourceGroupName: rg.name, location: cloud.region, tags: env.tags({ 'tclouds-node': m.node.id }) },
    { parent },
  );
}

/** Key Vault secret names: 1-127 letters, digits and hyphens. */
function secretName(nodeId: string, kind: string): string {
  return `${nodeId}-${kind}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 127);
}

/** The node's secrets in its cloud's vault, each readable by its identity alone, and its user data. */
export function nodeBoot(
  env: ProgramEnv,
  cloud: ModelCloud,
  m: ModelNode,
  on: {
    rg: resources.ResourceGroup;
    vault: keyvault.Vault;
    identity: managedidentity.UserAssignedIdentity;
    artifact: AzureArtifact | undefined;
    parent: pulumi.Resource;
  },
): pulumi.Output<string> {
  const vault = vaultName(env.plan.stack, env.inputs.nameSuffix, cloud.name);
  const secrets = env.nodeSecrets(m.node.id, on.artifact?.locator).map((s) => {
    const name = secretName(m.node.id, s.kind);
    const secret = new keyvault.Secret(
      `${m.node.id}-${s.kind}`,
      {
        resourceGroupName: on.rg.name,
        vaultName: on.vault.name,
        secretName: name,
        properties: { value: s.value, contentType: s.kind },
        tags: env.tags({ 'tclouds-node': m.node.id }),
      },
      { parent: on.parent },
    );
    new authorization.RoleAssignment(
      `${m.node.id}-${s.kind}-reader`,
      {
        principalId: on.identity.principalId,
        principalType: 'ServicePrincipal',
        roleDefinitionId: roleDefinition(KEY_VAULT_SECRETS_USER),
        scope: secret.id,
      },
      { parent: on.parent },
    );
    // The data-plane id without a version: the VM always reads the latest value.
    return { kind: s.kind, path: s.path, ref: `https://${vault}.vault.azure.net/secrets/${name}` };
  });
  return env.userData(m.node.id, {
    secrets,
  });
}
