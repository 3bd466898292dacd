/**
 * GCP rendering of the realization model (@pulumi/gcp 9.x; only the compute, storage and serviceaccount
 * submodules are loaded).
 *
 * Per cloud: a custom-mode network (GCP's implied rules deny all ingress there) and one regional subnet. Per node:
 * a static external address and an instance in `<region>-b` with its cloud-init as secret `user-data` metadata and
 * project SSH keys blocked. Per component and cloud: a spread resource policy
 * (`groupPlacementPolicy.availabilityDomainCount`, each VM pinned with `scheduling.availabilityDomain`) or
 * sole-tenant node groups (one node per domain, each VM pinned by node affinity). Per role and port: a firewall
 * rule from exactly the linked sources to the role's network tag. Per bucket: uniform bucket-level access, public
 * access prevention enforced (GCS encrypts all data at rest), and a service account bound to that bucket alone.
 */
import { createHash } from 'node:crypto';
import * as compute from '@pulumi/gcp/compute/index.js';
import * as serviceaccount from '@pulumi/gcp/serviceaccount/index.js';
import * as storage from '@pulumi/gcp/storage/index.js';
import * as pulumi from '@pulumi/pulumi';
import { type ModelCloud, rolesIn, roleTag, rulesOf, slug } from './model.js';
import type { BucketResult, NodeResult, ProgramEnv } from './program-env.js';

/** Spread placement policies are only offered for some machine families (N2 among them). */
const MACHINE_TYPE = 'n2-standard-2';
const SOLE_TENANT_NODE_TYPE = 'n2-node-80-640';
const IMAGE = 'ubuntu-os-cloud/ubuntu-2404-lts-amd64';

