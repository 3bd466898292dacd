/**
 * AWS rendering of the realization model (@pulumi/aws 7.x; only the ec2, s3 and iam submodules are loaded).
 *
 * Per cloud: VPC + one subnet in `<region>a` (partition placement groups are per availability zone) + internet
 * gateway for the VMs' outbound installs. Per node: an Elastic IP (static, so peers in other clouds can be allowed
 * by /32) and an instance with IMDSv2 only, an encrypted root disk and its cloud-init as a secret. Per component
 * and cloud: a partition placement group (`placementPartitionNumber` = domain slot) or one dedicated host per
 * domain. Per role: a security group opening only the role's linked ports to exactly the linked sources.
 * Per bucket: public access blocked, SSE on, TLS-only policy, and an IAM user whose policy names only that bucket.
 */
import * as ec2 from '@pulumi/aws/ec2/index.js';
import * as iam from '@pulumi/aws/iam/index.js';
import * as s3 from '@pulumi/aws/s3/index.js';
import * as pulumi from '@pulumi/pulumi';
import { type ModelCloud, rolesIn, rulesOf } from './model.js';
import type { BucketResult, NodeResult, ProgramEnv } from './program-env.js';

/** Burstable default; dedicated hosts carry one instance type, so they get a type that hosts support. */
const INSTANCE_TYPE = 't3.small';
const DEDICATED_INSTANCE_TYPE = 'm5.large';
/** Canonical's account: Ubuntu 24.04 LTS images. */
const UBUNTU_OWNER = '099720109477';

