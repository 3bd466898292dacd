/**
 * GCP rendering of the realization model (@pulumi/gcp 9.x; only the compute, storage and serviceaccount
 * submodules are loaded).
 *
 * Per cloud: a custom-mode network (GCP's implied rules deny all ingress there) and one regional subnet. Per node:
 * a static external address, its own service account and secrets (gcp-boot.ts), and an instance in `<region>-b`
 * running as that account, with `user-data` metadata holding only its boot values and project SSH keys blocked. Per
 * stack: the artifact bucket (gcp-boot.ts). Per component and cloud: a spread resource policy
 * (`groupPlacementPolicy.availabilityDomainCount`, each VM pinned with `scheduling.availabilityDomain`) or
 * sole-tenant node groups (one node per domain, each VM pinned by node affinity). Per role and port: a firewall
 * rule from exactly the linked sources to the role's network tag. Per bucket: uniform bucket-level access, public
 * access prevention enforced (GCS encrypts all data at rest); the component's gateways' service accounts are bound to
 * it (no service-account key exists: organisations refuse them); gateways on other providers reach it by workload
 * identity federation (gcp-federation.ts).
 */
import * as compute from '@pulumi/gcp/compute/index.js';
import type * as serviceaccount from '@pulumi/gcp/serviceaccount/index.js';
import * as storage from '@pulumi/gcp/storage/index.js';
import * as pulumi from '@pulumi/pulumi';
import { artifactReaders, artifactStore, nodeBoot, nodeIdentity } from './gcp-boot.js';
import { federation } from './gcp-federation.js';
import {
  componentBuckets,
  type ModelCloud,
  type ModelGroup,
  type ModelNode,
  rolesIn,
  roleTag,
  rulesOf,
} from './model.js';
import { globalBucketName } from './names.js';
import { isGateway } from './node-boot.js';
import {
  type BucketResult,
  bucketParent,
  networksAndAddresses,
  type ProgramEnv,
  type Realized,
  sourcesByFamily,
} from './program-env.js';

/** Spread placement policies are only offered for some machine families (N2 among them). */
const MACHINE_TYPE = 'n2-standard-2';
const SOLE_TENANT_NODE_TYPE = 'n2-node-80-640';
const IMAGE = 'ubuntu-os-cloud/ubuntu-2404-lts-amd64';

interface GcpNetwork {
  network: compute.Network;
  subnet: compute.Subnetwork;
  zone: string;
}

/** The fault-domain construct of one group: a spread resource policy, or one sole-tenant node group per domain. */
interface GcpDomains {
  policy?: compute.ResourcePolicy;
  nodeGroups: Map<number, compute.NodeGroup>;
}

/** Step one (program-env.ts `ProviderModule`): networks and every node's static address, before any VM. */
export function addresses(env: ProgramEnv): Map<string, GcpNetwork> {
  return networksAndAddresses(
    env,
    (cloud) => networkOf(env, cloud),
    (cloud, g, m) =>
      new compute.Address(
        `${m.node.id}-ip`,
        { region: cloud.region, addressType: 'EXTERNAL', labels: env.tags() },
        { parent: env.component(g.component) },
      ).address,
  );
}

