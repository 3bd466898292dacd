/**
 * The Azure program under Pulumi's mock runtime: every template, availability sets and dedicated host groups,
 * the construct limits, the NSG deny rule, container-scoped credentials.
 */
import { describe, expect, it } from 'vitest';
import { buildCloudModel } from '../../stacks/pulumi/model.js';
import { thrownTcError } from '../support/tc-error.js';
import {
  byName,
  checkDomains,
  checkFirewall,
  checkTemplates,
  cloudInitOf,
  type Json,
  ofType,
  runPlan,
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

  it("gateway VMs get a managed identity with blob data access on their component's containers only", async () => {
    const plan = await templatePlan('mediator', provider);
    const run = await runPlan(plan, provider);
    const vault = plan.components.vault!;
    for (const n of vault.nodes) {
      expect(byName(run, 'azure-native:compute:VirtualMachine', n.id).inputs.identity).toEqual({
        type: 'SystemAssigned',
      });
    }
    for (const n of plan.components.ledger!.nodes) {
      expect(byName(run, 'azure-native:compute:VirtualMachine', n.id).inputs.identity).toBeUndefined();
    }
    const assignments = ofType(run, 'azure-native:authorization:RoleAssignment');
    expect(assignments).toHaveLength(vault.nodes.length * vault.buckets.length);
    for (const a of assignments) {
      const [, node, bucket] = a.name.match(/^(vault-gateway-\d+)-(.*)-access$/)!;
      expect(a.inputs).toMatchObject({
        principalId: `${node}-principal`,
        principalType: 'ServicePrincipal',
        scope: `${bucket}-id`,
      });
      expect(a.inputs.roleDefinitionId).toMatch(/\/roleDefinitions\/ba92f5b4-2d11-453d-a403-e96b0029c9fe$/);
    }
  });

  it('NICs carry the static private address, the public IP and the role NSG; custom data is the cloud-init', async () => {
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
    const osProfile = (vm.inputs.osProfile as { value: Record<string, Json> }).value;
    expect(osProfile.linuxConfiguration.disablePasswordAuthentication).toBe(true);
    expect(cloudInitOf(provider, vm)).toContain('tclouds/app/bin/run.js node run --spec /run/tclouds/spec.json');
  });
});