export function realize(env: ProgramEnv): { nodes: Record<string, NodeResult>; buckets: Record<string, BucketResult> } {
  const nodes: Record<string, NodeResult> = {};
  const buckets: Record<string, BucketResult> = {};
  const nets = new Map<string, { vpc: ec2.Vpc; subnet: ec2.Subnet; az: string }>();

  // 1. Networks and static public addresses first: firewalls of one cloud name addresses of the others.
  const eips = new Map<string, ec2.Eip>();
  for (const cloud of env.model.clouds) {
    nets.set(cloud.name, network(env, cloud));
    for (const g of cloud.groups) {
      for (const m of g.nodes) {
        const eip = new ec2.Eip(
          `${m.node.id}-ip`,
          {
            domain: 'vpc',
            region: cloud.region,
            tags: env.tags({ Name: `${m.node.id}-ip`, 'tclouds-node': m.node.id }),
          },
          { parent: env.component(g.component) },
        );
        eips.set(m.node.id, eip);
        env.publicIps.set(m.node.id, eip.publicIp);
      }
    }
  }

  const profiles = new Map<string, iam.InstanceProfile | undefined>();
  const profileOf = (component: string) => {
    if (!profiles.has(component)) profiles.set(component, bucketAccess(env, component));
    return profiles.get(component);
  };

  for (const cloud of env.model.clouds) {
    const net = nets.get(cloud.name)!;
    const ami = ec2.getAmiOutput({
      mostRecent: true,
      owners: [UBUNTU_OWNER],
      region: cloud.region,
      filters: [{ name: 'name', values: ['ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*'] }],
    }).id;
    for (const g of cloud.groups) {
      const parent = env.component(g.component);
      // 2. Firewall: one security group per role.
      const sgs = new Map<string, ec2.SecurityGroup>();
      for (const role of rolesIn(cloud, g.component)) {
        sgs.set(role, securityGroup(env, cloud, g.component, role, net.vpc, parent));
      }
      // 3. Fault-domain construct.
      let placementGroup: ec2.PlacementGroup | undefined;
      const hosts = new Map<number, ec2.DedicatedHost>();
      if (g.construct.kind === 'aws:partition-placement-group') {
        placementGroup = new ec2.PlacementGroup(
          `${g.component}-${cloud.name}-pg`,
          {
            strategy: 'partition', // the PlacementStrategy enum has no Partition member
            partitionCount: g.construct.domains.length,
            region: cloud.region,
            tags: env.tags(),
          },
          { parent },
        );
      } else if (g.construct.kind === 'aws:dedicated-host') {
        for (const slot of g.construct.slotOf.values()) {
          hosts.set(
            slot,
            new ec2.DedicatedHost(
              `${g.component}-${cloud.name}-host-${slot}`,
              {
                availabilityZone: net.az,
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
      // 4. One instance per node.
      for (const m of g.nodes) {
        const host = hosts.get(m.slot);
        const profile = profileOf(g.component);
        const vm = new ec2.Instance(
          m.node.id,
          {
            ami,
            instanceType: host ? DEDICATED_INSTANCE_TYPE : INSTANCE_TYPE,
            region: cloud.region,
            availabilityZone: net.az,
            subnetId: net.subnet.id,
            privateIp: m.privateIp,
            vpcSecurityGroupIds: [sgs.get(m.node.role)!.id],
            ...(placementGroup ? { placementGroup: placementGroup.name, placementPartitionNumber: m.slot } : {}),
            ...(host ? { hostId: host.id, tenancy: 'host' } : {}),
            ...(profile ? { iamInstanceProfile: profile.name } : {}),
            userData: env.userData(m.node.id),
            // cloud-init runs once per instance: a changed spec needs a new instance to take effect.
            userDataReplaceOnChange: true,
            // IMDSv2 only, one hop: containers on the VM cannot read the user data (it holds the node key).
            metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
            rootBlockDevice: { encrypted: true, volumeSize: 20, volumeType: 'gp3' },
            tags: env.tags({ Name: m.node.id, 'tclouds-node': m.node.id, 'tclouds-domain': String(m.node.domain) }),
          },
          { parent },
        );
        const eip = eips.get(m.node.id)!;
        new ec2.EipAssociation(
          `${m.node.id}-ip-assoc`,
          { allocationId: eip.allocationId, instanceId: vm.id, region: cloud.region },
          { parent },
        );
        nodes[m.node.id] = { privateIp: m.privateIp, publicIp: eip.publicIp };
      }
    }
    for (const b of cloud.buckets) buckets[`${cloud.name}/${b.name}`] = bucket(env, cloud, b.name, b.component);
  }
  return { nodes, buckets };
}

/**
 * Nodes of a component that owns buckets (storage gateways) reach that component's S3 buckets through an instance
 * role: the SDK's default credential chain picks it up on the VM, and no key is stored anywhere. The policy names
 * exactly those buckets (their names are fixed by the plan, so the ARNs are known up front).
 */
function bucketAccess(env: ProgramEnv, component: string): iam.InstanceProfile | undefined {
  const names = env.model.clouds.flatMap((c) => c.buckets.filter((b) => b.component === component).map((b) => b.name));
  if (names.length === 0) return undefined;
  const parent = env.component(component);
  const role = new iam.Role(
    `${component}-nodes`,
    {
      path: '/tclouds/',
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
      tags: env.tags(),
    },
    { parent },
  );
  new iam.RolePolicy(
    `${component}-nodes-buckets`,
    {
      role: role.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:ListBucket', 's3:GetBucketLocation'],
            Resource: names.map((n) => `arn:aws:s3:::${n}`),
          },
          {
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
            Resource: names.map((n) => `arn:aws:s3:::${n}/*`),
          },
        ],
      }),
    },
    { parent },
  );
  return new iam.InstanceProfile(
    `${component}-nodes`,
    { role: role.name, path: '/tclouds/', tags: env.tags() },
    { parent },
  );
}

function network(env: ProgramEnv, cloud: ModelCloud) {
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
  const parent = component && env.plan.components[component] ? env.component(component) : env.cloudParent(cloud.name);
  const region = cloud.region;
  // destroy --keep-data: the bucket and its protections leave the state instead of being deleted.
  const opts = { parent, retainOnDelete: env.inputs.retainData };
  const b = new s3.Bucket(name, { bucket: name, region, forceDestroy: false, tags: env.tags() }, opts);
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
  // Credentials that can touch this bucket and nothing else.
  const user = new iam.User(`${name}-writer`, { path: '/tclouds/', tags: env.tags() }, { parent });
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
    { parent },
  );
  const key = new iam.AccessKey(`${name}-writer-key`, { user: user.name }, { parent });
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
