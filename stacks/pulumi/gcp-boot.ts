/**
 * What a GCP VM boots from, and who may read it (@pulumi/gcp 9.x: serviceaccount, secretmanager, storage).
 *
 * - One service account per node, attached to its VM (never a service-account key: organisations refuse them).
 * - Per node, one Secret Manager secret (and its version) per boot secret, `tc-<stack>-<node>-<kind>`, with one
 *   secret-level binding: `roles/secretmanager.secretAccessor` for that node's service account.
 * - The artifact: a bucket of the stack (uniform bucket-level access, public access prevention enforced) holding only
 *   the packed node software, with `roles/storage.objectViewer` bound on that bucket for exactly the node service
 *   accounts (uniform access has no per-object grants; the bucket holds nothing else).
 */

import * as secretmanager from '@pulumi/gcp/secretmanager/index.js';
import * as serviceaccount from '@pulumi/gcp/serviceaccount/index.js';
import * as storage from '@pulumi/gcp/storage/index.js';
import * as pulumi from '@pulumi/pulumi';
import { type ModelCloud, type ModelNode, slug } from './model.js';
import { artifactObjectName, artifactOf, type ProgramEnv, stackHash } from './program-env.js';

const NAME_HASH_CHARS = 10;
const SECRET_ACCESSOR = 'roles/secretmanager.secretAccessor';
const OBJECT_VIEWER = 'roles/storage.objectViewer';

export interface GcpArtifact {
  bucket: storage.Bucket;
  locator: pulumi.Output<string>;
}

/** GCS bucket names: 3-63 lowercase letters, digits, hyphens; globally unique, derived from the stack. */
export function artifactBucketName(stack: string, suffix: string): string {
  const stem = slug(stack).slice(0, 30).replace(/-+$/, '');
  return `tclouds-${stem || 'stack'}-artifact-${stackHash(`${stack}/${suffix}`, 'gcp-artifact', NAME_HASH_CHARS)}`;
}

/** Service-account ids of nodes: 6-30 characters, `[a-z][-a-z0-9]*[a-z0-9]`; derived, so stable across runs. */
export function nodeAccountId(stack: string, nodeId: string): string {
  return `tcn-${stackHash(stack, `node/${nodeId}`, NAME_HASH_CHARS)}-${slug(nodeId).slice(0, 14).replace(/-+$/, '')}`
    .replace(/-+$/, '')
    .slice(0, 30);
}

/** The stack's artifact bucket and object, in the first cloud's region; none when a published package is used. */
export function artifactStore(env: ProgramEnv): GcpArtifact | undefined {
  const file = artifactOf(env.inputs);
  const cloud = env.model.clouds[0];
  if (!file || !cloud) return undefined;
  const parent = env.cloudParent(cloud.name);
  const bucket = new storage.Bucket(
    'artifact',
    {
      name: artifactBucketName(env.plan.stack, env.inputs.nameSuffix),
      location: cloud.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      forceDestroy: true,
      labels: env.tags(),
    },
    { parent },
  );
  const name = artifactObjectName(file.sha256);
  new storage.BucketObject(
    'artifact-object',
    {
      bucket: bucket.name,
      name,
      contentType: 'application/gzip',
      source: new pulumi.asset.FileAsset(file.path),
      metadata: { sha256: file.sha256 },
    },
    { parent },
  );
  return { bucket, locator: pulumi.interpolate`gs://${bucket.name}/${name}` };
}

/** Exactly the node service accounts may read the artifact bucket's objects. */
export function artifactReaders(
  env: ProgramEnv,
  artifact: GcpArtifact,
  accounts: Map<string, serviceaccount.Account>,
): void {
  const parent = env.cloudParent(env.model.clouds[0]!.name);
  for (const [nodeId, account] of accounts) {
    new storage.BucketIAMMember(
      `${nodeId}-artifact-reader`,
      {
        bucket: artifact.bucket.name,
        role: OBJECT_VIEWER,
        member: pulumi.interpolate`serviceAccount:${account.email}`,
      },
      { parent },
    );
  }
}

export function nodeIdentity(env: ProgramEnv, m: ModelNode, parent: pulumi.Resource): serviceaccount.Account {
  return new serviceaccount.Account(
    `${m.node.id}-identity`,
    { accountId: nodeAccountId(env.plan.stack, m.node.id), displayName: `tclouds node ${m.node.id}` },
    { parent },
  );
}

/** The node's secrets, each bound to its service account alone, and its user data. */
export function nodeBoot(
  env: ProgramEnv,
  _cloud: ModelCloud,
  m: ModelNode,
  on: { identity: serviceaccount.Account; artifact: GcpArtifact | undefined; parent: pulumi.Resource },
): pulumi.Output<string> {
  const member = pulumi.interpolate`serviceAccount:${on.identity.email}`;
  const secrets = env.nodeSecrets(m.node.id, on.artifact?.locator).map((s) => {
    const secret = new secretmanager.Secret(
      `${m.node.id}-${s.kind}`,
      {
        secretId: `tc-${slug(env.plan.stack)}-${m.node.id}-${s.kind}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 255),
        replication: { auto: {} },
        deletionProtection: false,
        labels: env.tags({ 'tclouds-node': m.node.id }),
      },
      { parent: on.parent },
    );
    new secretmanager.SecretVersion(
      `${m.node.id}-${s.kind}-value`,
      { secret: secret.id, secretData: s.value },
      { parent: on.parent },
    );
    new secretmanager.SecretIamMember(
      `${m.node.id}-${s.kind}-reader`,
      { secretId: secret.id, role: SECRET_ACCESSOR, member },
      { parent: on.parent },
    );
    // `projects/P/secrets/S`: the VM reads `.../versions/latest`, so a new version reaches it at the next start.
    return { kind: s.kind, path: s.path, ref: secret.name };
  });
  return env.userData(m.node.id, {
    secrets,
  });
}
