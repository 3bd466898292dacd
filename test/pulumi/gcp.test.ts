/**
 * The GCP program under Pulumi's mock runtime: every template, spread resource policies and sole-tenant node
 * groups, the construct limits, firewall rules per role tag, bucket-level service-account bindings.
 */
import { describe, expect, it } from 'vitest';
import { TcError } from '../../kernel/errors.js';
import { buildCloudModel } from '../../stacks/pulumi/model.js';
import { globalBucketName } from '../../stacks/pulumi/names.js';
import { rejectedTcError } from '../support/tc-error.js';
import { byName, checkDomains, checkFirewall, checkTemplates, ofType, runPlan, TEST_SUFFIX } from './graph.js';
import { compileText, denseTopology, templatePlan } from './plans.js';

const provider = 'gcp';

describe('GCP program (mock runtime)', () => {
  it('every template: one VM per node, distinct domains, narrow firewall, private encrypted buckets, secrets', async () => {
    await checkTemplates(provider);
  });

  it('7 hosts: a spread resource policy with 7 availability domains, each VM pinned to its domain', async () => {
    const plan = await compileText(denseTopology(provider, 'europe-west1', 7, 2));
    expect(plan.clouds.c1!.construct).toBe('gcp:resource-policy');
    const run = await runPlan(plan, provider);
    const [policy, ...more] = ofType(run, 'gcp:compute/resourcePolicy:ResourcePolicy');
    expect(more).toHaveLength(0);
    expect(policy!.inputs).toMatchObject({
      region: 'europe-west1',
      groupPlacementPolicy: { availabilityDomainCount: 7 },
    });
    const vms = ofType(run, 'gcp:compute/instance:Instance');
    expect(vms).toHaveLength(7);
    for (const v of vms) expect(v.inputs.resourcePolicies).toBe(`https://mock.invalid/${policy!.name}`);
    const used = new Set(vms.map((v) => (v.inputs.scheduling as { availabilityDomain: number }).availabilityDomain));
    expect([...used].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(checkDomains(plan, provider, run).pinnedGroups).toBe(1);
    checkFirewall(plan, provider, run);
  });

  it('10 VMs on 8 hosts under one spread policy is TC383 (at most 8 VMs per policy), naming sole-tenant nodes', async () => {
    const plan = await compileText(denseTopology(provider, 'europe-west1', 8, 3));
    expect(plan.clouds.c1!.construct).toBe('gcp:resource-policy');
    const err = await rejectedTcError(runPlan(plan, provider));
    expect([err.code, err.exit]).toEqual(['TC383', 3]);
    expect(err.hint).toContain('gcp:sole-tenant-node');
  });

  it('10 hosts: sole-tenant node groups, one per fault domain, each VM pinned by node affinity', async () => {
    const plan = await compileText(denseTopology(provider, 'europe-west1', 10, 3));
    expect(plan.clouds.c1!.construct).toBe('gcp:sole-tenant-node');
    const run = await runPlan(plan, provider);
    expect(ofType(run, 'gcp:compute/nodeTemplate:NodeTemplate')).toHaveLength(1);
    const groups = ofType(run, 'gcp:compute/nodeGroup:NodeGroup');
    expect(groups).toHaveLength(10);
    for (const g of groups) expect(g.inputs).toMatchObject({ initialSize: 1, zone: 'europe-west1-b' });
    const vms = ofType(run, 'gcp:compute/instance:Instance');
    const affinities = vms.map(
      (v) =>
        (v.inputs.scheduling as { nodeAffinities: { key: string; operator: string; values: string[] }[] })
          .nodeAffinities[0]!,
    );
    for (const a of affinities)
      expect(a).toMatchObject({ key: 'compute.googleapis.com/node-group-name', operator: 'IN' });
    expect(new Set(affinities.map((a) => a.values[0])).size).toBe(10);
    checkDomains(plan, provider, run);
  });

  it('10 domains pinned to a spread policy is TC351, naming sole-tenant nodes', async () => {
    const plan = await compileText(denseTopology(provider, 'europe-west1', 10, 3));
    plan.clouds.c1!.construct = 'gcp:resource-policy';
    let err: unknown;
    try {
      buildCloudModel(plan, provider);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TcError);
    expect((err as TcError).code).toBe('TC351');
    expect((err as TcError).hint).toContain('gcp:sole-tenant-node');
  });

  it("gateway VMs run as a service account bound to their component's buckets only", async () => {
    const plan = await templatePlan('mediator', provider);
    const run = await runPlan(plan, provider);
    const sa = byName(run, 'gcp:serviceaccount/account:Account', 'vault-nodes');
    const email = `${sa.inputs.accountId}@mock.iam.gserviceaccount.com`;
    for (const n of plan.components.vault!.nodes) {
      expect(byName(run, 'gcp:compute/instance:Instance', n.id).inputs.serviceAccount).toMatchObject({ email });
    }
    for (const n of plan.components.ledger!.nodes) {
      expect(byName(run, 'gcp:compute/instance:Instance', n.id).inputs.serviceAccount).toBeUndefined();
    }
    const bindings = ofType(run, 'gcp:storage/bucketIAMMember:BucketIAMMember').filter((b) =>
      b.name.endsWith('-nodes-binding'),
    );
    expect(bindings.map((b) => b.inputs.bucket).sort()).toEqual(
      plan.components.vault!.buckets.map((b) => globalBucketName(b.name, TEST_SUFFIX)).sort(),
    );
    for (const b of bindings)
      expect(b.inputs).toMatchObject({ role: 'roles/storage.objectAdmin', member: `serviceAccount:${email}` });
  });

  it('firewall rules target the role tag, and instances block project SSH keys', async () => {
    const plan = await compileText(denseTopology(provider, 'europe-west1', 4));
    const run = await runPlan(plan, provider);
    for (const fw of ofType(run, 'gcp:compute/firewall:Firewall'))
      expect(fw.inputs.targetTags).toEqual(['tc-ledger-replica']);
    for (const vm of ofType(run, 'gcp:compute/instance:Instance')) {
      expect(vm.inputs.tags).toEqual(['tc-ledger-replica']);
      expect((vm.inputs.metadata as { value: Record<string, string> }).value['block-project-ssh-keys']).toBe('TRUE');
    }
  });
});