export function realize(env: ProgramEnv, nets: Map<string, GcpNetwork> = addresses(env)): Realized {
  const out: Realized = { nodes: {}, buckets: {} };
  // Networks and static public addresses first (`addresses`): firewalls of one cloud name addresses of the others.
  // Every VM runs as its own service account: its secrets, the artifact and (gateways) the component's buckets.
  const identities = new Map<string, serviceaccount.Account>();
  const artifact = artifactStore(env);
  const bucketResources = new Map<string, storage.Bucket>();
  for (const cloud of env.model.clouds) {
    const net = nets.get(cloud.name)!;
    // One sole-tenant node template per cloud, made for the first group that needs it.
    let template: compute.NodeTemplate | undefined;
    const templateOf = () => {
      template ??= new compute.NodeTemplate(
        `${cloud.name}-node-template`,
        { region: cloud.region, nodeType: SOLE_TENANT_NODE_TYPE },
        { parent: env.cloudParent(cloud.name) },
      );
      return template;
    };
    for (const g of cloud.groups) {
      const parent = env.component(g.component);
      for (const role of rolesIn(cloud, g.component)) firewalls(env, cloud, g.component, role, net.network, parent);
      const domains = faultDomains(cloud, g, net.zone, templateOf, parent);
      for (const m of g.nodes) {
        const identity = nodeIdentity(env, m, parent);
        identities.set(m.node.id, identity);
        const userData = nodeBoot(env, cloud, m, { identity, artifact, parent });
        instance(env, g, m, { net, domains, identity, userData, parent });
        out.nodes[m.node.id] = { privateIp: m.privateIp, publicIp: env.publicIps.get(m.node.id)! };
      }
    }
    for (const b of cloud.buckets) {
      const r = bucket(env, cloud, b.name, b.component);
      out.buckets[`${cloud.name}/${b.name}`] = r.result;
      bucketResources.set(b.name, r.bucket);
    }
  }
  bucketAccess(env, identities, bucketResources);
  // Gateways on AWS and Azure (realized before GCP in this program, or recorded by another deployment): their VM
  // identities through the stack's workload identity pool (no key).
  const audiences = federation(env, new Map([...bucketResources].map(([k, b]) => [k, b.name] as const)));
  if (Object.keys(audiences).length > 0) {
    const record = pulumi.secret(pulumi.all(audiences).apply((a) => ({ audiences: a })));
    for (const r of Object.values(out.buckets)) r.credentials = record;
  }
  if (artifact) artifactReaders(env, artifact, identities);
  return out;
}

function faultDomains(
  cloud: ModelCloud,
  g: ModelGroup,
  zone: string,
  template: () => compute.NodeTemplate,
  parent: pulumi.Resource,
): GcpDomains {
  const nodeGroups = new Map<number, compute.NodeGroup>();
  if (g.construct.kind === 'gcp:resource-policy') {
    const policy = new compute.ResourcePolicy(
      `${g.component}-${cloud.name}-spread`,
      { region: cloud.region, groupPlacementPolicy: { availabilityDomainCount: g.construct.domains.length } },
      { parent },
    );
    return { policy, nodeGroups };
  }
  if (g.construct.kind === 'gcp:sole-tenant-node') {
    const nodeTemplate = template().id;
    for (const slot of g.construct.slotOf.values()) {
      nodeGroups.set(
        slot,
        new compute.NodeGroup(
          `${g.component}-${cloud.name}-node-${slot}`,
          { zone, nodeTemplate, initialSize: 1, description: `tclouds ${g.component} domain ${slot}` },
          { parent },
        ),
      );
    }
  }
  return { nodeGroups };
}

