/**
 * AWS rendering of the realization model (@pulumi/aws 7.x; only the ec2, s3 and iam submodules are loaded).
 *
 * Per cloud: VPC + one subnet in `<region>a` (partition placement groups are per availability zone) + internet
 * gateway for the VMs' outbound installs. Per node: an Elastic IP (static, so peers in other clouds can be allowed
 * by /32), its own IAM role, its secrets (aws-boot.ts), and an instance with IMDSv2 only, an encrypted root disk and
 * user data holding only its boot values. Per stack: the artifact bucket (aws-boot.ts). Per component
 * and cloud: a partition placement group (`placementPartitionNumber` = domain slot) or one dedicated host per
 * domain. Per role: a security group opening only the role's linked ports to exactly the linked sources.
 * Per bucket: public access blocked, SSE on, TLS-only policy, and an IAM user whose policy names only that bucket.
 */
import * as ec2 from '@pulumi/aws/ec2/index.js';
import * as iam from '@pulumi/aws/iam/index.js';
import * as s3 from '@pulumi/aws/s3/index.js';
import * as pulumi from '@pulumi/pulumi';
import { artifactPolicy, artifactStore, nodeBoot, nodeIdentity } from './aws-boot.js';
import { type ModelCloud, type ModelGroup, type ModelNode, rolesIn, rulesOf } from './model.js';
import { globalBucketName } from './names.js';
import { needsFederation } from './node-boot.js';
import {
  type BucketResult,
  bucketParent,
  networksAndAddresses,
  type ProgramEnv,
  type Realized,
} from './program-env.js';

/** Burstable default; dedicated hosts carry one instance type, so they get a type that hosts support. */
const INSTANCE_TYPE = 't3.small';
const DEDICATED_INSTANCE_TYPE = 'm5.large';
/** Canonical's account: Ubuntu 24.04 LTS images. */
const UBUNTU_OWNER = '099720109477';

interface AwsNetwork {
  vpc: ec2.Vpc;
  subnet: ec2.Subnet;
  az: string;
}

/** The fault-domain construct of one group: a partition placement group, or one dedicated host per domain slot. */
interface AwsDomains {
  placementGroup?: ec2.PlacementGroup;
  hosts: Map<number, ec2.DedicatedHost>;
}

/** Step one (program-env.ts `ProviderModule`): networks and every node's Elastic IP, before any VM of any provider. */
export function addresses(env: ProgramEnv): AwsAddresses {
  const eips = new Map<string, ec2.Eip>();
  const nets = networksAndAddresses(
    env,
    (cloud) => network(env, cloud),
    (cloud, g, m) => {
      const eip = elasticIp(env, cloud, g.component, m);
      eips.set(m.node.id, eip);
      return eip.publicIp;
    },
  );
  return { nets, eips };
}

interface AwsAddresses {
  nets: Map<string, AwsNetwork>;
  eips: Map<string, ec2.Eip>;
}

export function realize(env: ProgramEnv, addressed: AwsAddresses = addresses(env)): Realized {
  const out: Realized = { nodes: {}, buckets: {}, images: {}, gatewayIdentities: {} };
  // 1. Networks and static public addresses first (`addresses`): firewalls of one cloud name addresses of the others.
  const { nets, eips } = addressed;
  // The node software, readable by the node roles only (the policy naming them comes after the last VM).
  const artifact = artifactStore(env);
  const roles: iam.Role[] = [];
  for (const cloud of env.model.clouds) {
    const net = nets.get(cloud.name)!;
    // Pinned per region at the first deploy (stack-pins.ts): a newer Ubuntu image never replaces the VMs.
    const ami = env.inputs.images?.[cloud.region] ?? ubuntuAmi(cloud.region);
    out.images![cloud.region] = ami;
    for (const g of cloud.groups) {
      const parent = env.component(g.component);
      // 2. Firewall: one security group per role. 3. Fault-domain construct. 4. One instance per node.
      const sgs = new Map<string, ec2.SecurityGroup>();
      for (const role of rolesIn(cloud, g.component)) {
        sgs.set(role, securityGroup(env, cloud, g.component, role, net.vpc, parent));
      }
      const domains = faultDomains(env, cloud, g, net.az, parent);
      for (const m of g.nodes) {
        // Each node its own role: its secrets, the artifact and (gateways) the buckets, through the instance role.
        const identity = nodeIdentity(env, m, parent);
        roles.push(identity.role);
        if (needsFederation(env.plan, m.node)) {
          // arn:aws:iam::<account>:role/<path>/<name>: the GCP part admits exactly this role (gcp-federation.ts).
          out.gatewayIdentities![m.node.id] = pulumi
            .all([identity.role.arn, identity.role.name])
            .apply(([arn, roleName]) => ({ provider: 'aws' as const, accountId: arn.split(':')[4] ?? '', roleName }));
        }
        const userData = nodeBoot(env, cloud, m, identity, artifact, parent);
        const vm = instance(env, cloud, m, {
          ami,
          net,
          sg: sgs.get(m.node.role)!,
          domains,
          profile: identity.profile,
          userData,
          parent,
        });
        const eip = eips.get(m.node.id)!;
        new ec2.EipAssociation(
          `${m.node.id}-ip-assoc`,
          { allocationId: eip.allocationId, instanceId: vm.id, region: cloud.region },
          { parent },
        );
        out.nodes[m.node.id] = { privateIp: m.privateIp, publicIp: eip.publicIp };
      }
    }
    for (const b of cloud.buckets) out.buckets[`${cloud.name}/${b.name}`] = bucket(env, cloud, b.name, b.component);
  }
  if (artifact) artifactPolicy(env, artifact, roles);
  return out;
}

