/**
 * Workload identity federation under Pulumi's mock runtime: the GCP program of a topology whose storage gateways sit
 * on AWS and Azure creates one pool, a provider per foreign provider admitting exactly those gateways, a binding per
 * gateway and GCP bucket, and records the audiences (no key) for the gateways. In one program over all three
 * providers (`--target clouds`) the AWS and Azure parts hand their gateways' identities to the GCP part and the
 * audiences reach the gateways in the same pass; programs without GCP record the identities for a later one.
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../components/plan-types.js';
import {
  AWS_ROLE_SUBJECT,
  AZURE_EXCHANGE_AUDIENCE,
  federatedSubject,
  poolId,
} from '../../stacks/pulumi/gcp-federation.js';
import { runUnderMocks } from '../../stacks/pulumi/mock-preview.js';
import { type ForeignGatewayIdentity, isGateway } from '../../stacks/pulumi/node-boot.js';
import { createDeploymentProgram, loadProviders, planProviders } from '../../stacks/pulumi/program.js';
import { renderTopology } from '../../topology/templates.js';
import { secretValue } from './boot.js';
import { ofType, runPlan, testInputs } from './graph.js';
import { compileText } from './plans.js';

async function mixedPlan(): Promise<Plan> {
  return compileText(renderTopology({ mode: 'mediator', providers: ['aws', 'azure', 'gcp'], name: 'demo' }).text);
}

function gatewaysOn(plan: Plan, provider: string) {
  return Object.values(plan.components)
    .flatMap((c) => c.nodes)
    .filter((n) => plan.clouds[n.cloud]?.provider === provider && isGateway(plan, n));
}

/** Addresses of the other targets' nodes (as if deployed), so every firewall rule has its sources. */
function hostsBesides(plan: Plan, provider: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 1;
  for (const n of Object.values(plan.components).flatMap((c) => c.nodes))
    if (plan.clouds[n.cloud]?.provider !== provider) out[n.id] = `100.64.0.${i++}`;
  return out;
}

