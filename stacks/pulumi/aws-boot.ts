/**
 * What an AWS VM boots from, and who may read it (@pulumi/aws 7.x: s3, iam, secretsmanager).
 *
 * - The artifact: one private bucket per stack and target (public access blocked, owner-enforced, SSE, TLS only)
 *   holding the packed node software under a content-addressed key. Its bucket policy lets exactly the stack's node
 *   roles `s3:GetObject` that one object ARN, and nothing else.
 * - One IAM role and instance profile per node (the instance role; IMDSv2 only on the VM).
 * - Per node, one Secrets Manager secret per boot secret (spec, node key, admin token; gateways: writer key, bucket
 *   credentials), named `tclouds/<stack>/<node>/<kind>`, with a resource policy allowing only that node's role to
 *   read it, and the role's own policy naming only its secrets (plus the artifact object and, for gateways, the
 *   component's buckets).
 */
import * as iam from '@pulumi/aws/iam/index.js';
import * as s3 from '@pulumi/aws/s3/index.js';
import * as secretsmanager from '@pulumi/aws/secretsmanager/index.js';
import * as pulumi from '@pulumi/pulumi';
import { componentBuckets, type ModelCloud, type ModelNode } from './model.js';
import { globalBucketName } from './names.js';
import { awsSecretName } from './node-boot.js';
import { type ArtifactFile, artifactObjectName, artifactOf, type ProgramEnv, stackHash } from './program-env.js';

const POLICY_VERSION = '2012-10-17';
/** Secrets are rebuilt from `<stackDir>/keys/` on every deploy: no recovery window, so a redeploy reuses the name. */
const SECRET_RECOVERY_DAYS = 0;
const BUCKET_HASH_CHARS = 10;

export interface AwsArtifact {
  bucket: s3.Bucket;
  key: string;
  /** `s3://BUCKET/KEY` (boot-refs.ts). */
  locator: pulumi.Output<string>;
  objectArn: pulumi.Output<string>;
}

export interface AwsNodeIdentity {
  role: iam.Role;
  profile: iam.InstanceProfile;
}

/** S3 bucket names: 3-63 lowercase letters, digits and hyphens, globally unique; derived from the stack. */
export function artifactBucketName(stack: string, suffix: string): string {
  const stem = stack
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 30)
    .replace(/^-+|-+$/g, '');
  return `tclouds-${stem || 'stack'}-artifact-${stackHash(`${stack}/${suffix}`, 'aws-artifact', BUCKET_HASH_CHARS)}`;
}

/** The stack's artifact bucket and object, in the first cloud's region; none when a published package is used. */
export function artifactStore(env: ProgramEnv): AwsArtifact | undefined {
  const file = artifactOf(env.inputs);
  const cloud = env.model.clouds[0];
  if (!file || !cloud) return undefined;
  const parent = env.cloudParent(cloud.name);
  const region = cloud.region;
  const name = artifactBucketName(env.plan.stack, env.inputs.nameSuffix);
  const bucket = new s3.Bucket('artifact', { bucket: name, region, forceDestroy: true, tags: env.tags() }, { parent });
  new s3.BucketPublicAccessBlock(
    'artifact-no-public',
    {
      bucket: bucket.id,
      region,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    { parent },
  );
  new s3.BucketOwnershipControls(
    'artifact-owner',
    { bucket: bucket.id, region, rule: { objectOwnership: 'BucketOwnerEnforced' } },
    { parent },
  );
  new s3.BucketServerSideEncryptionConfiguration(
    'artifact-sse',
    { bucket: bucket.id, region, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }] },
    { parent },
  );
  const key = artifactObjectName(file.sha256);
  artifactObject(bucket, key, file, region, parent, env);
  return {
    bucket,
    key,
    locator: pulumi.interpolate`s3://${bucket.bucket}/${key}`,
    objectArn: pulumi.interpolate`${bucket.arn}/${key}`,
  };
}

function artifactObject(
  bucket: s3.Bucket,
  key: string,
  file: ArtifactFile,
  region: string,
  parent: pulumi.Resource,
  env: ProgramEnv,
): s3.BucketObjectv2 {
  return new s3.BucketObjectv2(
    'artifact-object',
    {
      bucket: bucket.id,
      key,
      region,
      source: new pulumi.asset.FileAsset(file.path),
      contentType: 'application/gzip',
      // S3 checks the upload against this; the VM checks the download against the same value from its boot values.
      checksumAlgorithm: 'SHA256',
      metadata: { sha256: file.sha256 },
      tags: env.tags(),
    },
    { parent },
  );
}

/** Only the stack's node roles may read the artifact object, and only over TLS. */
export function artifactPolicy(env: ProgramEnv, artifact: AwsArtifact, roles: iam.Role[]): s3.BucketPolicy {
  const cloud = env.model.clouds[0]!;
  return new s3.BucketPolicy(
    'artifact-readers',
    {
      bucket: artifact.bucket.id,
      region: cloud.region,
      policy: pulumi
        .all([artifact.bucket.arn, artifact.objectArn, pulumi.all(roles.map((r) => r.arn))])
        .apply(([bucketArn, objectArn, arns]) =>
          JSON.stringify({
            Version: POLICY_VERSION,
            Statement: [
              {
                Sid: 'NodesReadTheArtifact',
                Effect: 'Allow',
                Principal: { AWS: [...arns].sort() },
                Action: 's3:GetObject',
                Resource: objectArn,
              },
              {
                Sid: 'DenyInsecureTransport',
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:*',
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              },
            ],
          }),
        ),
    },
    { parent: env.cloudParent(cloud.name) },
  );
}

