/**
 * The AWS program under Pulumi's mock runtime: every template, dense layouts, the construct limits, cross-cloud
 * rules and the node's cloud-init.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TcError } from '../../kernel/errors.js';
import { fingerprintOf } from '../../runtime/control-tls.js';
import { readSigningKey, signingPublicKeyFromString, signingPublicKeyOf } from '../../runtime/keys.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import { artifactBucketName } from '../../stacks/pulumi/aws-boot.js';
import { DeploymentCode } from '../../stacks/pulumi/codes.js';
import { createPulumiRealizer } from '../../stacks/pulumi/index.js';
import { adminTokenFileOf, ensureKeys, ephemeralKeys } from '../../stacks/pulumi/keys.js';
import { type MockRun, runUnderMocks } from '../../stacks/pulumi/mock-preview.js';
import { globalBucketName } from '../../stacks/pulumi/names.js';
import { NODE_LINUX_X64_SHA256, pinnedNodeRuntime } from '../../stacks/pulumi/node-runtime.js';
import { createProgram, loadProvider } from '../../stacks/pulumi/program.js';
import { publishedPackage } from '../../stacks/pulumi/software.js';
import { rejectedTcError, thrownTcError } from '../support/tc-error.js';
import { tempDir } from '../support/tmp.js';
import { checkBoot, secretValue, softwareOf } from './boot.js';
import {
  bootValuesOfVm,
  byName,
  checkDomains,
  checkFirewall,
  checkNodes,
  checkSecrets,
  checkTemplates,
  ingressRules,
  type Json,
  ofType,
  runPlan,
  TEST_SUFFIX,
  targetNodes,
  testArtifact,
  testInputs,
  userDataOf,
} from './graph.js';
import { awsGcpLedgerPlan, compileText, denseTopology, templatePlan } from './plans.js';

const provider = 'aws';

describe('AWS program (mock runtime)', () => {
  it('every template: one VM per node, distinct domains, narrow firewall, private encrypted buckets, secrets', async () => {
    await checkTemplates(provider);
  });

  it('4 hosts in one cloud: a partition placement group, one partition per fault domain', async () => {
    const plan = await compileText(denseTopology(provider, 'eu-west-1', 4));
    expect(plan.clouds.c1!.construct).toBe('aws:partition-placement-group');
    const run = await runPlan(plan, provider);
    const [pg, ...more] = ofType(run, 'aws:ec2/placementGroup:PlacementGroup');
    expect(more).toHaveLength(0);
    expect(pg!.inputs).toMatchObject({ strategy: 'partition', partitionCount: 4, region: 'eu-west-1' });
    const vms = ofType(run, 'aws:ec2/instance:Instance');
    expect(vms.map((v) => v.inputs.placementPartitionNumber).sort()).toEqual([1, 2, 3, 4]);
    for (const v of vms) expect(v.inputs.placementGroup).toBe(pg!.name);
    expect(checkDomains(plan, provider, run).pinnedGroups).toBe(1);
    checkFirewall(plan, provider, run);
  });

  it('10 hosts: one dedicated host per fault domain, each VM on its own host', async () => {
    const plan = await compileText(denseTopology(provider, 'eu-west-1', 10, 3));
    expect(plan.clouds.c1!.construct).toBe('aws:dedicated-host');
    const run = await runPlan(plan, provider);
    const hosts = ofType(run, 'aws:ec2/dedicatedHost:DedicatedHost');
    expect(hosts).toHaveLength(10);
    for (const h of hosts) expect(h.inputs).toMatchObject({ availabilityZone: 'eu-west-1a', autoPlacement: 'off' });
    const vms = ofType(run, 'aws:ec2/instance:Instance');
    expect(new Set(vms.map((v) => v.inputs.hostId)).size).toBe(10);
    for (const v of vms) {
      expect(v.inputs.tenancy).toBe('host');
      expect(v.inputs.placementGroup).toBeUndefined();
    }
    expect(ofType(run, 'aws:ec2/placementGroup:PlacementGroup')).toHaveLength(0);
    checkDomains(plan, provider, run);
  });

  it('a layout needing 10 domains pinned to a partition placement group is TC351, naming dedicated hosts', async () => {
    const plan = await compileText(denseTopology(provider, 'eu-west-1', 10, 3));
    plan.clouds.c1!.construct = 'aws:partition-placement-group';
    const keys = ephemeralKeys(plan);
    const mod = await loadProvider(provider);
    let err: unknown;
    try {
      createProgram(plan, provider, testInputs(plan, { keys }), mod);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TcError);
    expect((err as TcError).code).toBe('TC351');
    expect((err as TcError).exit).toBe(3);
    expect((err as TcError).message).toContain('needs 10 distinct fault domains');
    expect((err as TcError).hint).toContain('aws:dedicated-host');
  });

  it('peers in other clouds are allowed by their static address; client CIDRs only on client ports', async () => {
    const plan = await templatePlan('mediator', provider, ['198.51.100.0/24', '2001:db8::/48']);
    const run = await runPlan(plan, provider);
    const eipOf = (id: string) => (run.outputs.nodes as Record<string, { publicIp: string; privateIp: string }>)[id]!;
    const replicas = plan.components.ledger!.nodes;
    const peerPort = replicas[0]!.ports.peer!;
    const clientPort = replicas[0]!.ports.client!;
    for (const cloud of new Set(replicas.map((n) => n.cloud))) {
      const rules = ingressRules(plan, provider, run).filter((r) => r.resource === `ledger-replica-${cloud}-sg`);
      const peer = rules.find((r) => r.port === peerPort)!;
      const expected = replicas.map((n) =>
        n.cloud === cloud ? `${eipOf(n.id).privateIp}/32` : `${eipOf(n.id).publicIp}/32`,
      );
      expect([...peer.sources].sort()).toEqual([...expected].sort());
      const client = rules.find((r) => r.port === clientPort)!;
      expect(client.sources.sort()).toEqual(['198.51.100.0/24', '2001:db8::/48']);
    }
    const sg = byName(run, 'aws:ec2/securityGroup:SecurityGroup', `ledger-replica-${replicas[0]!.cloud}-sg`);
    const client = (sg.inputs.ingress as { fromPort: number; ipv6CidrBlocks?: string[] }[]).find(
      (r) => r.fromPort === clientPort,
    )!;
    expect(client.ipv6CidrBlocks).toEqual(['2001:db8::/48']);
  });

  it('peers realized by another deployment: no spec without their address (TC390), then opened to exactly it', async () => {
    const plan = awsGcpLedgerPlan();
    // Without the GCP peers' addresses the AWS specs would name them with no host: refused before any resource.
    const before = await rejectedTcError(runPlan(plan, provider));
    expect(before.code).toBe(DeploymentCode.peerWithoutAddress);
    expect(before.hint).toContain('--target clouds');
    const after = await runPlan(plan, provider, { 'ledger-replica-2': '192.0.2.7', 'ledger-replica-3': '192.0.2.8' });
    const peerAfter = ingressRules(plan, provider, after).find((r) => r.port === 7100)!;
    expect(peerAfter.sources.sort()).toEqual(['10.16.0.10/32', '10.16.0.11/32', '192.0.2.7/32', '192.0.2.8/32']);
    // The spec on the AWS node lists the GCP peers at those addresses.
    const spec = specOf(after, 'ledger-replica-0');
    expect(spec.peers.map((p) => [p.id, p.host])).toEqual([
      ['ledger-replica-1', '10.16.0.11'],
      ['ledger-replica-2', '192.0.2.7'],
      ['ledger-replica-3', '192.0.2.8'],
    ]);
  });

  it('boot: user data holds boot values only; the artifact, its policy and per-node secrets, each for its own role', async () => {
    const plan = await templatePlan('mediator', provider);
    const keys = ephemeralKeys(plan);
    const run = await runPlan(plan, provider, {}, { keys });
    checkBoot(plan, provider, run, keys, testArtifact().sha256);
    checkSecrets(plan, provider, run, keys);
    const vm = byName(run, 'aws:ec2/instance:Instance', 'ledger-replica-0');
    expect(vm.inputs).toMatchObject({
      iamInstanceProfile: 'ledger-replica-0-profile',
      metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
      rootBlockDevice: { encrypted: true },
    });
    // User data is the first boot's: a new build never replaces the VM (software-update.test.ts).
    expect(vm.inputs.userDataReplaceOnChange).toBeUndefined();
    expect(vm.options.ignoreChanges).toEqual(['userData']);
    // The rendered cloud-init: the first boot's pinned Node runtime, the installer, a unit under its own user.
    const text = userDataOf(provider, vm);
    const doc = parse(text) as {
      users: { name: string; system: boolean }[];
      write_files: { path: string; content: string }[];
      runcmd: (string | string[])[];
    };
    expect(doc.users[0]).toMatchObject({ name: 'tclouds', system: true });
    const file = (p: string) => doc.write_files.find((f) => f.path === p)!;
    const unit = file('/etc/systemd/system/tclouds-node.service').content;
    expect(unit).toContain(
      'ExecStart=/opt/tclouds/node/bin/node /opt/tclouds/app/bin/run.js node run --spec /run/tclouds/spec.json\n',
    );
    expect(unit).toMatch(/^User=tclouds$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(file('/etc/tclouds/boot.env').content).toContain(`NODE_SHA256=${NODE_LINUX_X64_SHA256}\n`);
    expect(file('/etc/tclouds/boot.env').content).not.toContain(testArtifact().sha256);
    // The installer runs as root before every start, before the secrets are fetched as the node's user.
    expect(unit).toContain(
      'ExecStartPre=+/opt/tclouds/node/bin/node /usr/local/lib/tclouds-boot/fetch-artifact.js --boot /etc/tclouds/boot.json\n',
    );
    expect(doc.runcmd).toEqual([['sh', '/usr/local/lib/tclouds-boot/boot.sh']]);
    const boot = bootValuesOfVm(provider, vm);
    const region = plan.clouds[plan.components.ledger!.nodes[0]!.cloud]!.region;
    expect(boot).toMatchObject({ region, nodeRuntime: pinnedNodeRuntime() });
    expect(softwareOf(provider, run, 'ledger-replica-0')).toEqual({
      version: 1,
      artifact: {
        locator: `s3://${artifactBucketName(plan.stack, TEST_SUFFIX)}/tclouds-${testArtifact().sha256.slice(0, 16)}.tgz`,
        sha256: testArtifact().sha256,
      },
      nodeRuntime: pinnedNodeRuntime(),
    });
    expect(boot.secrets.map((s) => [s.kind, s.ref, s.path])).toEqual([
      ['spec', 'arn:aws:mock:::ledger-replica-0-spec', '/run/tclouds/spec.json'],
      ['node-key', 'arn:aws:mock:::ledger-replica-0-node-key', '/run/tclouds/node.key'],
      ['admin-token', 'arn:aws:mock:::ledger-replica-0-admin-token', '/run/tclouds/admin.token'],
      ['control-tls', 'arn:aws:mock:::ledger-replica-0-control-tls', '/run/tclouds/control-tls.pem'],
      ['software', 'arn:aws:mock:::ledger-replica-0-software', '/run/tclouds/software.json'],
    ]);
    const secret = byName(run, 'aws:secretsmanager/secret:Secret', 'ledger-replica-0-spec').inputs;
    expect(secret).toMatchObject({ name: `tclouds/${plan.stack}/ledger-replica-0/spec`, region });
    // The role's own policy: its own secrets and the artifact object, nothing else.
    const own = JSON.parse(
      String(byName(run, 'aws:iam/rolePolicy:RolePolicy', 'ledger-replica-0-access').inputs.policy),
    );
    expect(own.Statement.map((x: { Sid: string }) => x.Sid)).toEqual(['ItsSecrets', 'TheArtifact']);
    expect(own.Statement[0].Resource).toEqual(boot.secrets.map((x) => x.ref));
    const spec = specOf(run, 'ledger-replica-0');
    const nodes = run.outputs.nodes as Record<string, { publicIp: string; privateIp: string }>;
    expect(spec).toMatchObject({ id: 'ledger-replica-0', host: nodes['ledger-replica-0']!.privateIp });
    // Every peer sits in another AWS cloud: reached at its Elastic IP.
    for (const p of spec.peers) expect(p.host).toBe(nodes[p.id]!.publicIp);
    // The control port is TLS with the node's own certificate: key and certificate arrive as one secret, and the
    // spec names the certificate's SHA-256 (the node refuses to serve with any other).
    const tls = secretValue(provider, run, 'ledger-replica-0', 'control-tls');
    expect(tls).toMatch(/BEGIN PRIVATE KEY[\s\S]+BEGIN CERTIFICATE/);
    expect(spec.controlTls).toEqual({ file: '/run/tclouds/control-tls.pem', sha256: fingerprintOf(tls) });
  });

  it("a spec change between two runs changes secret values, never a VM's user data", async () => {
    const plan = awsGcpLedgerPlan();
    const keys = ephemeralKeys(plan);
    const first = await runPlan(
      plan,
      provider,
      { 'ledger-replica-2': '192.0.2.7', 'ledger-replica-3': '192.0.2.8' },
      { keys },
    );
    // The GCP peer moves, and a replica's own config changes.
    plan.components.ledger!.nodes[1]!.config = { batchSize: 64 };
    const second = await runPlan(
      plan,
      provider,
      { 'ledger-replica-2': '192.0.2.9', 'ledger-replica-3': '192.0.2.8' },
      { keys },
    );
    for (const n of targetNodes(plan, provider)) {
      const vm = (run: typeof first) => userDataOf(provider, byName(run, 'aws:ec2/instance:Instance', n.id));
      expect(vm(second), n.id).toBe(vm(first));
      expect(secretValue(provider, second, n.id, 'spec')).not.toBe(secretValue(provider, first, n.id, 'spec'));
      expect(secretValue(provider, second, n.id, 'node-key')).toBe(secretValue(provider, first, n.id, 'node-key'));
    }
    expect(specOf(second, 'ledger-replica-1').config).toEqual({ batchSize: 64 });
  });

  it('--node-package: no artifact store, the package in the boot values; an unsafe spec is TC370', async () => {
    const plan = await templatePlan('mediator', provider);
    const run = await runPlan(plan, provider, {}, { software: publishedPackage('tclouds@0.1.0') });
    expect(ofType(run, 'aws:s3/bucketObjectv2:BucketObjectv2')).toHaveLength(0);
    expect(run.resources.some((r) => r.name.startsWith('artifact'))).toBe(false);
    const vm = byName(run, 'aws:ec2/instance:Instance', 'ledger-replica-0');
    expect(bootValuesOfVm(provider, vm).nodeId).toBe('ledger-replica-0');
    expect(softwareOf(provider, run, 'ledger-replica-0')).toEqual({
      version: 1,
      package: 'tclouds@0.1.0',
      nodeRuntime: pinnedNodeRuntime(),
    });
    const policy = JSON.parse(
      String(byName(run, 'aws:iam/rolePolicy:RolePolicy', 'ledger-replica-0-access').inputs.policy),
    );
    expect(policy.Statement.map((x: { Sid: string }) => x.Sid)).toEqual(['ItsSecrets']);
    for (const bad of ['tclouds', 'tclouds@1.0.0; curl x|sh', 'https://evil.example/t.tgz']) {
      const e = thrownTcError(() => publishedPackage(bad));
      expect([e.code, e.exit]).toEqual(['TC370', 2]);
    }
  });

  it("gateways: the spec names each cloud's credential source; other targets' bucket credentials arrive as a secret", async () => {
    const plan = await templatePlan('mediator', provider);
    const vault = plan.components.vault!;
    const gw = vault.nodes[0]!;
    const external = { 'x/y': { credentials: { accessKeyId: 'AKIA' } } };
    const run = await runPlan(plan, provider, {}, { externalBucketCredentials: external });
    const config = specOf(run, gw.id).config as Record<string, Json>;
    for (const b of vault.buckets) expect(config.credentials[b.cloud]).toEqual({ source: 'aws-instance-role' });
    expect(config.accounts).toEqual({});
    const creds = JSON.parse(secretValue(provider, run, gw.id, 'bucket-credentials'));
    for (const b of vault.buckets)
      expect(creds.clouds[b.cloud]).toEqual({ provider, bucket: b.name, source: 'identity' });
  });

  it("cloud-init: SMR specs list the clients' Ed25519 signer keys, never the private signing key", async () => {
    const plan = await templatePlan('mediator', provider);
    const stackDir = join(tempDir('tc-signers-'), '.tclouds', plan.stack);
    const keys = await ensureKeys(plan, stackDir, provider);
    const signFile = join(stackDir, 'keys', 'client-ledger.sign.key');
    expect(statSync(signFile).mode & 0o777).toBe(0o600);
    const signer = signingPublicKeyOf(await readSigningKey(signFile));
    expect(keys.signingPublicKeys).toEqual({ 'client-ledger': signer });
    const program = createProgram(plan, provider, testInputs(plan, { keys }), await loadProvider(provider));
    const run = await runUnderMocks(program, `${plan.stack}-${provider}-signers`);
    const pem = readFileSync(signFile, 'utf8');
    const pemBody = pem.split('\n')[1]!;
    // Per-node admin tokens, 0600 beside the keys, one per node.
    for (const n of plan.components.ledger!.nodes) {
      expect(statSync(adminTokenFileOf(stackDir, n.id)).mode & 0o777).toBe(0o600);
      expect(readFileSync(adminTokenFileOf(stackDir, n.id), 'utf8').trim()).toBe(keys.adminTokens[n.id]);
    }
    expect(new Set(Object.values(keys.adminTokens)).size).toBe(Object.keys(keys.adminTokens).length);
    // Per-node control TLS: key 0600 and certificate beside the keys, stable across runs (a new one would restart
    // every node), one certificate per node.
    for (const n of plan.components.ledger!.nodes) {
      expect(statSync(join(stackDir, 'keys', `${n.id}.control.key`)).mode & 0o777).toBe(0o600);
      expect(fingerprintOf(readFileSync(join(stackDir, 'keys', `${n.id}.control.crt`), 'utf8'))).toBe(
        keys.controlTls[n.id]!.sha256,
      );
    }
    expect((await ensureKeys(plan, stackDir, provider)).controlTls).toEqual(keys.controlTls);
    expect(new Set(Object.values(keys.controlTls).map((t) => t.sha256)).size).toBe(Object.keys(keys.controlTls).length);
    for (const n of plan.components.ledger!.nodes) {
      const text = userDataOf(provider, byName(run, 'aws:ec2/instance:Instance', n.id));
      const spec = specOf(run, n.id);
      expect(spec.clientSigners).toEqual({ 'client-ledger': signer });
      // A different key from the client's X25519 channel key, and a valid Ed25519 public key.
      expect(spec.clientSigners!['client-ledger']).not.toBe(spec.clients['client-ledger']);
      expect(signingPublicKeyFromString(signer).asymmetricKeyType).toBe('ed25519');
      expect(text).not.toContain(pemBody);
      for (const f of (parse(text) as { write_files: { path: string; content: string }[] }).write_files) {
        expect(Buffer.from(f.content, 'base64').toString('utf8')).not.toContain(pemBody);
      }
      for (const kind of ['spec', 'node-key', 'admin-token', 'control-tls'] as const)
        expect(secretValue(provider, run, n.id, kind)).not.toContain(pemBody);
    }
    // Storage gateways get no clientSigners (signatures are an SMR client option).
    const gw = plan.components.vault!.nodes[0]!;
    expect(specOf(run, gw.id).clientSigners).toBeUndefined();
  });

  it("gateway VMs reach their component's buckets through their own role, naming exactly those buckets", async () => {
    const plan = await templatePlan('mediator', provider);
    const run = await runPlan(plan, provider);
    const vault = plan.components.vault!;
    const names = vault.buckets.map((b) => globalBucketName(b.name, TEST_SUFFIX)).sort();
    const policyOf = (id: string) =>
      JSON.parse(String(byName(run, 'aws:iam/rolePolicy:RolePolicy', `${id}-access`).inputs.policy)) as {
        Statement: { Sid: string; Resource: string[] }[];
      };
    for (const n of vault.nodes) {
      expect(byName(run, 'aws:ec2/instance:Instance', n.id).inputs.iamInstanceProfile).toBe(`${n.id}-profile`);
      const st = policyOf(n.id).Statement;
      expect(st.find((x) => x.Sid === 'ComponentBuckets')!.Resource.sort()).toEqual(
        names.map((x) => `arn:aws:s3:::${x}`),
      );
      expect(st.find((x) => x.Sid === 'ComponentObjects')!.Resource.sort()).toEqual(
        names.map((x) => `arn:aws:s3:::${x}/*`),
      );
    }
    for (const n of plan.components.ledger!.nodes) {
      expect(policyOf(n.id).Statement.some((x) => x.Sid.startsWith('Component'))).toBe(false);
    }
    const trust = JSON.parse(
      String(byName(run, 'aws:iam/role:Role', `${vault.nodes[0]!.id}-role`).inputs.assumeRolePolicy),
    );
    expect(trust.Statement[0].Principal).toEqual({ Service: 'ec2.amazonaws.com' });
  });

  it('a newer Ubuntu AMI between two deploys replaces nothing: the first one is pinned per region', async () => {
    const plan = await templatePlan('mediator', provider, ['198.51.100.0/24']);
    const keys = ephemeralKeys(plan);
    const first = await runPlan(plan, provider, {}, { keys });
    const images = first.outputs.images as Record<string, string>;
    expect(Object.values(images)).toEqual(expect.arrayContaining(['ami-0123456789abcdef0']));
    const second = await runPlan(plan, provider, {}, { keys, images, latestAmi: 'ami-0newer0000000000' });
    for (const vm of ofType(second, 'aws:ec2/instance:Instance')) expect(vm.inputs.ami).toBe('ami-0123456789abcdef0');
    // Without the pin (a new stack, or --refresh-images) the newest image is taken.
    const fresh = await runPlan(plan, provider, {}, { keys, latestAmi: 'ami-0newer0000000000' });
    for (const vm of ofType(fresh, 'aws:ec2/instance:Instance')) expect(vm.inputs.ami).toBe('ami-0newer0000000000');
  });

  it('realizer preview: type tokens, names, placement inputs and ports, secrets shown as [secret]', async () => {
    const plan = await compileText(denseTopology(provider, 'eu-west-1', 4));
    const events: string[] = [];
    const stackDir = join(tempDir('tc-preview-'), '.tclouds', 'dense');
    const artifact = async () => ({ ...testArtifact(), bytes: 4096 });
    const { resources, changes } = await createPulumiRealizer(provider, { artifact }).preview(plan, {
      topologyFile: join(stackDir, '..', '..', 'tclouds.yaml'),
      stackDir,
      signal: new AbortController().signal,
      onEvent: (e) => events.push(`${e.kind}:${e.id}:${e.state}`),
    });
    expect(changes).toBe(resources.length);
    const vm = resources.find((r) => r.type === 'aws:ec2/instance:Instance' && r.name === 'ledger-replica-2')!;
    expect(vm.op).toBe('create');
    expect(vm.inputs).toMatchObject({ placementPartitionNumber: 3, privateIp: '10.16.0.12' });
    // The plan shows the boot values (nothing secret), the artifact with its checksum and its readers' policy.
    expect(String(vm.inputs.userData)).toMatch(/^#cloud-config\n/);
    const object = resources.find((r) => r.type === 'aws:s3/bucketObjectv2:BucketObjectv2')!;
    expect(object.inputs.metadata).toEqual({ sha256: testArtifact().sha256 });
    const policy = resources.find(
      (r) => r.type === 'aws:s3/bucketPolicy:BucketPolicy' && r.name === 'artifact-readers',
    )!;
    expect(String(policy.inputs.policy)).toContain('ledger-replica-2-role');
    for (const s of resources.filter((r) => r.type === 'aws:secretsmanager/secretVersion:SecretVersion'))
      expect(s.inputs.secretString).toBe('[secret]');
    const sg = resources.find((r) => r.type === 'aws:ec2/securityGroup:SecurityGroup')!;
    expect(JSON.stringify(sg.inputs)).toContain('"fromPort":');
    expect(JSON.stringify(resources)).not.toContain('PRIVATE KEY');
    expect(events).toContain('node:ledger-replica-2:pending');
    checkSecretsOf(resources);
  });
});

/** The spec a node fetches at boot: the value of its `spec` secret. */
function specOf(run: MockRun, nodeId: string): NodeSpec {
  return JSON.parse(secretValue(provider, run, nodeId, 'spec')) as NodeSpec;
}

function checkSecretsOf(resources: { inputs: Record<string, unknown> }[]): void {
  const text = JSON.stringify(resources);
  expect(text).not.toMatch(/mock-secret-access-key|BEGIN [A-Z ]*KEY/);
}

void checkNodes;