/** The node's VM: pinned to its availability domain or its node group, shielded, cloud-init as user data. */
function instance(
  env: ProgramEnv,
  g: ModelGroup,
  m: ModelNode,
  on: {
    net: GcpNetwork;
    domains: GcpDomains;
    identity: serviceaccount.Account;
    userData: pulumi.Output<string>;
    parent: pulumi.Resource;
  },
): compute.Instance {
  const { policy } = on.domains;
  const group = on.domains.nodeGroups.get(m.slot);
  const scheduling = policy
    ? { availabilityDomain: m.slot }
    : group
      ? {
          nodeAffinities: [{ key: 'compute.googleapis.com/node-group-name', operator: 'IN', values: [group.name] }],
        }
      : undefined;
  return new compute.Instance(
    m.node.id,
    {
      zone: on.net.zone,
      machineType: MACHINE_TYPE,
      // An image family: resolved when the VM is created, never compared again (ignoreChanges below).
      bootDisk: { initializeParams: { image: IMAGE, size: 20 } },
      networkInterfaces: [
        {
          subnetwork: on.net.subnet.id,
          networkIp: m.privateIp,
          accessConfigs: [{ natIp: env.publicIps.get(m.node.id)! }],
        },
      ],
      // Boot values only: metadata is readable by every process on the VM and by whoever may describe it.
      metadata: { 'user-data': on.userData, 'block-project-ssh-keys': 'TRUE' },
      tags: [roleTag(g.component, m.node.role)],
      ...(policy ? { resourcePolicies: policy.selfLink } : {}),
      ...(scheduling ? { scheduling } : {}),
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      // IAM decides what the account may do (its bindings are per secret and per bucket); the scope does not.
      serviceAccount: { email: on.identity.email, scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
      labels: env.tags({ 'tclouds-node': m.node.id, 'tclouds-domain': String(m.node.domain) }),
    },
    // user-data is read once, at the first boot: an update in place would change nothing on the VM (running ones
    // take every update, the software included, from their secrets at their next start).
    { parent: on.parent, ignoreChanges: ['bootDisk.initializeParams.image', 'metadata["user-data"]'] },
  );
}

/** Each gateway's service account gets object access on its component's buckets, and on nothing else. */
function bucketAccess(
  env: ProgramEnv,
  identities: Map<string, serviceaccount.Account>,
  bucketResources: Map<string, storage.Bucket>,
): void {
  for (const [nodeId, identity] of identities) {
    const m = env.model.nodes.get(nodeId)!;
    if (!isGateway(env.plan, m.node)) continue;
    for (const b of componentBuckets(env.model, m.node.component)) {
      new storage.BucketIAMMember(
        `${b.name}-${nodeId}-binding`,
        {
          bucket: bucketResources.get(b.name)!.name,
          role: 'roles/storage.objectAdmin',
          member: pulumi.interpolate`serviceAccount:${identity.email}`,
        },
        { parent: env.component(m.node.component) },
      );
    }
  }
}

function networkOf(env: ProgramEnv, cloud: ModelCloud): GcpNetwork {
  const parent = env.cloudParent(cloud.name);
  const network = new compute.Network(
    `${cloud.name}-net`,
    { autoCreateSubnetworks: false, routingMode: 'REGIONAL', description: `tclouds ${env.plan.stack}` },
    { parent },
  );
  const subnet = new compute.Subnetwork(
    `${cloud.name}-subnet`,
    { region: cloud.region, network: network.id, ipCidrRange: cloud.subnetCidr, privateIpGoogleAccess: true },
    { parent },
  );
  return { network, subnet, zone: `${cloud.region}-b` };
}

function firewalls(
  env: ProgramEnv,
  cloud: ModelCloud,
  component: string,
  role: string,
  network: compute.Network,
  parent: pulumi.Resource,
): void {
  for (const rule of rulesOf(cloud, component, role)) {
    // GCP wants one address family per rule.
    for (const { v6, ranges } of sourcesByFamily(env, rule)) {
      new compute.Firewall(
        `${component}-${role}-${cloud.name}-${rule.port}${v6 ? '-v6' : ''}`,
        {
          network: network.id,
          direction: 'INGRESS',
          priority: 1000,
          allows: [{ protocol: 'tcp', ports: [String(rule.port)] }],
          sourceRanges: ranges,
          targetTags: [roleTag(component, role)],
          description: `tclouds ${component} ${role} ${rule.portName}`,
        },
        { parent },
      );
    }
  }
}

function bucket(
  env: ProgramEnv,
  cloud: ModelCloud,
  name: string,
  component: string | undefined,
): { result: BucketResult; bucket: storage.Bucket } {
  const parent = bucketParent(env, cloud, component);
  const b = new storage.Bucket(
    name,
    {
      name: globalBucketName(name, env.inputs.nameSuffix),
      location: cloud.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      // Objects go with the bucket only under `destroy --delete-data`; otherwise the bucket is retained.
      forceDestroy: !env.inputs.retainData,
      labels: env.tags(),
    },
    { parent, retainOnDelete: env.inputs.retainData },
  );
  return {
    bucket: b,
    result: {
      cloud: cloud.name,
      name: b.name,
      region: cloud.region,
      endpoint: 'https://storage.googleapis.com',
      // No bucket key: GCP issues none (organisation policies refuse service-account keys); the gateways' VM
      // service accounts are bound to the bucket (bucketAccess), other providers' gateways by federation (realize).
    },
  };
}
