/**
 * Azure rendering of the realization model (@pulumi/azure-native 3.x; only the resources, network, compute and
 * storage submodules are loaded).
 *
 * Per cloud: a resource group, a VNet, one subnet and a Key Vault. Per node: a static Standard public IP, a NIC with
 * the plan's static private address, a user-assigned identity, its secrets (azure-boot.ts) and a VM (Ubuntu 24.04,
 * password login off, custom data holding only its boot values). Per stack: the artifact (azure-boot.ts). Per
 * component and cloud: an availability set (`sku: Aligned`, fault-domain count = domains used; Azure spreads VMs
 * round-robin) or a dedicated host group with one host per domain, each VM pinned to its host. Per role: an NSG
 * that allows only the linked ports from the linked sources and denies the rest of the VNet (Azure's default rules
 * would let every VNet address in). Per bucket: a storage account without public blob access, HTTPS only, TLS 1.2,
 * encrypted, one private container, and a service SAS scoped to that container.
 */
import * as authorization from '@pulumi/azure-native/authorization/index.js';
import * as compute from '@pulumi/azure-native/compute/index.js';
import type * as managedidentity from '@pulumi/azure-native/managedidentity/index.js';
import * as network from '@pulumi/azure-native/network/index.js';
import * as resources from '@pulumi/azure-native/resources/index.js';
import * as storage from '@pulumi/azure-native/storage/index.js';
import * as pulumi from '@pulumi/pulumi';
import {
  artifactReaders,
  artifactStore,
  cloudVault,
  nodeBoot,
  nodeIdentity,
  privateStorageAccountArgs,
} from './azure-boot.js';
import { componentBuckets, type ModelCloud, type ModelGroup, type ModelNode, rolesIn, rulesOf } from './model.js';
import { containerName, storageAccountName } from './names.js';
import { needsFederation } from './node-boot.js';
import {
  type BucketResult,
  bucketParent,
  networksAndAddresses,
  type ProgramEnv,
  type Realized,
  sourcesByFamily,
} from './program-env.js';

export { storageAccountName } from './names.js';

const VM_SIZE = 'Standard_B2s';
const DEDICATED_VM_SIZE = 'Standard_D2s_v3';
const DEDICATED_HOST_SKU = 'DSv3-Type4';
const ADMIN_USER = 'tcadmin';
const SAS_DAYS = 365;
/** Built-in role "Storage Blob Data Contributor" (read, write, delete blobs; nothing on the account itself). */
const BLOB_DATA_CONTRIBUTOR = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe';

interface AzureNetwork {
  rg: resources.ResourceGroup;
  subnet: network.Subnet;
}

/** The fault-domain construct of one group: an availability set, or one dedicated host per domain slot. */
interface AzureDomains {
  availabilitySet?: compute.AvailabilitySet;
  hosts: Map<number, compute.DedicatedHost>;
}

/** A gateway's identity that must reach its component's containers, and a container it may reach. */
interface BucketVm {
  component: string;
  nodeId: string;
  identity: managedidentity.UserAssignedIdentity;
}
interface NamedContainer {
  component: string | undefined;
  name: string;
  container: storage.BlobContainer;
}

/** Step one (program-env.ts `ProviderModule`): networks and every node's public IP, before any VM of any provider. */
export function addresses(env: ProgramEnv): AzureAddresses {
  const pips = new Map<string, network.PublicIPAddress>();
  const nets = networksAndAddresses(
    env,
    (cloud) => networkOf(env, cloud),
    (cloud, g, m, net) => {
      const pip = publicIp(env, cloud, g.component, m, net.rg);
      pips.set(m.node.id, pip);
      return pip.ipAddress.apply((ip) => ip ?? '');
    },
  );
  return { nets, pips };
}

interface AzureAddresses {
  nets: Map<string, AzureNetwork>;
  pips: Map<string, network.PublicIPAddress>;
}