/** A static public address per node, so peers in other clouds can be allowed by /32. */
function elasticIp(env: ProgramEnv, cloud: ModelCloud, component: string, m: ModelNode): ec2.Eip {
  return new ec2.Eip(
    `${m.node.id}-ip`,
    {
      domain: 'vpc',
      region: cloud.region,
      tags: env.tags({ Name: `${m.node.id}-ip`, 'tclouds-node': m.node.id }),
    },
    { parent: env.component(component) },
  );
}

/** The newest Ubuntu 24.04 LTS image of the region. */
function ubuntuAmi(region: string): pulumi.Output<string> {
  return ec2.getAmiOutput({
    mostRecent: true,
    owners: [UBUNTU_OWNER],
    region,
    filters: [{ name: 'name', values: ['ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*'] }],
  }).id;
}

function faultDomains(
  env: ProgramEnv,
  cloud: ModelCloud,
  g: ModelGroup,
  az: string,
  parent: pulumi.Resource,
): AwsDomains {
  const hosts = new Map<number, ec2.DedicatedHost>();
  if (g.construct.kind === 'aws:partition-placement-group') {
    const placementGroup = new ec2.PlacementGroup(
      `${g.component}-${cloud.name}-pg`,
      {
        strategy: 'partition', // the PlacementStrategy enum has no Partition member
        partitionCount: g.construct.domains.length,
        region: cloud.region,
        tags: env.tags(),
      },
      { parent },
    );
    return { placementGroup, hosts };
  }
  if (g.construct.kind === 'aws:dedicated-host') {
    for (const slot of g.construct.slotOf.values()) {
      hosts.set(
        slot,
        new ec2.DedicatedHost(
          `${g.component}-${cloud.name}-host-${slot}`,
          {
            availabilityZone: az,
            instanceType: DEDICATED_INSTANCE_TYPE,
            autoPlacement: 'off',
            hostRecovery: 'on',
            region: cloud.region,
            tags: env.tags({ 'tclouds-domain': String(slot) }),
          },
          { parent },
        ),
      );
    }
  }
  return { hosts };
}

/** The VM of one node: in its domain's partition or on its domain's host, IMDSv2 only, encrypted root disk. */
function instance(
  env: ProgramEnv,
  cloud: ModelCloud,
  m: ModelNode,
  on: {
    ami: pulumi.Input<string>;
    net: AwsNetwork;
    sg: ec2.SecurityGroup;
    domains: AwsDomains;
    profile: iam.InstanceProfile;
    userData: pulumi.Output<string>;
    parent: pulumi.Resource;
  },
): ec2.Instance {
  const { placementGroup } = on.domains;
  const host = on.domains.hosts.get(m.slot);
  return new ec2.Instance(
    m.node.id,
    {
      ami: on.ami,
      instanceType: host ? DEDICATED_INSTANCE_TYPE : INSTANCE_TYPE,
      region: cloud.region,
      availabilityZone: on.net.az,
      subnetId: on.net.subnet.id,
      privateIp: m.privateIp,
      vpcSecurityGroupIds: [on.sg.id],
      ...(placementGroup ? { placementGroup: placementGroup.name, placementPartitionNumber: m.slot } : {}),
      ...(host ? { hostId: host.id, tenancy: 'host' } : {}),
      iamInstanceProfile: on.profile.name,
      // Boot values only (secret store refs, the first boot's runtime and installer): neither a spec nor a build
      // changes them; both reach the node through its secrets at its next start (rolled by deploy, rollout.ts).
      userData: on.userData,
      // IMDSv2 only, one hop: containers on the VM cannot take the instance role (it reads the node's secrets).
      metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
      rootBlockDevice: { encrypted: true, volumeSize: 20, volumeType: 'gp3' },
      tags: env.tags({ Name: m.node.id, 'tclouds-node': m.node.id, 'tclouds-domain': String(m.node.domain) }),
    },
    // cloud-init reads user data once, at the first boot: a change to it (a newer installer or first-boot runtime
    // of a later tclouds) could only take effect by replacing the VM, which would take its whole group down at
    // once. New VMs get the current one; running ones keep theirs and take every update from their secrets.
    { parent: on.parent, ignoreChanges: ['userData'] },
  );
}