/** The node's own role (assumable by EC2 only) and the instance profile that hands it to the VM. */
export function nodeIdentity(env: ProgramEnv, m: ModelNode, parent: pulumi.Resource): AwsNodeIdentity {
  const role = new iam.Role(
    `${m.node.id}-role`,
    {
      path: '/tclouds/',
      assumeRolePolicy: JSON.stringify({
        Version: POLICY_VERSION,
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
      tags: env.tags({ 'tclouds-node': m.node.id }),
    },
    { parent },
  );
  const profile = new iam.InstanceProfile(
    `${m.node.id}-profile`,
    { role: role.name, path: '/tclouds/', tags: env.tags({ 'tclouds-node': m.node.id }) },
    { parent },
  );
  return { role, profile };
}

/**
 * The node's secrets, each readable by its role alone, the role's policy (its secrets, the artifact object, and for
 * gateways the component's buckets), and its user data.
 */
export function nodeBoot(
  env: ProgramEnv,
  cloud: ModelCloud,
  m: ModelNode,
  identity: AwsNodeIdentity,
  artifact: AwsArtifact | undefined,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const region = cloud.region;
  const secrets = env.nodeSecrets(m.node.id, artifact?.locator).map((s) => {
    const secret = new secretsmanager.Secret(
      `${m.node.id}-${s.kind}`,
      {
        name: awsSecretName(env.plan.stack, m.node.id, s.kind),
        description: `tclouds ${m.node.id}: ${s.kind}`,
        region,
        recoveryWindowInDays: SECRET_RECOVERY_DAYS,
        tags: env.tags({ 'tclouds-node': m.node.id }),
      },
      { parent },
    );
    new secretsmanager.SecretVersion(
      `${m.node.id}-${s.kind}-value`,
      { secretId: secret.id, secretString: s.value, region },
      { parent },
    );
    new secretsmanager.SecretPolicy(
      `${m.node.id}-${s.kind}-reader`,
      {
        secretArn: secret.arn,
        region,
        blockPublicPolicy: true,
        policy: pulumi.all([identity.role.arn, secret.arn]).apply(([roleArn, arn]) =>
          JSON.stringify({
            Version: POLICY_VERSION,
            Statement: [
              {
                Sid: 'OnlyItsNode',
                Effect: 'Allow',
                Principal: { AWS: roleArn },
                Action: 'secretsmanager:GetSecretValue',
                Resource: arn,
              },
            ],
          }),
        ),
      },
      { parent },
    );
    return { kind: s.kind, path: s.path, secret };
  });
  const gateway = secrets.some((s) => s.kind === 'bucket-credentials');
  nodePolicy(
    env,
    m,
    { role: identity.role, gateway },
    secrets.map((s) => s.secret.arn),
    artifact,
    parent,
  );
  return env.userData(m.node.id, {
    region,
    secrets: secrets.map((s) => ({ kind: s.kind, path: s.path, ref: s.secret.arn })),
  });
}

/** The role's own policy: its secrets, the artifact object, and for gateways exactly the component's buckets. */
function nodePolicy(
  env: ProgramEnv,
  m: ModelNode,
  { role, gateway }: { role: iam.Role; gateway: boolean },
  secretArns: pulumi.Output<string>[],
  artifact: AwsArtifact | undefined,
  parent: pulumi.Resource,
): iam.RolePolicy {
  const buckets = componentBuckets(env.model, m.node.component).map((b) =>
    globalBucketName(b.name, env.inputs.nameSuffix),
  );
  return new iam.RolePolicy(
    `${m.node.id}-access`,
    {
      role: role.id,
      policy: pulumi
        .all([pulumi.all(secretArns), artifact ? artifact.objectArn : pulumi.output('')])
        .apply(([arns, objectArn]) =>
          JSON.stringify({
            Version: POLICY_VERSION,
            Statement: [
              { Sid: 'ItsSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: arns },
              ...(objectArn
                ? [{ Sid: 'TheArtifact', Effect: 'Allow', Action: 's3:GetObject', Resource: objectArn }]
                : []),
              ...(gateway && buckets.length > 0
                ? [
                    {
                      Sid: 'ComponentBuckets',
                      Effect: 'Allow',
                      Action: ['s3:ListBucket', 's3:GetBucketLocation'],
                      Resource: buckets.map((n) => `arn:aws:s3:::${n}`),
                    },
                    {
                      Sid: 'ComponentObjects',
                      Effect: 'Allow',
                      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
                      Resource: buckets.map((n) => `arn:aws:s3:::${n}/*`),
                    },
                  ]
                : []),
            ],
          }),
        ),
    },
    { parent },
  );
}