export function realize(env: ProgramEnv, addressed: AzureAddresses = addresses(env)): Realized {
  const out: Realized = { nodes: {}, buckets: {}, gatewayIdentities: {} };
  // VMs of bucket-owning components (storage gateways) and the containers they must reach, for role assignments.
  const bucketVms: BucketVm[] = [];
  const containers: NamedContainer[] = [];
  // Networks and static public addresses first (`addresses`): NSGs of one cloud name addresses of the others.
  const { nets, pips } = addressed;
  const artifact = env.model.clouds[0] ? artifactStore(env, nets.get(env.model.clouds[0].name)!.rg) : undefined;
  const identities = new Map<string, managedidentity.UserAssignedIdentity>();
  for (const cloud of env.model.clouds) {
    const { rg, subnet } = nets.get(cloud.name)!;
    const vault = cloudVault(env, cloud, rg);
    for (const g of cloud.groups) {
      const parent = env.component(g.component);
      const nsgs = new Map<string, network.NetworkSecurityGroup>();
      for (const role of rolesIn(cloud, g.component)) {
        nsgs.set(role, nsg(env, cloud, g.component, role, rg, parent));
      }
      const domains = faultDomains(env, cloud, g, rg, parent);
      const ownsBuckets = componentBuckets(env.model, g.component).length > 0;
      for (const m of g.nodes) {
        const pip = pips.get(m.node.id)!;
        const nic = networkInterface(env, cloud, m, { rg, subnet, nsg: nsgs.get(m.node.role)!, pip, parent });
        // The VM's only identity: reads its own secrets, the artifact, and (gateways) the component's containers.
        const identity = nodeIdentity(env, cloud, m, rg, parent);
        identities.set(m.node.id, identity);
        if (needsFederation(env.plan, m.node)) {
          // The GCP part admits exactly this managed identity (its tenant's issuer, its principal id).
          out.gatewayIdentities![m.node.id] = pulumi
            .all([identity.tenantId, identity.principalId])
            .apply(([tenantId, principalId]) => ({ provider: 'azure' as const, tenantId, principalId }));
        }
        const userData = nodeBoot(env, cloud, m, { rg, vault, identity, artifact, parent });
        virtualMachine(env, cloud, m, { rg, nic, domains, identity, userData, parent });
        out.nodes[m.node.id] = { privateIp: m.privateIp, publicIp: env.publicIps.get(m.node.id)! };
        if (ownsBuckets) bucketVms.push({ component: g.component, nodeId: m.node.id, identity });
      }
    }
    containers.push(...dataBuckets(env, cloud, out));
  }
  blobAccess(env, bucketVms, containers);
  if (artifact) artifactReaders(env, artifact, identities);
  return out;
}

/** A static Standard public address per node, so peers in other clouds can be allowed by /32. */
function publicIp(
  env: ProgramEnv,
  cloud: ModelCloud,
  component: string,
  m: ModelNode,
  rg: resources.ResourceGroup,
): network.PublicIPAddress {
  return new network.PublicIPAddress(
    `${m.node.id}-ip`,
    {
      resourceGroupName: rg.name,
      location: cloud.region,
      sku: { name: 'Standard' },
      publicIPAllocationMethod: 'Static',
      tags: env.tags({ 'tclouds-node': m.node.id }),
    },
    { parent: env.component(component) },
  );
}

function faultDomains(
  env: ProgramEnv,
  cloud: ModelCloud,
  g: ModelGroup,
  rg: resources.ResourceGroup,
  parent: pulumi.Resource,
): AzureDomains {
  const hosts = new Map<number, compute.DedicatedHost>();
  if (g.construct.kind === 'azure:availability-set') {
    const availabilitySet = new compute.AvailabilitySet(
      `${g.component}-${cloud.name}-avset`,
      {
        resourceGroupName: rg.name,
        location: cloud.region,
        platformFaultDomainCount: g.construct.domains.length,
        platformUpdateDomainCount: 5,
        sku: { name: 'Aligned' }, // required for managed disks
        tags: env.tags(),
      },
      { parent },
    );
    return { availabilitySet, hosts };
  }
  if (g.construct.kind === 'azure:dedicated-host') {
    const fdCount = Math.min(3, g.construct.domains.length);
    const group = new compute.DedicatedHostGroup(
      `${g.component}-${cloud.name}-hosts`,
      {
        resourceGroupName: rg.name,
        location: cloud.region,
        platformFaultDomainCount: fdCount,
        supportAutomaticPlacement: false,
        tags: env.tags(),
      },
      { parent },
    );
    for (const slot of g.construct.slotOf.values()) {
      hosts.set(
        slot,
        new compute.DedicatedHost(
          `${g.component}-${cloud.name}-host-${slot}`,
          {
            resourceGroupName: rg.name,
            hostGroupName: group.name,
            location: cloud.region,
            sku: { name: DEDICATED_HOST_SKU },
            // Hosts of consecutive domains also land on different racks where the group has them.
            platformFaultDomain: (slot - 1) % fdCount,
            autoReplaceOnFailure: true,
            tags: env.tags({ 'tclouds-domain': String(slot) }),
          },
          { parent },
        ),
      );
    }
  }
  return { hosts };
}