function network(env: ProgramEnv, cloud: ModelCloud): AwsNetwork {
  const parent = env.cloudParent(cloud.name);
  const region = cloud.region;
  const az = `${region}a`;
  const vpc = new ec2.Vpc(
    `${cloud.name}-vpc`,
    {
      cidrBlock: cloud.cidr,
      enableDnsHostnames: true,
      region,
      tags: env.tags({ Name: `${env.plan.stack}-${cloud.name}` }),
    },
    { parent },
  );
  const igw = new ec2.InternetGateway(`${cloud.name}-igw`, { vpcId: vpc.id, region, tags: env.tags() }, { parent });
  const rt = new ec2.RouteTable(
    `${cloud.name}-rt`,
    { vpcId: vpc.id, region, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }], tags: env.tags() },
    { parent },
  );
  const subnet = new ec2.Subnet(
    `${cloud.name}-subnet`,
    {
      vpcId: vpc.id,
      cidrBlock: cloud.subnetCidr,
      availabilityZone: az,
      mapPublicIpOnLaunch: false,
      region,
      tags: env.tags(),
    },
    { parent },
  );
  new ec2.RouteTableAssociation(`${cloud.name}-rta`, { subnetId: subnet.id, routeTableId: rt.id, region }, { parent });
  return { vpc, subnet, az };
}

function securityGroup(
  env: ProgramEnv,
  cloud: ModelCloud,
  component: string,
  role: string,
  vpc: ec2.Vpc,
  parent: pulumi.Resource,
): ec2.SecurityGroup {
  const ingress = rulesOf(cloud, component, role).map((rule) => {
    const { v4, v6 } = env.sourceRanges(rule);
    return {
      protocol: 'tcp',
      fromPort: rule.port,
      toPort: rule.port,
      cidrBlocks: v4,
      ...(v6.length > 0 ? { ipv6CidrBlocks: v6 } : {}),
      description: `${component} ${rule.portName}`,
    };
  });
  return new ec2.SecurityGroup(
    `${component}-${role}-${cloud.name}-sg`,
    {
      vpcId: vpc.id,
      region: cloud.region,
      description: `tclouds ${component} ${role}: linked ports only`,
      ingress,
      // Outbound stays open: nodes install Node.js and tclouds, and reach peers and buckets in other clouds.
      egress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'], description: 'outbound' }],
      tags: env.tags(),
    },
    { parent },
  );
}

function bucket(env: ProgramEnv, cloud: ModelCloud, name: string, component: string | undefined): BucketResult {
  const parent = bucketParent(env, cloud, component);
  const region = cloud.region;
  // Data is kept unless `destroy --delete-data`: retained, the bucket leaves the state and stays in the cloud.
  const opts = { parent, retainOnDelete: env.inputs.retainData };
  const bucketName = globalBucketName(name, env.inputs.nameSuffix);
  const b = new s3.Bucket(
    name,
    { bucket: bucketName, region, forceDestroy: !env.inputs.retainData, tags: env.tags() },
    opts,
  );
  new s3.BucketPublicAccessBlock(
    `${name}-no-public`,
    {
      bucket: b.id,
      region,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new s3.BucketOwnershipControls(
    `${name}-owner`,
    { bucket: b.id, region, rule: { objectOwnership: 'BucketOwnerEnforced' } },
    opts,
  );
  new s3.BucketServerSideEncryptionConfiguration(
    `${name}-sse`,
    {
      bucket: b.id,
      region,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }],
    },
    opts,
  );
  new s3.BucketPolicy(
    `${name}-tls-only`,
    {
      bucket: b.id,
      region,
      policy: b.arn.apply((arn) =>
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [arn, `${arn}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      ),
    },
    opts,
  );
  // Credentials that can touch this bucket and nothing else; kept with a kept bucket, so its data stays readable.
  const keep = { parent, retainOnDelete: env.inputs.retainData };
  // forceDestroy: a writer adopted after a destroy that kept data still holds that destroy's key, which this state
  // does not manage; `destroy --delete-data` must remove the user anyway.
  const user = new iam.User(`${name}-writer`, { path: '/tclouds/', tags: env.tags(), forceDestroy: true }, keep);
  new iam.UserPolicy(
    `${name}-writer-policy`,
    {
      user: user.name,
      policy: b.arn.apply((arn) =>
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: [arn] },
            { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: [`${arn}/*`] },
          ],
        }),
      ),
    },
    keep,
  );
  const key = new iam.AccessKey(`${name}-writer-key`, { user: user.name }, keep);
  return {
    cloud: cloud.name,
    name: b.bucket,
    region,
    endpoint: `https://s3.${region}.amazonaws.com`,
    credentials: pulumi.secret(
      pulumi.all([key.id, key.secret]).apply(([accessKeyId, secretAccessKey]) => ({ accessKeyId, secretAccessKey })),
    ),
  };
}