export function realize(env: ProgramEnv): { nodes: Record<string, NodeResult>; buckets: Record<string, BucketResult> } {
  const nodes: Record<string, NodeResult> = {};
  const buckets: Record<string, BucketResult> = {};
  const nets = new Map<string, { network: compute.Network; subnet: compute.Subnetwork; zone: string }>();

  for (const cloud of env.model.clouds) {
    nets.set(cloud.name, networkOf(env, cloud));
    for (const g of cloud.groups) {
      for (const m of g.nodes) {
        const address = new compute.Address(
          `${m.node.id}-ip`,
          { region: cloud.region, addressType: 'EXTERNAL', labels: env.tags() },
          { parent: env.component(g.component) },
        );
        env.publicIps.set(m.node.id, address.address);
      }
    }
  }

  const identities = new Map<string, serviceaccount.Account | undefined>();
  const identityOf = (component: string) => {
    if (!identities.has(component)) identities.set(component, nodeIdentity(env, component));
    return identities.get(component);
  };
  const bucketResources = new Map<string, storage.Bucket>();

  for (const cloud of env.model.clouds) {
    const { network, subnet, zone } = nets.get(cloud.name)!;
    let template: compute.NodeTemplate | undefined;
    for (const g of cloud.groups) {
      const parent = env.component(g.component);
      for (const role of rolesIn(cloud, g.component)) firewalls(env, cloud, g.component, role, network, parent);
      let policy: compute.ResourcePolicy | undefined;
      const nodeGroups = new Map<number, compute.NodeGroup>();
      if (g.construct.kind === 'gcp:resource-policy') {
        policy = new compute.ResourcePolicy(
          `${g.component}-${cloud.name}-spread`,
          { region: cloud.region, groupPlacementPolicy: { availabilityDomainCount: g.construct.domains.length } },
          { parent },
        );
      } else if (g.construct.kind === 'gcp:sole-tenant-node') {
        template ??= new compute.NodeTemplate(
          `${cloud.name}-node-template`,
          { region: cloud.region, nodeType: SOLE_TENANT_NODE_TYPE },
          { parent: env.cloudParent(cloud.name) },
        );
        for (const slot of g.construct.slotOf.values()) {
          nodeGroups.set(
            slot,
            new compute.NodeGroup(
              `${g.component}-${cloud.name}-node-${slot}`,
              { zone, nodeTemplate: template.id, initialSize: 1, description: `tclouds ${g.component} domain ${slot}` },
              { parent },
            ),
          );
        }
      }
      for (const m of g.nodes) {
        const group = nodeGroups.get(m.slot);
        const scheduling = policy
          ? { availabilityDomain: m.slot }
          : group
            ? {
                nodeAffinities: [
                  { key: 'compute.googleapis.com/node-group-name', operator: 'IN', values: [group.name] },
                ],
              }
            : undefined;
        const identity = identityOf(g.component);
        new compute.Instance(
          m.node.id,
          {
            zone,
            machineType: MACHINE_TYPE,
            bootDisk: { initializeParams: { image: IMAGE, size: 20 } },
            networkInterfaces: [
              {
                subnetwork: subnet.id,
                networkIp: m.privateIp,
                accessConfigs: [{ natIp: env.publicIps.get(m.node.id)! }],
              },
            ],
            metadata: { 'user-data': env.userData(m.node.id), 'block-project-ssh-keys': 'TRUE' },
            tags: [roleTag(g.component, m.node.role)],
            ...(policy ? { resourcePolicies: policy.selfLink } : {}),
            ...(scheduling ? { scheduling } : {}),
            shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
            ...(identity
              ? {
                  serviceAccount: { email: identity.email, scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
                }
              : {}),
            labels: env.tags({ 'tclouds-node': m.node.id, 'tclouds-domain': String(m.node.domain) }),
          },
          { parent },
        );
        nodes[m.node.id] = { privateIp: m.privateIp, publicIp: env.publicIps.get(m.node.id)! };
      }
    }
    for (const b of cloud.buckets) {
      const r = bucket(env, cloud, b.name, b.component);
      buckets[`${cloud.name}/${b.name}`] = r.result;
      bucketResources.set(b.name, r.bucket);
    }
  }
  // The node identity of a component gets object access on that component's buckets, and on nothing else.
  for (const [component, identity] of identities) {
    if (!identity) continue;
    for (const cloud of env.model.clouds) {
      for (const b of cloud.buckets.filter((x) => x.component === component)) {
        new storage.BucketIAMMember(
          `${b.name}-nodes-binding`,
          {
            bucket: bucketResources.get(b.name)!.name,
            role: 'roles/storage.objectAdmin',
            member: pulumi.interpolate`serviceAccount:${identity.email}`,
          },
          { parent: env.component(component) },
        );
      }
    }
  }
  return { nodes, buckets };
}

function networkOf(env: ProgramEnv, cloud: ModelCloud) {
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
    const { v4, v6 } = env.sourceRanges(rule);
    // GCP wants one address family per rule.
    const families: [string, pulumi.Input<string[]>][] = [['v4', v4]];
    if (v6.length > 0) families.push(['v6', v6]);
    for (const [family, ranges] of families) {
      new compute.Firewall(
        `${component}-${role}-${cloud.name}-${rule.port}${family === 'v6' ? '-v6' : ''}`,
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

/** Service-account ids: 6-30 characters, `[a-z][-a-z0-9]*[a-z0-9]`; derived, so stable across runs. */
export function serviceAccountId(stack: string, cloud: string, bucket: string): string {
  const hash = createHash('sha256').update(`${stack}/${cloud}/${bucket}`).digest('hex').slice(0, 8);
  const stem = slug(bucket)
    .replace(/^[^a-z]+/, '')
    .slice(0, 16)
    .replace(/-+$/, '');
  return `tc-${stem ? `${stem}-` : ''}${hash}`;
}

/** Service account the VMs of a bucket-owning component (storage gateways) run as; undefined for the others. */
function nodeIdentity(env: ProgramEnv, component: string): serviceaccount.Account | undefined {
  const owns = env.model.clouds.some((c) => c.buckets.some((b) => b.component === component));
  if (!owns) return undefined;
  return new serviceaccount.Account(
    `${component}-nodes`,
    { accountId: serviceAccountId(env.plan.stack, 'nodes', component), displayName: `tclouds ${component} nodes` },
    { parent: env.component(component) },
  );
}

function bucket(
  env: ProgramEnv,
  cloud: ModelCloud,
  name: string,
  component: string | undefined,
): { result: BucketResult; bucket: storage.Bucket } {
  const parent = component && env.plan.components[component] ? env.component(component) : env.cloudParent(cloud.name);
  const b = new storage.Bucket(
    name,
    {
      name,
      location: cloud.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      forceDestroy: false,
      labels: env.tags(),
    },
    { parent, retainOnDelete: env.inputs.retainData },
  );
  const account = new serviceaccount.Account(
    `${name}-writer`,
    { accountId: serviceAccountId(env.plan.stack, cloud.name, name), displayName: `tclouds writer of ${name}` },
    { parent },
  );
  // Bound on the bucket, not the project: the key opens this bucket and nothing else.
  new storage.BucketIAMMember(
    `${name}-writer-binding`,
    { bucket: b.name, role: 'roles/storage.objectAdmin', member: pulumi.interpolate`serviceAccount:${account.email}` },
    { parent },
  );
  const key = new serviceaccount.Key(`${name}-writer-key`, { serviceAccountId: account.name }, { parent });
  return {
    bucket: b,
    result: {
      cloud: cloud.name,
      name: b.name,
      region: cloud.region,
      endpoint: 'https://storage.googleapis.com',
      credentials: pulumi.secret(key.privateKey.apply((privateKey) => ({ serviceAccountKeyJsonBase64: privateKey }))),
    },
  };
}
