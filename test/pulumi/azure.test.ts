/**
 * The Azure program under Pulumi's mock runtime: every template, availability sets and dedicated host groups,
 * the construct limits, the NSG deny rule, container-scoped credentials.
 */
import { describe, expect, it } from 'vitest';
import { artifactAccountName, vaultName } from '../../stacks/pulumi/azure-boot.js';
import { ephemeralKeys } from '../../stacks/pulumi/keys.js';
import type { MockRun } from '../../stacks/pulumi/mock-preview.js';
import { buildCloudModel } from '../../stacks/pulumi/model.js';
import { storageAccountName } from '../../stacks/pulumi/names.js';
import { thrownTcError } from '../support/tc-error.js';
import { checkBoot, secretValue, softwareOf } from './boot.js';
import {
  bootValuesOfVm,
  byName,
  checkDomains,
  checkFirewall,
  checkSecrets,
  checkTemplates,
  type Json,
  ofType,
  runPlan,
  TEST_SUFFIX,
  testArtifact,
  unwrap,
  userDataOf,
} from './graph.js';
import { compileText, denseTopology, handPlan, templatePlan } from './plans.js';

const provider = 'azure';

describe('Azure program (mock runtime)', () => {
  it('every template: one VM per node, distinct domains, narrow firewall, private encrypted buckets, secrets', async () => {
    await checkTemplates(provider);
  });

  it('3 hosts: one availability set with 3 fault domains (Aligned), shared by the group', async () => {
    const plan = await compileText(denseTopology(provider, 'westeurope', 3));
    expect(plan.clouds.c1!.construct).toBe('azure:availability-set');
    const run = await runPlan(plan, provider);
    const sets = ofType(run, 'azure-native:compute:AvailabilitySet');
    expect(sets).toHaveLength(1);
    expect(sets[0]!.inputs).toMatchObject({
      platformFaultDomainCount: 3,
      sku: { name: 'Aligned' },
      location: 'westeurope',
    });
    for (const vm of ofType(run, 'azure-native:compute:VirtualMachine')) {
      expect(vm.inputs.availabilitySet).toEqual({ id: `${sets[0]!.name}-id` });
    }
    expect(checkDomains(plan, provider, run).pinnedGroups).toBe(1);
    checkFirewall(plan, provider, run);
  });

  it('4 hosts: a dedicated host group, one host per fault domain, each VM pinned to its host', async () => {
    const plan = await compileText(denseTopology(provider, 'westeurope', 4));
    expect(plan.clouds.c1!.construct).toBe('azure:dedicated-host');
    const run = await runPlan(plan, provider);
    const [group] = ofType(run, 'azure-native:compute:DedicatedHostGroup');
    expect(group!.inputs).toMatchObject({ platformFaultDomainCount: 3, supportAutomaticPlacement: false });
    const hosts = ofType(run, 'azure-native:compute:DedicatedHost');
    expect(hosts).toHaveLength(4);
    expect(hosts.map((h) => h.inputs.platformFaultDomain).sort()).toEqual([0, 0, 1, 2]);
    const vms = ofType(run, 'azure-native:compute:VirtualMachine');
    expect(new Set(vms.map((v) => JSON.stringify(v.inputs.host))).size).toBe(4);
    for (const v of vms) expect(v.inputs.availabilitySet).toBeUndefined();
    checkDomains(plan, provider, run);
  });

  it('4 domains pinned to an availability set is TC351; an uneven layout on one is TC355; both name dedicated hosts', () => {
    const four = handPlan({
      clouds: { z: { provider: 'azure', region: 'westeurope', construct: 'azure:availability-set' } },
      components: { ledger: { nodes: [0, 1, 2, 3].map((domain) => ({ cloud: 'z', domain })) } },
    });
    const e1 = thrownTcError(() => buildCloudModel(four, provider));
    expect([e1.code, e1.exit]).toEqual(['TC351', 3]);
    expect(e1.message).toContain('at most 3');
    expect(e1.hint).toContain('azure:dedicated-host');
    const uneven = handPlan({
      clouds: { z: { provider: 'azure', region: 'westeurope' } },
      components: { ledger: { nodes: [0, 0, 0, 1].map((domain) => ({ cloud: 'z', domain })) } },
    });
    const e2 = thrownTcError(() => buildCloudModel(uneven, provider));
    expect([e2.code, e2.exit]).toEqual(['TC355', 3]);
    expect(e2.message).toContain('[3, 1]');
    expect(e2.hint).toContain('azure:dedicated-host');
  });

  it("gateway identities get blob data access on their component's containers only", async () => {
    const plan = await templatePlan('mediator', provider);
    const run = await runPlan(plan, provider);
    const vault = plan.components.vault!;
    for (const n of [...vault.nodes, ...plan.components.ledger!.nodes]) {
      // Every VM has exactly its node's user-assigned identity.
      expect(byName(run, 'azure-native:compute:VirtualMachine', n.id).inputs.identity).toEqual({
        type: 'UserAssigned',
        userAssignedIdentities: [`${n.id}-identity-id`],
      });
    }
    const assignments = ofType(run, 'azure-native:authorization:RoleAssignment').filter((a) =>
      /^vault-gateway-\d+-(?!.*-reader$).*-access$/.test(a.name),
    );
    expect(assignments).toHaveLength(vault.nodes.length * vault.buckets.length);
    for (const a of assignments) {
      const [, node, bucket] = a.name.match(/^(vault-gateway-\d+)-(.*)-access$/)!;
      expect(a.inputs).toMatchObject({
        principalId: `${node}-identity-principal`,
        principalType: 'ServicePrincipal',
        scope: `${bucket}-id`,
      });
      expect(a.inputs.roleDefinitionId).toMatch(/\/roleDefinitions\/ba92f5b4-2d11-453d-a403-e96b0029c9fe$/);
    }
  });

  it('boot: Key Vault in RBAC mode, secrets per node readable by its identity, the artifact container for node identities', async () => {
    const plan = await templatePlan('mediator', provider);
    const keys = ephemeralKeys(plan);
    const run = await runPlan(plan, provider, {}, { keys });
    checkBoot(plan, provider, run, keys, testArtifact().sha256);
    checkSecrets(plan, provider, run, keys);
    const cloud = plan.components.ledger!.nodes[0]!.cloud;
    const vault = byName(run, 'azure-native:keyvault:Vault', `${cloud}-vault`).inputs as Record<string, Json>;
    expect(vault.vaultName).toBe(vaultName(plan.stack, TEST_SUFFIX, cloud));
    expect(vault.vaultName).toMatch(/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/);
    expect(unwrap(vault.properties)).toMatchObject({ enableRbacAuthorization: true });
    expect(unwrap(vault.properties).accessPolicies).toBeUndefined();
    const boot = bootValuesOfVm(provider, byName(run, 'azure-native:compute:VirtualMachine', 'ledger-replica-0'));
    expect(boot.secrets[0]).toEqual({
      kind: 'spec',
      ref: `https://${vaultName(plan.stack, TEST_SUFFIX, cloud)}.vault.azure.net/secrets/ledger-replica-0-spec`,
      path: '/run/tclouds/spec.json',
    });
    expect(softwareOf(provider, run, 'ledger-replica-0').artifact).toEqual({
      locator: `https://${artifactAccountName(plan.stack, TEST_SUFFIX)}.blob.core.windows.net/artifacts/tclouds-${testArtifact().sha256.slice(0, 16)}.tgz`,
      sha256: testArtifact().sha256,
    });
  });

  it('gateways: the spec names the managed identity and the account of each Azure container', async () => {
    const plan = await templatePlan('mediator', provider);
    const run = await runPlan(plan, provider);
    const vault = plan.components.vault!;
    const spec = JSON.parse(secretValue(provider, run, vault.nodes[0]!.id, 'spec'));
    for (const b of vault.buckets) {
      expect(spec.config.credentials[b.cloud]).toEqual({ source: 'azure-managed-identity' });
      expect(spec.config.accounts[b.cloud]).toBe(storageAccountName(plan.stack, b.cloud, b.name, TEST_SUFFIX));
      expect(byName(run, 'azure-native:storage:StorageAccount', `${b.name}-account`).inputs.accountName).toBe(
        spec.config.accounts[b.cloud],
      );
    }
  });

  it("a spec change between two runs changes secret values, never a VM's custom data", async () => {
    const plan = await compileText(denseTopology(provider, 'westeurope', 3));
    const keys = ephemeralKeys(plan);
    const first = await runPlan(plan, provider, {}, { keys });
    plan.components.ledger!.nodes[2]!.config = { batchSize: 64 };
    plan.components.ledger!.nodes[2]!.ports = { ...plan.components.ledger!.nodes[2]!.ports, peer: 7111 };
    const second = await runPlan(plan, provider, {}, { keys });
    for (const n of plan.components.ledger!.nodes) {
      const data = (run: MockRun) => userDataOf(provider, byName(run, 'azure-native:compute:VirtualMachine', n.id));
      expect(data(second), n.id).toBe(data(first));
      expect(secretValue(provider, second, n.id, 'spec')).not.toBe(secretValue(provider, first, n.id, 'spec'));
    }
  });

  it('NICs carry the static private address, the public IP and the role NSG; custom data is the boot values', async () => {
    const plan = await compileText(denseTopology(provider, 'westeurope', 3));
    const run = await runPlan(plan, provider);
    const nodes = run.outputs.nodes as Record<string, { privateIp: string }>;
    const nic = byName(run, 'azure-native:network:NetworkInterface', 'ledger-replica-0-nic').inputs as Record<
      string,
      Json
    >;
    expect(nic.ipConfigurations[0]).toMatchObject({
      privateIPAllocationMethod: 'Static',
      privateIPAddress: nodes['ledger-replica-0']!.privateIp,
      publicIPAddress: { id: 'ledger-replica-0-ip-id' },
    });
    expect(nic.networkSecurityGroup).toEqual({ id: 'ledger-replica-c1-nsg-id' });
    const vm = byName(run, 'azure-native:compute:VirtualMachine', 'ledger-replica-0');
    const osProfile = unwrap(vm.inputs.osProfile) as Record<string, Json>;
    expect(osProfile.linuxConfiguration.disablePasswordAuthentication).toBe(true);
    expect(bootValuesOfVm(provider, vm)).toMatchObject({ nodeId: 'ledger-replica-0', provider });
  });
});
