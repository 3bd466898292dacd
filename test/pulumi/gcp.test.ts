/**
 * The GCP program under Pulumi's mock runtime: every template, spread resource policies and sole-tenant node
 * groups, the construct limits, firewall rules per role tag, bucket-level service-account bindings.
 */
import { describe, expect, it } from 'vitest';
import { TcError } from '../../kernel/errors.js';
import { artifactBucketName } from '../../stacks/pulumi/gcp-boot.js';
import { ephemeralKeys } from '../../stacks/pulumi/keys.js';
import type { MockRun } from '../../stacks/pulumi/mock-preview.js';
import { buildCloudModel } from '../../stacks/pulumi/model.js';
import { globalBucketName } from '../../stacks/pulumi/names.js';
import { rejectedTcError } from '../support/tc-error.js';
import { checkBoot, secretValue, softwareOf } from './boot.js';
import {
  bootValuesOfVm,
  byName,
  checkDomains,
  checkFirewall,
  checkSecrets,
  checkTemplates,
  ofType,
  runPlan,
  TEST_SUFFIX,
  testArtifact,
  unwrap,
  userDataOf,
} from './graph.js';
import { awsGcpLedgerPlan, compileText, denseTopology, templatePlan } from './plans.js';

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

  it("every VM runs as its own service account; gateways' accounts are bound to their component's buckets only", async () => {
    const plan = await templatePlan('mediator', provider);
    const run = await runPlan(plan, provider);
    const emailOf = (id: string) =>
      `${byName(run, 'gcp:serviceaccount/account:Account', `${id}-identity`).inputs.accountId}@mock.iam.gserviceaccount.com`;
    const all = [...plan.components.vault!.nodes, ...plan.components.ledger!.nodes];
    for (const n of all) {
      expect(byName(run, 'gcp:compute/instance:Instance', n.id).inputs.serviceAccount).toMatchObject({
        email: emailOf(n.id),
      });
    }
    expect(new Set(all.map((n) => emailOf(n.id))).size).toBe(all.length);
    // No service-account key at all (organisation policies refuse them): buckets are reached by the VMs' accounts.
    expect(ofType(run, 'gcp:serviceaccount/key:Key')).toEqual([]);
    const bindings = ofType(run, 'gcp:storage/bucketIAMMember:BucketIAMMember').filter((b) =>
      /-vault-gateway-\d+-binding$/.test(b.name),
    );
    const vault = plan.components.vault!;
    expect(bindings).toHaveLength(vault.nodes.length * vault.buckets.length);
    for (const b of bindings) {
      expect(b.inputs.role).toBe('roles/storage.objectAdmin');
      expect(vault.buckets.map((x) => globalBucketName(x.name, TEST_SUFFIX))).toContain(b.inputs.bucket);
      expect(vault.nodes.map((n) => `serviceAccount:${emailOf(n.id)}`)).toContain(b.inputs.member);
    }
    for (const n of plan.components.ledger!.nodes) {
      expect(bindings.some((b) => b.inputs.member === `serviceAccount:${emailOf(n.id)}`)).toBe(false);
    }
  });

  it('boot: Secret Manager secrets per node bound to its service account; the artifact bucket for node accounts', async () => {
    const plan = await templatePlan('mediator', provider);
    const keys = ephemeralKeys(plan);
    const run = await runPlan(plan, provider, {}, { keys });
    checkBoot(plan, provider, run, keys, testArtifact().sha256);
    checkSecrets(plan, provider, run, keys);
    const vm = byName(run, 'gcp:compute/instance:Instance', 'ledger-replica-0');
    const boot = bootValuesOfVm(provider, vm);
    const secretId = `tc-demo-ledger-replica-0-spec`;
    expect(byName(run, 'gcp:secretmanager/secret:Secret', 'ledger-replica-0-spec').inputs).toMatchObject({
      secretId,
      replication: { auto: {} },
    });
    expect(boot.secrets[0]).toEqual({
      kind: 'spec',
      ref: `projects/mock-project/secrets/${secretId}`,
      path: '/run/tclouds/spec.json',
    });
    expect(softwareOf(provider, run, 'ledger-replica-0').artifact).toEqual({
      locator: `gs://${artifactBucketName(plan.stack, TEST_SUFFIX)}/tclouds-${testArtifact().sha256.slice(0, 16)}.tgz`,
      sha256: testArtifact().sha256,
    });
    for (const a of ofType(run, 'gcp:serviceaccount/account:Account'))
      expect(a.inputs.accountId).toMatch(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/);
  });

  it('gateways: identity for GCS, a credentials file for buckets of other targets (their records as a secret)', async () => {
    const plan = awsGcpLedgerPlan({
      buckets: [
        { cloud: 'a', name: 'demo-ledger-a' },
        { cloud: 'g', name: 'demo-ledger-g' },
      ],
    });
    for (const n of plan.components.ledger!.nodes)
      n.config = { buckets: { a: 'demo-ledger-a', g: 'demo-ledger-g' }, clouds: ['a', 'g'], f: 1 };
    plan.components.ledger!.keys.push({ id: 'writer-ledger', kind: 'storage-writer', for: 'ledger' });
    const record = { provider: 'aws', credentials: { accessKeyId: 'AKIAMOCK', secretAccessKey: 'mock' } };
    const awsHosts = { 'ledger-replica-0': '192.0.2.1', 'ledger-replica-1': '192.0.2.3' };
    const run = await runPlan(plan, provider, awsHosts, { externalBucketCredentials: { 'a/demo-ledger-a': record } });
    const spec = JSON.parse(secretValue(provider, run, 'ledger-replica-2', 'spec'));
    expect(spec.config.credentials).toEqual({
      a: { source: 'file', file: '/run/tclouds/bucket-credentials.json' },
      g: { source: 'gcp-service-account' },
    });
    const creds = JSON.parse(secretValue(provider, run, 'ledger-replica-2', 'bucket-credentials'));
    expect(creds.clouds).toEqual({
      a: { provider: 'aws', bucket: 'demo-ledger-a', source: 'credentials', credentials: record },
      g: { provider: 'gcp', bucket: 'demo-ledger-g', source: 'identity' },
    });
    expect(secretValue(provider, run, 'ledger-replica-2', 'writer-key')).toContain('BEGIN PRIVATE KEY');
    // Not in any user data.
    for (const vm of ofType(run, 'gcp:compute/instance:Instance'))
      expect(userDataOf(provider, vm)).not.toContain('AKIAMOCK');
  });

  it("a spec change between two runs changes secret values, never a VM's metadata", async () => {
    const plan = awsGcpLedgerPlan();
    const keys = ephemeralKeys(plan);
    const first = await runPlan(
      plan,
      provider,
      { 'ledger-replica-0': '192.0.2.1', 'ledger-replica-1': '192.0.2.3' },
      { keys },
    );
    const second = await runPlan(
      plan,
      provider,
      { 'ledger-replica-0': '192.0.2.2', 'ledger-replica-1': '192.0.2.3' },
      { keys },
    );
    for (const n of ['ledger-replica-2', 'ledger-replica-3']) {
      const vm = (run: MockRun) => byName(run, 'gcp:compute/instance:Instance', n).inputs.metadata;
      expect(vm(second), n).toEqual(vm(first));
      expect(secretValue(provider, second, n, 'spec')).not.toBe(secretValue(provider, first, n, 'spec'));
    }
  });

  it('firewall rules target the role tag, and instances block project SSH keys', async () => {
    const plan = await compileText(denseTopology(provider, 'europe-west1', 4));
    const run = await runPlan(plan, provider);
    for (const fw of ofType(run, 'gcp:compute/firewall:Firewall'))
      expect(fw.inputs.targetTags).toEqual(['tc-ledger-replica']);
    for (const vm of ofType(run, 'gcp:compute/instance:Instance')) {
      expect(vm.inputs.tags).toEqual(['tc-ledger-replica']);
      expect(unwrap(vm.inputs.metadata)['block-project-ssh-keys']).toBe('TRUE');
    }
  });
});
