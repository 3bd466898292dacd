/**
 * The plan-time limits (pure): rules without sources, region fault domains, VM counts, name lengths and global
 * names, user data size, quota needs; and the stack's kept name suffix and image pins (real files).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLimits, quotaNeeds } from '../../stacks/pulumi/limits.js';
import { buildCloudModel } from '../../stacks/pulumi/model.js';
import { globalBucketName, storageAccountName } from '../../stacks/pulumi/names.js';
import {
  ensureNameSuffix,
  previewNameSuffix,
  readImagePins,
  readNameSuffix,
  recordImagePins,
} from '../../stacks/pulumi/stack-pins.js';
import { thrownTcError } from '../support/tc-error.js';
import { tempDir } from '../support/tmp.js';
import { awsGcpLedgerPlan, handPlan } from './plans.js';

const NO_INPUTS = { externalHosts: {}, nameSuffix: 'k3x9q2' };

describe('plan-time limits', () => {
  it('a rule whose only sources are in another target is TC380 until their addresses are known', () => {
    const plan = handPlan({
      clouds: { a: { provider: 'aws', region: 'eu-west-1' }, g: { provider: 'gcp', region: 'europe-west1' } },
      components: {
        ledger: {
          nodes: [
            { cloud: 'g', domain: 0 },
            { cloud: 'a', domain: 0 },
          ],
          // Only the GCP node talks to the AWS one.
          links: [{ from: 'replica', to: 'replica', port: 'peer' }],
        },
      },
    });
    plan.components.ledger!.nodes[0]!.role = 'gateway';
    plan.components.ledger!.links = [{ from: 'gateway', to: 'replica', port: 'peer' }];
    const model = buildCloudModel(plan, 'aws');
    const err = thrownTcError(() => checkLimits(plan, model, NO_INPUTS));
    expect([err.code, err.exit]).toEqual(['TC380', 3]);
    expect(err.hint).toContain('g');
    expect(err.location?.path).toBe('components.ledger.links');
    // Once that target has deployed, its address is the source.
    checkLimits(plan, model, { ...NO_INPUTS, externalHosts: { [plan.components.ledger!.nodes[0]!.id]: '192.0.2.7' } });
  });

  it('peers split over two targets keep their local sources: no error before the other target deploys', () => {
    const plan = awsGcpLedgerPlan();
    checkLimits(plan, buildCloudModel(plan, 'aws'), NO_INPUTS);
  });

  it('Azure availability sets: 3 fault domains only where the region has them (TC385), at most 200 VMs (TC386)', () => {
    const three = (region: string) =>
      handPlan({
        clouds: { z: { provider: 'azure', region } },
        components: { ledger: { nodes: [0, 1, 2].map((domain) => ({ cloud: 'z', domain })) } },
      });
    checkLimits(three('westeurope'), buildCloudModel(three('westeurope'), 'azure'), NO_INPUTS);
    const err = thrownTcError(() =>
      checkLimits(three('westus2'), buildCloudModel(three('westus2'), 'azure'), NO_INPUTS),
    );
    expect([err.code, err.exit]).toEqual(['TC385', 3]);
    expect(err.hint).toContain('azure:dedicated-host');
    const big = handPlan({
      clouds: { z: { provider: 'azure', region: 'westeurope' } },
      components: { ledger: { nodes: Array.from({ length: 201 }, (_, i) => ({ cloud: 'z', domain: i % 2 })) } },
    });
    expect(thrownTcError(() => checkLimits(big, buildCloudModel(big, 'azure'), NO_INPUTS)).code).toBe('TC386');
  });

  it('AWS user data over 16 KB is TC382, measured on what the program renders', () => {
    const plan = awsGcpLedgerPlan();
    const model = buildCloudModel(plan, 'aws');
    const err = thrownTcError(() =>
      checkLimits(plan, model, { ...NO_INPUTS, renderUserData: () => 'x'.repeat(16 * 1024 + 1) }),
    );
    expect([err.code, err.exit]).toEqual(['TC382', 3]);
    checkLimits(plan, model, { ...NO_INPUTS, renderUserData: () => 'x'.repeat(16 * 1024) });
  });

  it('names over the provider limit are TC384 with where they come from; GCS names never hold "google"', () => {
    const long = 'c'.repeat(40);
    const plan = handPlan({
      clouds: { [long]: { provider: 'gcp', region: 'europe-west1' } },
      components: { [`l${'e'.repeat(30)}`]: { nodes: [{ cloud: long, domain: 0 }] } },
    });
    const err = thrownTcError(() => checkLimits(plan, buildCloudModel(plan, 'gcp'), NO_INPUTS));
    expect([err.code, err.exit]).toEqual(['TC384', 3]);
    expect(err.message).toContain('allows 63');
    const g = handPlan({
      stack: 'google-demo',
      clouds: { g: { provider: 'gcp', region: 'europe-west1' } },
      components: {
        ledger: { nodes: [{ cloud: 'g', domain: 0 }], buckets: [{ cloud: 'g', name: 'google-demo-ledger-g' }] },
      },
    });
    expect(thrownTcError(() => checkLimits(g, buildCloudModel(g, 'gcp'), NO_INPUTS)).code).toBe('TC384');
  });

  it('global names carry the suffix and keep each provider’s rules', () => {
    expect(globalBucketName('demo-vault-a', 'k3x9q2')).toBe('demo-vault-a-k3x9q2');
    expect(globalBucketName('demo-vault-a', '')).toBe('demo-vault-a');
    const long = globalBucketName('d'.repeat(63), 'k3x9q2');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9][a-z0-9-]*-k3x9q2$/);
    for (const suffix of ['', 'k3x9q2']) {
      const account = storageAccountName('demo', 'z', 'demo-vault-z-with-a-long-name', suffix);
      expect(account).toMatch(/^[a-z0-9]{3,24}$/);
      if (suffix) expect(account.endsWith(suffix)).toBe(true);
    }
    expect(storageAccountName('a', 'z', 'b', 'k3x9q2')).not.toBe(storageAccountName('a', 'z', 'b', 'zzzzzz'));
  });

  it('quota: a whole dedicated host per fault domain, one address per node', () => {
    const plan = handPlan({
      clouds: { a: { provider: 'aws', region: 'eu-west-1', construct: 'aws:dedicated-host' } },
      components: { ledger: { nodes: [0, 1, 2, 3].map((domain) => ({ cloud: 'a', domain })) } },
    });
    const q = quotaNeeds(buildCloudModel(plan, 'aws'));
    expect(q.map((x) => [x.resource, x.count])).toEqual([
      ['dedicated hosts (m5)', 4],
      ['Elastic IP addresses', 4],
    ]);
  });
});

describe('stack pins (files)', () => {
  it('the name suffix is made once and kept; a stack deployed before suffixes keeps ""', async () => {
    const dir = tempDir('tc-pins-');
    expect(previewNameSuffix(dir)).toBe('xxxxxx');
    const s = await ensureNameSuffix(dir);
    expect(s).toMatch(/^[a-z0-9]{6}$/);
    expect(await ensureNameSuffix(dir)).toBe(s);
    expect(readNameSuffix(dir)).toBe(s);
    const legacy = tempDir('tc-pins-');
    mkdirSync(join(legacy, 'pulumi'));
    writeFileSync(join(legacy, 'pulumi', 'aws.plan.json'), '{}');
    expect(await ensureNameSuffix(legacy)).toBe('');
    writeFileSync(join(dir, 'pulumi', 'names.json'), '{"suffix":"BAD"}');
    expect(thrownTcError(() => readNameSuffix(dir)).code).toBe('TC388');
  });

  it('image pins: the first resolution is kept, later ones never overwrite it', async () => {
    const dir = tempDir('tc-pins-');
    await recordImagePins(dir, 'aws', { 'eu-west-1': 'ami-0aaa' });
    await recordImagePins(dir, 'aws', { 'eu-west-1': 'ami-0bbb', 'us-east-1': 'ami-0ccc' });
    expect(readImagePins(dir, 'aws')).toEqual({ 'eu-west-1': 'ami-0aaa', 'us-east-1': 'ami-0ccc' });
    writeFileSync(join(dir, 'pulumi', 'aws.images.json'), '{"eu-west-1": 7}');
    expect(thrownTcError(() => readImagePins(dir, 'aws')).code).toBe('TC388');
  });
});
