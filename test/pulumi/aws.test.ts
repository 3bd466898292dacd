/**
 * The AWS program under Pulumi's mock runtime: every template, dense layouts, the construct limits, cross-cloud
 * rules and the node's cloud-init.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TcError } from '../../kernel/errors.js';
import { readSigningKey, signingPublicKeyFromString, signingPublicKeyOf } from '../../runtime/keys.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import { createPulumiRealizer } from '../../stacks/pulumi/index.js';
import { ensureKeys, ephemeralKeys } from '../../stacks/pulumi/keys.js';
import { type MockRun, runUnderMocks } from '../../stacks/pulumi/mock-preview.js';
import { NODE_LINUX_X64_SHA256 } from '../../stacks/pulumi/node-runtime.js';
import { createProgram, loadProvider } from '../../stacks/pulumi/program.js';
import { tempDir } from '../support/tmp.js';
import {
  byName,
  checkDomains,
  checkFirewall,
  checkNodes,
  checkSecrets,
  checkTemplates,
  cloudInitOf,
  ingressRules,
  ofType,
  runPlan,
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
      createProgram(plan, provider, { keys, packageSpec: 'tclouds', externalHosts: {}, retainData: false }, mod);
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

  it('peers realized by another target: closed until their address is known, then opened to exactly it', async () => {
    const plan = awsGcpLedgerPlan();
    const before = await runPlan(plan, provider);
    const peerBefore = ingressRules(plan, provider, before).find((r) => r.port === 7100)!;
    expect(peerBefore.sources.sort()).toEqual(['10.16.0.10/32', '10.16.0.11/32']);
    expect(before.outputs.notes).toEqual(
      expect.arrayContaining([expect.stringContaining('g are realized by another target')]),
    );
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

  it("cloud-init: the pinned Node runtime, the software, a systemd unit under its own user, no secret; the node's spec", async () => {
    const plan = await templatePlan('mediator', provider);
    const run = await runPlan(plan, provider);
    const vm = byName(run, 'aws:ec2/instance:Instance', 'ledger-replica-0');
    expect(vm.inputs).toMatchObject({
      userDataReplaceOnChange: true,
      metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
      rootBlockDevice: { encrypted: true },
    });
    const text = cloudInitOf(provider, vm);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const doc = parse(text) as {
      users: { name: string; system: boolean }[];
      write_files: { path: string; content: string; permissions: string; owner?: string }[];
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
    expect(file('/etc/tclouds/boot.env').content).toContain('PACKAGE_SPEC=tclouds@0.1.0\n');
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('setup_20.x');
    expect(doc.runcmd).toEqual([['sh', '/usr/local/lib/tclouds-boot/boot.sh']]);
    const spec = specOf(run, 'ledger-replica-0');
    expect(run.secretOutputs).toContain('nodeSpecs');
    const nodes = run.outputs.nodes as Record<string, { publicIp: string; privateIp: string }>;
    expect(spec).toMatchObject({
      id: 'ledger-replica-0',
      role: 'replica',
      host: nodes['ledger-replica-0']!.privateIp,
      keyFile: '/run/tclouds/node.key',
    });
    expect(spec.peers).toHaveLength(3);
    // Every peer sits in another AWS cloud: reached at its Elastic IP.
    for (const p of spec.peers) expect(p.host).toBe(nodes[p.id]!.publicIp);
    for (const p of spec.peers) expect(p.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(spec)).not.toContain('PRIVATE KEY');
  });

  it("cloud-init: SMR specs list the clients' Ed25519 signer keys, never the private signing key", async () => {
    const plan = await templatePlan('mediator', provider);
    const stackDir = join(tempDir('tc-signers-'), '.tclouds', plan.stack);
    const keys = await ensureKeys(plan, stackDir, provider);
    const signFile = join(stackDir, 'keys', 'client-ledger.sign.key');
    expect(statSync(signFile).mode & 0o777).toBe(0o600);
    const signer = signingPublicKeyOf(await readSigningKey(signFile));
    expect(keys.signingPublicKeys).toEqual({ 'client-ledger': signer });
    const program = createProgram(
      plan,
      provider,
      { keys, packageSpec: 'tclouds@0.1.0', externalHosts: {}, retainData: false },
      await loadProvider(provider),
    );
    const run = await runUnderMocks(program, `${plan.stack}-${provider}-signers`);
    const pem = readFileSync(signFile, 'utf8');
    const pemBody = pem.split('\n')[1]!;
    for (const n of plan.components.ledger!.nodes) {
      const text = cloudInitOf(provider, byName(run, 'aws:ec2/instance:Instance', n.id));
      const spec = specOf(run, n.id);
      expect(spec.clientSigners).toEqual({ 'client-ledger': signer });
      // A different key from the client's X25519 channel key, and a valid Ed25519 public key.
      expect(spec.clientSigners!['client-ledger']).not.toBe(spec.clients['client-ledger']);
      expect(signingPublicKeyFromString(signer).asymmetricKeyType).toBe('ed25519');
      expect(text).not.toContain(pemBody);
      expect(Buffer.from(text).toString('base64')).not.toContain(pemBody);
      for (const f of (parse(text) as { write_files: { path: string; content: string }[] }).write_files) {
        expect(Buffer.from(f.content, 'base64').toString('utf8')).not.toContain(pemBody);
      }
    }
    // Storage gateways get no clientSigners (signatures are an SMR client option).
    const gw = plan.components.vault!.nodes[0]!;
    expect(specOf(run, gw.id).clientSigners).toBeUndefined();
  });

  it("gateway VMs reach their component's buckets through an instance role naming exactly those buckets", async () => {
    const plan = await templatePlan('mediator', provider);
    const run = await runPlan(plan, provider);
    const vault = plan.components.vault!;
    for (const n of vault.nodes)
      expect(byName(run, 'aws:ec2/instance:Instance', n.id).inputs.iamInstanceProfile).toBe('vault-nodes');
    for (const n of plan.components.ledger!.nodes) {
      expect(byName(run, 'aws:ec2/instance:Instance', n.id).inputs.iamInstanceProfile).toBeUndefined();
    }
    const policy = JSON.parse(
      String(byName(run, 'aws:iam/rolePolicy:RolePolicy', 'vault-nodes-buckets').inputs.policy),
    );
    const names = vault.buckets.map((b) => b.name).sort();
    expect(policy.Statement[0].Resource.sort()).toEqual(names.map((n) => `arn:aws:s3:::${n}`));
    expect(policy.Statement[1].Resource.sort()).toEqual(names.map((n) => `arn:aws:s3:::${n}/*`));
    const trust = JSON.parse(String(byName(run, 'aws:iam/role:Role', 'vault-nodes').inputs.assumeRolePolicy));
    expect(trust.Statement[0].Principal).toEqual({ Service: 'ec2.amazonaws.com' });
  });

  it('realizer preview: type tokens, names, placement inputs and ports, secrets shown as [secret]', async () => {
    const plan = await compileText(denseTopology(provider, 'eu-west-1', 4));
    const events: string[] = [];
    const stackDir = join(tempDir('tc-preview-'), '.tclouds', 'dense');
    const { resources, changes } = await createPulumiRealizer(provider).preview(plan, {
      topologyFile: join(stackDir, '..', '..', 'tclouds.yaml'),
      stackDir,
      signal: new AbortController().signal,
      onEvent: (e) => events.push(`${e.kind}:${e.id}:${e.state}`),
    });
    expect(changes).toBe(resources.length);
    const vm = resources.find((r) => r.type === 'aws:ec2/instance:Instance' && r.name === 'ledger-replica-2')!;
    expect(vm.op).toBe('create');
    expect(vm.inputs).toMatchObject({ placementPartitionNumber: 3, userData: '[secret]', privateIp: '10.16.0.12' });
    const sg = resources.find((r) => r.type === 'aws:ec2/securityGroup:SecurityGroup')!;
    expect(JSON.stringify(sg.inputs)).toContain('"fromPort":');
    expect(JSON.stringify(resources)).not.toContain('PRIVATE KEY');
    expect(events).toContain('node:ledger-replica-2:pending');
    checkSecretsOf(resources);
  });
});

/** A node's spec from the program's secret `nodeSpecs` output (what its secret store entry holds). */
function specOf(run: MockRun, id: string): NodeSpec {
  return (run.outputs.nodeSpecs as Record<string, NodeSpec>)[id]!;
}

function checkSecretsOf(resources: { inputs: Record<string, unknown> }[]): void {
  const text = JSON.stringify(resources);
  expect(text).not.toMatch(/mock-secret-access-key|BEGIN [A-Z ]*KEY/);
}

void checkNodes;
void checkSecrets;