/** The node's NIC: the plan's static private address, its public address, its role's NSG. */
function networkInterface(
  env: ProgramEnv,
  cloud: ModelCloud,
  m: ModelNode,
  on: {
    rg: resources.ResourceGroup;
    subnet: network.Subnet;
    nsg: network.NetworkSecurityGroup;
    pip: network.PublicIPAddress;
    parent: pulumi.Resource;
  },
): network.NetworkInterface {
  return new network.NetworkInterface(
    `${m.node.id}-nic`,
    {
      resourceGroupName: on.rg.name,
      location: cloud.region,
      networkSecurityGroup: { id: on.nsg.id },
      ipConfigurations: [
        {
          name: 'primary',
          primary: true,
          subnet: { id: on.subnet.id },
          privateIPAllocationMethod: 'Static',
          privateIPAddress: m.privateIp,
          publicIPAddress: { id: on.pip.id },
        },
      ],
      tags: env.tags({ 'tclouds-node': m.node.id }),
    },
    { parent: on.parent },
  );
}

/** The node's VM: in its availability set or on its domain's host, password login off, cloud-init as custom data. */
function virtualMachine(
  env: ProgramEnv,
  cloud: ModelCloud,
  m: ModelNode,
  on: {
    rg: resources.ResourceGroup;
    nic: network.NetworkInterface;
    domains: AzureDomains;
    identity: managedidentity.UserAssignedIdentity;
    userData: pulumi.Output<string>;
    parent: pulumi.Resource;
  },
): compute.VirtualMachine {
  const { availabilitySet } = on.domains;
  const host = on.domains.hosts.get(m.slot);
  return new compute.VirtualMachine(
    m.node.id,
    {
      resourceGroupName: on.rg.name,
      location: cloud.region,
      hardwareProfile: { vmSize: host ? DEDICATED_VM_SIZE : VM_SIZE },
      ...(availabilitySet ? { availabilitySet: { id: availabilitySet.id } } : {}),
      ...(host ? { host: { id: host.id } } : {}),
      // Its node's own identity (role assignments in azure-boot.ts and below): no key or connection string on disk.
      identity: { type: 'UserAssigned', userAssignedIdentities: [on.identity.id] },
      networkProfile: { networkInterfaces: [{ id: on.nic.id, primary: true }] },
      osProfile: {
        computerName: m.node.id.slice(0, 63),
        adminUsername: ADMIN_USER,
        // Boot values only (Azure: never secrets in customData); unchanged by a spec change or a new build.
        customData: on.userData.apply((s) => Buffer.from(s, 'utf8').toString('base64')),
        linuxConfiguration: {
          disablePasswordAuthentication: true,
          ssh: {
            publicKeys: [{ path: `/home/${ADMIN_USER}/.ssh/authorized_keys`, keyData: env.inputs.keys.sshPublicKey }],
          },
        },
      },
      storageProfile: {
        imageReference: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest' },
        osDisk: {
          createOption: 'FromImage',
          deleteOption: 'Delete',
          managedDisk: { storageAccountType: 'StandardSSD_LRS' },
        },
      },
      tags: env.tags({ 'tclouds-node': m.node.id, 'tclouds-domain': String(m.node.domain) }),
    },
    // `version: latest` is resolved when the VM is created; a newer image must never replace it. customData is read
    // once, at the first boot (Azure cannot change it on a VM): new VMs get the current one, running ones keep
    // theirs and take every update, the software included, from their secrets at their next start.
    { parent: on.parent, ignoreChanges: ['storageProfile.imageReference', 'osProfile.customData'] },
  );
}

/** The buckets of one cloud (into `out`), and their containers. */
function dataBuckets(env: ProgramEnv, cloud: ModelCloud, out: Realized): NamedContainer[] {
  if (cloud.buckets.length === 0) return [];
  // Buckets get their own resource group: deleting a group deletes everything in it, so the node group can go
  // on destroy while `--keep-data` keeps this one (retained, like the accounts in it).
  const dataRg = new resources.ResourceGroup(
    `${cloud.name}-data-rg`,
    { location: cloud.region, tags: env.tags({ 'tclouds-data': 'true' }) },
    { parent: env.cloudParent(cloud.name), retainOnDelete: env.inputs.retainData },
  );
  return cloud.buckets.map((b) => {
    const r = bucket(env, cloud, dataRg, b.name, b.component);
    out.buckets[`${cloud.name}/${b.name}`] = r.result;
    return { component: b.component, name: b.name, container: r.container };
  });
}

/** Each gateway VM's identity gets blob data access on its own component's containers, and on nothing else. */
function blobAccess(env: ProgramEnv, bucketVms: BucketVm[], containers: NamedContainer[]): void {
  if (bucketVms.length === 0) return;
  const subscription = authorization.getClientConfigOutput().subscriptionId;
  for (const { component, nodeId, identity } of bucketVms) {
    for (const c of containers.filter((x) => x.component === component)) {
      new authorization.RoleAssignment(
        `${nodeId}-${c.name}-access`,
        {
          principalId: identity.principalId,
          principalType: 'ServicePrincipal',
          roleDefinitionId: pulumi.interpolate`/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${BLOB_DATA_CONTRIBUTOR}`,
          scope: c.container.id,
        },
        { parent: env.component(component) },
      );
    }
  }
}

