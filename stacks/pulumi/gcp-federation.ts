/**
 * GCP workload identity federation for the gateways on other providers (@pulumi/gcp iam submodule): AWS and Azure
 * gateways that write GCP buckets reach them with their own VM identity, exchanged at Google's STS; no
 * service-account key exists (organisation policies refuse them).
 *
 * Per stack, when a gateway outside GCP writes a GCP bucket of this target: one workload identity pool; per foreign
 * provider one pool provider, its attribute condition admitting exactly the gateways' identities (AWS: the role of
 * each gateway, in the account of the AWS target; Azure: the managed identity of each gateway, in its tenant); per
 * gateway and bucket one bucket-level binding of the principal the provider maps that identity to. The pool
 * providers' audiences go into the buckets' records (the gateways read them from their `bucket-credentials` secret).
 *
 * The identities come from the AWS and Azure parts of the same program (`env.gatewayIdentities`, realized before
 * GCP: values still to come, so the subjects, the attribute condition and the bindings are built from Outputs), or,
 * for gateways of a provider outside this deployment, from that deployment's record
 * (`inputs.externalGatewayIdentities`). A gateway known to neither gets no binding (a plan note says so).
 */
import * as iam from '@pulumi/gcp/iam/index.js';
import * as storage from '@pulumi/gcp/storage/index.js';
import * as pulumi from '@pulumi/pulumi';
import { componentBuckets } from './model.js';
import { type ForeignGatewayIdentity, foreignGateways } from './node-boot.js';
import type { ProgramEnv } from './program-env.js';

/** The audience Azure AD issues for token exchange with another provider (Microsoft's documented value). */
export const AZURE_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
/** The same object role the GCP gateways' own service accounts get on their buckets. */
export const FEDERATED_BUCKET_ROLE = 'roles/storage.objectAdmin';
/** Pool and provider ids: 4-32 lowercase letters, digits and dashes, starting with a letter. */
const POOL_ID_MAX = 32;
export const PROVIDER_IDS = { aws: 'tc-aws', azure: 'tc-azure' } as const;
/**
 * Google's documented mapping of an AWS caller to its role: `arn:aws:sts::<account>:assumed-role/<role>` (the
 * session name, the instance id, dropped), so one subject per gateway role whatever instance holds it.
 */
export const AWS_ROLE_SUBJECT =
  "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn";

/** The pool id of a stack: `tc-<stack>-<suffix>`, cut to the limit (deleted ids stay taken for 30 days). */
export function poolId(stack: string, suffix: string): string {
  const tail = suffix ? `-${suffix}` : '';
  const head = `tc-${stack.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, POOL_ID_MAX - tail.length);
  return `${head.replace(/-+$/, '')}${tail}`;
}

/** The subject the pool maps a gateway's identity to (the attribute mapping above and `assertion.sub`). */
export function federatedSubject(id: ForeignGatewayIdentity): string {
  return id.provider === 'aws' ? `arn:aws:sts::${id.accountId}:assumed-role/${id.roleName}` : id.principalId;
}

function celList(values: string[]): string {
  return `[${values.map((v) => `'${v.replace(/[\\']/g, '')}'`).join(', ')}]`;
}

/** Audiences of the pool providers, by foreign provider (what a gateway sends to STS). */
export type FederationAudiences = Partial<Record<'aws' | 'azure', pulumi.Output<string>>>;

/** A foreign gateway whose identity this program knows: its provider (from the plan) and the identity to come. */
interface KnownGateway {
  provider: 'aws' | 'azure';
  value: pulumi.Input<ForeignGatewayIdentity>;
}

/** The gateways' identities this program can bind: realized here (Outputs) or recorded by another deployment. */
function knownIdentities(env: ProgramEnv): Record<string, KnownGateway> {
  const out: Record<string, KnownGateway> = {};
  for (const [id, v] of Object.entries(env.inputs.externalGatewayIdentities ?? {}))
    out[id] = { provider: v.provider, value: v };
  for (const g of foreignGateways(env.plan, 'gcp', {})) {
    const v = env.gatewayIdentities[g.nodeId];
    if (v) out[g.nodeId] = { provider: g.provider, value: v };
  }
  return out;
}

/**
 * The pool, its providers and the bucket bindings for the foreign gateways of this program's GCP buckets.
 * Returns the audiences (none when no foreign gateway writes a GCP bucket, or none of them is known).
 */
export function federation(env: ProgramEnv, bucketNames: Map<string, pulumi.Input<string>>): FederationAudiences {
  const known = foreignGateways(env.plan, 'gcp', knownIdentities(env)).filter(
    (g) => g.identity !== undefined && componentBuckets(env.model, g.component).length > 0,
  );
  if (known.length === 0) return {};
  const pool = new iam.WorkloadIdentityPool('gateway-pool', {
    workloadIdentityPoolId: poolId(env.plan.stack, env.inputs.nameSuffix),
    displayName: `tclouds ${env.plan.stack}`.slice(0, 32),
    description: 'tclouds storage gateways on other clouds (their VM identities, no keys)',
  });
  const audiences: FederationAudiences = {};
  for (const provider of ['aws', 'azure'] as const) {
    const ids = known.flatMap((g) => (g.identity?.provider === provider ? [pulumi.output(g.identity.value)] : []));
    if (ids.length === 0) continue;
    const p = poolProvider(provider, ids, pool);
    audiences[provider] = pulumi.interpolate`//iam.googleapis.com/${p.name}`;
  }
  for (const g of known) {
    const subject = pulumi.output(g.identity!.value).apply(federatedSubject);
    for (const b of componentBuckets(env.model, g.component)) {
      new storage.BucketIAMMember(
        `${b.name}-${g.nodeId}-federated`,
        {
          bucket: bucketNames.get(b.name)!,
          role: FEDERATED_BUCKET_ROLE,
          member: pulumi.interpolate`principal://iam.googleapis.com/${pool.name}/subject/${subject}`,
        },
        { parent: env.component(g.component) },
      );
    }
  }
  return audiences;
}

/**
 * The pool provider of one foreign provider, admitting exactly `ids` (AWS: the account of the first, every
 * gateway role of it; Azure: the tenant's issuer, every gateway's principal id).
 */
function poolProvider(
  provider: 'aws' | 'azure',
  ids: pulumi.Output<ForeignGatewayIdentity>[],
  pool: iam.WorkloadIdentityPool,
): iam.WorkloadIdentityPoolProvider {
  const all = pulumi.all(ids);
  const condition = all.apply((xs) => `google.subject in ${celList([...new Set(xs.map(federatedSubject))].sort())}`);
  const first = ids[0]!;
  return new iam.WorkloadIdentityPoolProvider(
    `gateway-pool-${provider}`,
    {
      workloadIdentityPoolId: pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: PROVIDER_IDS[provider],
      attributeMapping: { 'google.subject': provider === 'aws' ? AWS_ROLE_SUBJECT : 'assertion.sub' },
      attributeCondition: condition,
      ...(provider === 'aws'
        ? { aws: { accountId: first.apply((f) => (f.provider === 'aws' ? f.accountId : '')) } }
        : {
            oidc: {
              issuerUri: first.apply((f) => (f.provider === 'azure' ? `https://sts.windows.net/${f.tenantId}/` : '')),
              allowedAudiences: [AZURE_EXCHANGE_AUDIENCE],
            },
          }),
    },
    { parent: pool },
  );
}