describe('GCP workload identity federation (mock runtime)', () => {
  it('pool ids: a letter first, at most 32 characters, the stack suffix kept', () => {
    expect(poolId('demo', 'k3x9q2')).toBe('tc-demo-k3x9q2');
    const long = poolId('A_very_long_stack_name_that_goes_on', 'k3x9q2');
    expect(long).toMatch(/^[a-z][a-z0-9-]{3,31}$/);
    expect(long.endsWith('-k3x9q2')).toBe(true);
  });

  it('one pool, a provider per foreign provider limited to the gateways, a binding per gateway and bucket', async () => {
    const plan = await mixedPlan();
    const aws = gatewaysOn(plan, 'aws');
    const azure = gatewaysOn(plan, 'azure');
    expect(aws.length + azure.length).toBeGreaterThan(0);
    const identities: Record<string, ForeignGatewayIdentity> = {};
    for (const n of aws) identities[n.id] = { provider: 'aws', accountId: '210987654321', roleName: `${n.id}-role-x` };
    for (const n of azure) identities[n.id] = { provider: 'azure', tenantId: 'tenant-1', principalId: `${n.id}-oid` };
    const run = await runPlan(plan, 'gcp', hostsBesides(plan, 'gcp'), { externalGatewayIdentities: identities });
    expect(ofType(run, 'gcp:serviceaccount/key:Key')).toEqual([]);
    const pools = ofType(run, 'gcp:iam/workloadIdentityPool:WorkloadIdentityPool');
    expect(pools).toHaveLength(1);
    const providers = ofType(run, 'gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider');
    const byId = new Map(providers.map((p) => [String(p.inputs.workloadIdentityPoolProviderId), p] as const));
    if (aws.length > 0) {
      const p = byId.get('tc-aws')!;
      expect(p.inputs.aws).toEqual({ accountId: '210987654321' });
      expect(p.inputs.attributeMapping).toEqual({ 'google.subject': AWS_ROLE_SUBJECT });
      for (const n of aws)
        expect(String(p.inputs.attributeCondition)).toContain(`'${federatedSubject(identities[n.id]!)}'`);
    }
    if (azure.length > 0) {
      const p = byId.get('tc-azure')!;
      expect(p.inputs.oidc).toEqual({
        issuerUri: 'https://sts.windows.net/tenant-1/',
        allowedAudiences: [AZURE_EXCHANGE_AUDIENCE],
      });
      for (const n of azure) expect(String(p.inputs.attributeCondition)).toContain(`'${n.id}-oid'`);
    }
    const members = ofType(run, 'gcp:storage/bucketIAMMember:BucketIAMMember').filter((m) =>
      String(m.inputs.member).startsWith('principal://'),
    );
    const gcpBuckets = (c: string) =>
      plan.components[c]!.buckets.filter((b) => plan.clouds[b.cloud]?.provider === 'gcp').length;
    expect(members).toHaveLength([...aws, ...azure].reduce((s, n) => s + gcpBuckets(n.component), 0));
    // The audiences reach the gateways through the buckets' records: no key in them.
    const buckets = run.outputs.buckets as Record<string, { credentials?: { audiences: Record<string, string> } }>;
    for (const rec of Object.values(buckets)) {
      const audiences = rec.credentials!.audiences;
      if (aws.length > 0)
        expect(audiences.aws).toMatch(/^\/\/iam\.googleapis\.com\/projects\/\d+\/.*\/providers\/tc-aws$/);
      expect(JSON.stringify(rec)).not.toMatch(/privateKey|serviceAccountKey/);
    }
  });

  it('gateways not deployed yet: no pool, a note naming each', async () => {
    const plan = await mixedPlan();
    const run = await runPlan(plan, 'gcp', hostsBesides(plan, 'gcp'));
    expect(ofType(run, 'gcp:iam/workloadIdentityPool:WorkloadIdentityPool')).toEqual([]);
    const notes = run.outputs.notes as string[];
    for (const n of [...gatewaysOn(plan, 'aws'), ...gatewaysOn(plan, 'azure')])
      expect(notes.some((t) => t.startsWith(`gateway ${n.id} on `))).toBe(true);
  });

  it('one program over every provider: identities handed to the GCP part, audiences to the gateways, no record', async () => {
    const plan = await mixedPlan();
    const program = createDeploymentProgram(plan, await loadProviders(planProviders(plan)), testInputs(plan));
    const run = await runUnderMocks(program, `${plan.stack}-clouds`);
    expect(run.outputs.gatewayIdentities).toBeUndefined();
    const members = ofType(run, 'gcp:storage/bucketIAMMember:BucketIAMMember');
    const providers = ofType(run, 'gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider');
    const gateways = [...gatewaysOn(plan, 'aws'), ...gatewaysOn(plan, 'azure')];
    expect(gateways.length).toBeGreaterThan(0);
    for (const n of gateways) {
      const provider = plan.clouds[n.cloud]!.provider as 'aws' | 'azure';
      const bound = members.filter((m) => m.name.endsWith(`-${n.id}-federated`));
      expect(bound.length, n.id).toBeGreaterThan(0);
      const member = String(bound[0]!.inputs.member);
      const subject = member.slice(member.indexOf('/subject/') + '/subject/'.length);
      if (provider === 'aws') expect(subject).toMatch(/^arn:aws:sts::\d*:assumed-role\/./);
      else expect(subject).toMatch(/-principal$/);
      const p = providers.find((x) => x.inputs.workloadIdentityPoolProviderId === `tc-${provider}`);
      expect(String(p?.inputs.attributeCondition)).toContain(`'${subject}'`);
      // The gateway's bucket credentials name the pool provider's audience: no second deploy.
      const creds = JSON.parse(secretValue(provider, run, n.id, 'bucket-credentials')) as {
        clouds: Record<string, { source: string; audiences?: Record<string, string> }>;
      };
      const gcp = Object.entries(creds.clouds).filter(([c]) => plan.clouds[c]?.provider === 'gcp');
      expect(gcp.length, n.id).toBeGreaterThan(0);
      for (const [, e] of gcp) expect(JSON.stringify(e)).toContain(`/providers/tc-${provider}`);
    }
    const notes = run.outputs.notes as string[];
    expect(notes.filter((t) => /federation|gets no access to the GCP/.test(t))).toEqual([]);
  });

  it('AWS and Azure programs record their gateways identities for the GCP deploy', async () => {
    const plan = await mixedPlan();
    for (const provider of ['aws', 'azure'] as const) {
      const run = await runPlan(plan, provider, hostsBesides(plan, provider));
      const ids = run.outputs.gatewayIdentities as Record<string, ForeignGatewayIdentity>;
      for (const n of gatewaysOn(plan, provider)) expect(ids[n.id]?.provider, n.id).toBe(provider);
      expect(run.secretOutputs.some((p) => p.startsWith('gatewayIdentities'))).toBe(false);
    }
  });
});