function networkOf(env: ProgramEnv, cloud: ModelCloud): AzureNetwork {
  const parent = env.cloudParent(cloud.name);
  const rg = new resources.ResourceGroup(`${cloud.name}-rg`, { location: cloud.region, tags: env.tags() }, { parent });
  const vnet = new network.VirtualNetwork(
    `${cloud.name}-vnet`,
    {
      resourceGroupName: rg.name,
      location: cloud.region,
      addressSpace: { addressPrefixes: [cloud.cidr] },
      tags: env.tags(),
    },
    // Subnets are separate resources: inline subnets would fight with them on every update.
    { parent, ignoreChanges: ['subnets'] },
  );
  const subnet = new network.Subnet(
    `${cloud.name}-subnet`,
    { resourceGroupName: rg.name, virtualNetworkName: vnet.name, addressPrefix: cloud.subnetCidr },
    { parent },
  );
  return { rg, subnet };
}

function nsg(
  env: ProgramEnv,
  cloud: ModelCloud,
  component: string,
  role: string,
  rg: resources.ResourceGroup,
  parent: pulumi.Resource,
): network.NetworkSecurityGroup {
  const group = cloud.groups.find((g) => g.component === component)!;
  const roleIps = group.nodes.filter((n) => n.node.role === role).map((n) => n.privateIp);
  // Azure refuses rules that mix IPv4 and IPv6 prefixes: one rule per family.
  const allows = rulesOf(cloud, component, role).flatMap((rule) =>
    sourcesByFamily(env, rule).map(({ v6, ranges: sources }) => ({
      name: `allow-${rule.portName}-${rule.port}${v6 ? '-v6' : ''}`.slice(0, 80),
      direction: 'Inbound',
      access: 'Allow',
      protocol: 'Tcp',
      sourcePortRange: '*',
      sourceAddressPrefixes: sources,
      destinationPortRange: String(rule.port),
      destinationAddressPrefixes: roleIps,
      description: `${component} ${rule.portName}`,
    })),
  );
  return new network.NetworkSecurityGroup(
    `${component}-${role}-${cloud.name}-nsg`,
    {
      resourceGroupName: rg.name,
      location: cloud.region,
      securityRules: [
        ...allows.map((rule, i) => ({ ...rule, priority: 100 + i })),
        // Azure's default AllowVnetInBound (65000) would open every port to the whole VNet: deny it first.
        {
          name: 'deny-vnet-inbound',
          priority: 4096,
          direction: 'Inbound',
          access: 'Deny',
          protocol: '*',
          sourcePortRange: '*',
          sourceAddressPrefix: 'VirtualNetwork',
          destinationPortRange: '*',
          destinationAddressPrefix: '*',
          description: 'only the rules above reach tclouds nodes',
        },
      ],
      tags: env.tags(),
    },
    { parent },
  );
}

function bucket(
  env: ProgramEnv,
  cloud: ModelCloud,
  rg: resources.ResourceGroup,
  name: string,
  component: string | undefined,
): { result: BucketResult; container: storage.BlobContainer } {
  const opts = { parent: bucketParent(env, cloud, component), retainOnDelete: env.inputs.retainData };
  const accountName = storageAccountName(env.plan.stack, cloud.name, name, env.inputs.nameSuffix);
  const account = new storage.StorageAccount(
    `${name}-account`,
    privateStorageAccountArgs(accountName, rg, cloud.region, env.tags()),
    opts,
  );
  const container = new storage.BlobContainer(
    name,
    { accountName: account.name, resourceGroupName: rg.name, containerName: containerName(name), publicAccess: 'None' },
    opts,
  );
  const expiry = new Date(Date.now() + SAS_DAYS * 86_400_000).toISOString().slice(0, 10);
  const sas = storage.listStorageAccountServiceSASOutput({
    accountName: account.name,
    resourceGroupName: rg.name,
    canonicalizedResource: pulumi.interpolate`/blob/${account.name}/${container.name}`,
    resource: 'c',
    permissions: 'rwdl',
    protocols: 'https',
    sharedAccessExpiryTime: `${expiry}T00:00:00Z`,
  });
  return {
    container,
    result: {
      cloud: cloud.name,
      name,
      region: cloud.region,
      endpoint: pulumi.interpolate`https://${account.name}.blob.core.windows.net`,
      credentials: pulumi.secret(
        sas.serviceSasToken.apply((sasToken) => ({ sasToken, container: containerName(name) })),
      ),
    },
  };
}
