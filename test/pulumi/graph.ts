/**
 * Resource-graph checks shared by the per-provider test files (one file per provider: Pulumi's runtime state is
 * module-global, and vitest gives each file its own process).
 *
 * Each check reads what the real program registered with Pulumi's mock runtime and compares it with the plan:
 * node counts, distinct fault domains, firewall rules no wider than the plan's links, private and encrypted
 * buckets, secrets marked secret.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse } from 'yaml';
import type { Plan, PlannedNode } from '../../components/plan-types.js';
import type { BootFile } from '../../runtime/cloud-boot/boot-file.js';
import type { BootValues, NodeSecretKind } from '../../stacks/pulumi/boot-refs.js';
import type { CloudProvider } from '../../stacks/pulumi/constructs.js';
import { ephemeralKeys, type KeyMaterial } from '../../stacks/pulumi/keys.js';
import {
  isSecretValue,
  type MockOptions,
  type MockResource,
  type MockRun,
  runUnderMocks,
} from '../../stacks/pulumi/mock-preview.js';
import { roleTag } from '../../stacks/pulumi/model.js';
import { globalBucketName } from '../../stacks/pulumi/names.js';
import { pinnedNodeRuntime } from '../../stacks/pulumi/node-runtime.js';
import { createProgram, loadProvider } from '../../stacks/pulumi/program.js';
import type { ArtifactFile, ProgramInputs } from '../../stacks/pulumi/program-env.js';
import { tempDir } from '../support/tmp.js';
import { checkBoot } from './boot.js';
import { templateModes, templatePlan } from './plans.js';

/** Mock inputs are untyped JSON from the provider schemas; tests navigate them freely. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type Json = any;

let artifact: ArtifactFile | undefined;

/** A small real file standing in for the packed node software, with its real SHA-256 (one per test process). */
export function testArtifact(): ArtifactFile {
  if (!artifact) {
    const bytes = randomBytes(4096);
    const path = join(tempDir('tc-artifact-'), 'tclouds-0.1.0.tgz');
    writeFileSync(path, bytes);
    artifact = { path, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return artifact;
}

/** Program inputs of a test run: throwaway keys unless given, the test artifact unless a package is given. */
export function testInputs(plan: Plan, over: Partial<ProgramInputs> = {}): ProgramInputs {
  return {
    keys: ephemeralKeys(plan),
    software: { artifact: testArtifact() },
    nodeRuntime: pinnedNodeRuntime(),
    externalHosts: {},
    externalBucketCredentials: {},
    nameSuffix: TEST_SUFFIX,
    retainData: true,
    ...over,
  };
}

export async function runPlan(
  plan: Plan,
  provider: CloudProvider,
  externalHosts: Record<string, string> = {},
  extra: Partial<ProgramInputs> & MockOptions = {},
): Promise<MockRun> {
  const { latestAmi, ...inputs } = extra;
  const program = createProgram(
    plan,
    provider,
    testInputs(plan, { externalHosts, ...inputs }),
    await loadProvider(provider),
  );
  return runUnderMocks(program, `${plan.stack}-${provider}`, latestAmi === undefined ? {} : { latestAmi });
}

/** The name suffix the test programs run with (a stack's real one is random, made at its first deploy). */
export const TEST_SUFFIX = 'k3x9q2';

export const VM_TYPE: Record<CloudProvider, string> = {
  aws: 'aws:ec2/instance:Instance',
  azure: 'azure-native:compute:VirtualMachine',
  gcp: 'gcp:compute/instance:Instance',
};

export function ofType(run: MockRun, type: string): MockResource[] {
  return run.resources.filter((r) => r.type === type);
}

export function byName(run: MockRun, type: string, name: string): MockResource {
  const r = run.resources.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`no ${type} named ${name}`);
  return r;
}

export function targetNodes(plan: Plan, provider: CloudProvider): PlannedNode[] {
  return Object.values(plan.components)
    .flatMap((c) => c.nodes)
    .filter((n) => plan.clouds[n.cloud]?.provider === provider);
}

/** Every node of the target is exactly one VM, parented under one `tclouds:component:<Kind>` per component. */
export function checkNodes(plan: Plan, provider: CloudProvider, run: MockRun): void {
  const nodes = targetNodes(plan, provider);
  const vms = ofType(run, VM_TYPE[provider]);
  expect(vms.map((v) => v.name).sort()).toEqual(nodes.map((n) => n.id).sort());
  const components = new Set(nodes.map((n) => n.component));
  for (const c of components) {
    const kind = plan.components[c]!.kind;
    const type = `tclouds:component:${kind.charAt(0).toUpperCase()}${kind.slice(1)}`;
    expect(run.resources.filter((r) => r.type === type && r.name === c)).toHaveLength(1);
  }
}

/** The value a VM is pinned to (partition / availability domain / host), or the shared set, per provider. */
export function domainPin(provider: CloudProvider, vm: MockResource): string | undefined {
  const i = vm.inputs as Record<string, Json>;
  if (provider === 'aws') {
    if (i.hostId) return `host:${i.hostId}`;
    if (i.placementPartitionNumber !== undefined) return `partition:${i.placementGroup}:${i.placementPartitionNumber}`;
    return undefined;
  }
  if (provider === 'azure') {
    if (i.host?.id) return `host:${i.host.id}`;
    return undefined; // availability sets: Azure assigns fault domains itself (checked separately)
  }
  if (i.scheduling?.availabilityDomain !== undefined)
    return `ad:${i.resourcePolicies}:${i.scheduling.availabilityDomain}`;
  if (i.scheduling?.nodeAffinities) return `node:${JSON.stringify(i.scheduling.nodeAffinities)}`;
  return undefined;
}

/**
 * Fault domains actually distinct: within one component and cloud, nodes in different plan domains are pinned to
 * different construct slots, nodes in the same domain to the same slot (for constructs that pin).
 */
export function checkDomains(plan: Plan, provider: CloudProvider, run: MockRun): { pinnedGroups: number } {
  let pinnedGroups = 0;
  const nodes = targetNodes(plan, provider);
  const groups = new Map<string, PlannedNode[]>();
  for (const n of nodes)
    groups.set(`${n.component}/${n.cloud}`, [...(groups.get(`${n.component}/${n.cloud}`) ?? []), n]);
  for (const [, members] of groups) {
    const domains = new Set(members.map((n) => n.domain));
    const vms = members.map((n) => byName(run, VM_TYPE[provider], n.id));
    const pins = vms.map((v) => domainPin(provider, v));
    if (provider === 'azure' && pins.every((p) => p === undefined) && domains.size > 1) {
      // Availability set: one set per component and cloud, with exactly as many fault domains as the layout uses.
      const sets = new Set(vms.map((v) => JSON.stringify((v.inputs as Record<string, Json>).availabilitySet)));
      expect(sets.size).toBe(1);
      const setName = [...sets][0]!.match(/"id":"(.*)-id"/)?.[1];
      const avset = byName(run, 'azure-native:compute:AvailabilitySet', setName!);
      expect(avset.inputs.platformFaultDomainCount).toBe(domains.size);
      expect(avset.inputs.sku).toEqual({ name: 'Aligned' });
      pinnedGroups++;
      continue;
    }
    if (domains.size <= 1 && pins.every((p) => p === undefined)) continue; // nothing to spread
    pinnedGroups++;
    const pinOfDomain = new Map<number, string>();
    members.forEach((n, i) => {
      const pin = pins[i];
      expect(pin, `${n.id} is not pinned to a fault domain`).toBeDefined();
      const seen = pinOfDomain.get(n.domain);
      if (seen !== undefined) expect(pin).toBe(seen);
      else pinOfDomain.set(n.domain, pin!);
    });
    expect(new Set(pinOfDomain.values()).size).toBe(domains.size);
  }
  return { pinnedGroups };
}

/** Control ports of a role's nodes: open to the declared client networks only (`tclouds status`). */
export function controlPorts(plan: Plan, component: string, role: string): Set<number> {
  return new Set(plan.components[component]!.nodes.filter((n) => n.role === role).map((n) => n.controlPort));
}

/** Ports a role may open: those named by a link into it. */
function linkedPorts(plan: Plan, component: string, role: string): Set<number> {
  const comp = plan.components[component]!;
  const ports = new Set<number>();
  for (const l of comp.links.filter((x) => x.to === role)) {
    for (const n of comp.nodes.filter((x) => x.role === role))
      if (n.ports[l.port] !== undefined) ports.add(n.ports[l.port]!);
  }
  return ports;
}

export interface IngressRule {
  resource: string;
  component: string;
  role: string;
  port: number;
  sources: string[];
}

/** Ingress rules of the graph in one shape, per provider (firewall resources found by their plan-derived names). */
export function ingressRules(plan: Plan, provider: CloudProvider, run: MockRun): IngressRule[] {
  const owner = new Map<string, { component: string; role: string }>();
  for (const [component, c] of Object.entries(plan.components)) {
    for (const n of c.nodes) {
      owner.set(`${component}-${n.role}-${n.cloud}-sg`, { component, role: n.role });
      owner.set(`${component}-${n.role}-${n.cloud}-nsg`, { component, role: n.role });
      owner.set(roleTag(component, n.role), { component, role: n.role });
    }
  }
  const ownerOf = (key: string) => {
    const o = owner.get(key);
    if (!o) throw new Error(`firewall ${key} belongs to no role of the plan`);
    return o;
  };
  const out: IngressRule[] = [];
  if (provider === 'aws') {
    for (const sg of ofType(run, 'aws:ec2/securityGroup:SecurityGroup')) {
      const { component, role } = ownerOf(sg.name);
      for (const r of (sg.inputs.ingress as Json[]) ?? []) {
        expect(r.fromPort).toBe(r.toPort);
        expect(r.protocol).toBe('tcp');
        out.push({
          resource: sg.name,
          component,
          role,
          port: r.fromPort,
          sources: [...(r.cidrBlocks ?? []), ...(r.ipv6CidrBlocks ?? [])],
        });
      }
    }
  } else if (provider === 'azure') {
    for (const nsg of ofType(run, 'azure-native:network:NetworkSecurityGroup')) {
      const { component, role } = ownerOf(nsg.name);
      for (const r of (nsg.inputs.securityRules as Json[]) ?? []) {
        if (r.access === 'Deny') continue;
        expect(r.direction).toBe('Inbound');
        out.push({
          resource: nsg.name,
          component,
          role,
          port: Number(r.destinationPortRange),
          sources: [...(r.sourceAddressPrefixes ?? []), ...(r.sourceAddressPrefix ? [r.sourceAddressPrefix] : [])],
        });
      }
    }
  } else {
    for (const fw of ofType(run, 'gcp:compute/firewall:Firewall')) {
      expect(fw.inputs.direction).toBe('INGRESS');
      const { component, role } = ownerOf((fw.inputs.targetTags as string[])[0]!);
      for (const a of fw.inputs.allows as Json[]) {
        expect(a.protocol).toBe('tcp');
        for (const p of a.ports)
          out.push({
            resource: fw.name,
            component,
            role,
            port: Number(p),
            sources: fw.inputs.sourceRanges as string[],
          });
      }
    }
  }
  return out;
}

/**
 * Firewall rules no wider than needed: only linked ports, never SSH, no open-to-the-world source except declared
 * client CIDRs, and node sources only as /32 host addresses. Returns the rules for further checks.
 */
export function checkFirewall(plan: Plan, provider: CloudProvider, run: MockRun): IngressRule[] {
  const rules = ingressRules(plan, provider, run);
  const declared = new Set(plan.clients.cidrs);
  for (const r of rules) {
    if (controlPorts(plan, r.component, r.role).has(r.port) && !linkedPorts(plan, r.component, r.role).has(r.port)) {
      expect([...r.sources].sort(), `${r.resource}: control port ${r.port} open beyond clients.cidrs`).toEqual(
        [...declared].sort(),
      );
      continue;
    }
    expect(linkedPorts(plan, r.component, r.role).has(r.port), `${r.resource} opens ${r.port}`).toBe(true);
    expect(r.port).not.toBe(22);
    expect(r.sources.length).toBeGreaterThan(0);
    for (const s of r.sources) {
      expect(
        ['*', 'Internet', 'Any', '0.0.0.0/0', '::/0'].includes(s) && !declared.has(s),
        `${r.resource} open to ${s}`,
      ).toBe(false);
      if (!declared.has(s))
        expect(s, `${r.resource}: ${s} is neither a node address nor a declared client CIDR`).toMatch(/\/(32|128)$/);
    }
  }
  if (provider === 'azure') {
    for (const nsg of ofType(run, 'azure-native:network:NetworkSecurityGroup')) {
      const deny = (nsg.inputs.securityRules as Json[]).find((r) => r.access === 'Deny');
      expect(deny, `${nsg.name} lacks the VNet deny rule`).toMatchObject({
        sourceAddressPrefix: 'VirtualNetwork',
        priority: 4096,
      });
    }
  }
  return rules;
}

/** Buckets private and encrypted, each with credentials scoped to it alone. */
export function checkBuckets(plan: Plan, provider: CloudProvider, run: MockRun): number {
  const buckets = Object.values(plan.components)
    .flatMap((c) => c.buckets)
    .filter((b) => plan.clouds[b.cloud]?.provider === provider);
  for (const b of buckets) {
    if (provider === 'aws') {
      const physical = globalBucketName(b.name, TEST_SUFFIX);
      expect(byName(run, 'aws:s3/bucket:Bucket', b.name).inputs.bucket).toBe(physical);
      expect(
        byName(run, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', `${b.name}-no-public`).inputs,
      ).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      const sse = byName(
        run,
        'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
        `${b.name}-sse`,
      );
      expect((sse.inputs.rules as Json[])[0].applyServerSideEncryptionByDefault.sseAlgorithm).toMatch(/AES256|aws:kms/);
      const policy = JSON.parse(
        String(byName(run, 'aws:iam/userPolicy:UserPolicy', `${b.name}-writer-policy`).inputs.policy),
      );
      const resources = policy.Statement.flatMap((s: { Resource: string[] }) => s.Resource);
      for (const r of resources) expect(r).toMatch(new RegExp(`:${b.name}(/\\*)?$`)); // the mock's ARN names the logical bucket
    } else if (provider === 'azure') {
      const account = byName(run, 'azure-native:storage:StorageAccount', `${b.name}-account`).inputs as Record<
        string,
        Json
      >;
      expect(account).toMatchObject({
        allowBlobPublicAccess: false,
        enableHttpsTrafficOnly: true,
        minimumTlsVersion: 'TLS1_2',
      });
      expect(account.encryption.services.blob.enabled).toBe(true);
      expect(byName(run, 'azure-native:storage:BlobContainer', b.name).inputs).toMatchObject({
        publicAccess: 'None',
        containerName: b.name,
      });
    } else {
      expect(byName(run, 'gcp:storage/bucket:Bucket', b.name).inputs).toMatchObject({
        name: globalBucketName(b.name, TEST_SUFFIX),
        publicAccessPrevention: 'enforced',
        uniformBucketLevelAccess: true,
      });
      // No writer account of its own (its key would be refused): only node service accounts are bound to it, and
      // gateways of other providers by their federated principal in the stack's workload identity pool (no key).
      const bindings = ofType(run, 'gcp:storage/bucketIAMMember:BucketIAMMember').filter(
        (r) => r.inputs.bucket === globalBucketName(b.name, TEST_SUFFIX),
      );
      expect(bindings.some((r) => r.name === `${b.name}-writer-binding`)).toBe(false);
      for (const r of bindings)
        expect(r.inputs.member).toMatch(
          r.name.endsWith('-federated')
            ? /^principal:\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\//
            : /^serviceAccount:/,
        );
    }
  }
  return buckets.length;
}

/** A secret input's value (the mock keeps Pulumi's wrapper); plain values pass through. */
export function unwrap(v: Json): Json {
  return isSecretValue(v) ? v.value : v;
}

/** The user data of a VM as text (Azure: decoded custom data). */
export function userDataOf(provider: CloudProvider, vm: MockResource): string {
  const i = vm.inputs as Record<string, Json>;
  if (provider === 'aws') return unwrap(i.userData) as string;
  if (provider === 'azure') return Buffer.from(unwrap(i.osProfile).customData as string, 'base64').toString('utf8');
  return unwrap(i.metadata)['user-data'] as string;
}

/**
 * The BootValues a VM's user data carries, read back from the rendered cloud-init: /etc/tclouds/boot.json (node,
 * secrets) and /etc/tclouds/boot.env (the first boot's Node runtime). The software is in the `software` secret.
 */
export function bootValuesOfVm(provider: CloudProvider, vm: MockResource): BootValues {
  const doc = parse(userDataOf(provider, vm)) as { write_files: { path: string; content: string }[] };
  const content = (path: string) => doc.write_files.find((x) => x.path === path)!.content;
  const boot = JSON.parse(content('/etc/tclouds/boot.json')) as BootFile;
  const env = Object.fromEntries(
    content('/etc/tclouds/boot.env')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
  return {
    nodeId: boot.nodeId,
    provider: boot.provider as CloudProvider,
    ...(boot.region !== undefined ? { region: boot.region } : {}),
    nodeRuntime: { version: env.NODE_VERSION!, url: env.NODE_URL!, sha256: env.NODE_SHA256! },
    secrets: boot.secrets.map((x) => ({ kind: x.kind as NodeSecretKind, ref: x.ref, path: x.path })),
  };
}

/**
 * User data holds nothing secret: no PEM, no admin token, no spec contents (peer keys, peers' addresses), and it is
 * not even marked secret (so `plan` can show it). Bucket credentials (AWS, Azure) stay secret outputs.
 */
export function checkSecrets(plan: Plan, provider: CloudProvider, run: MockRun, keys?: KeyMaterial): void {
  for (const vm of ofType(run, VM_TYPE[provider])) {
    const i = vm.inputs as Record<string, Json>;
    const carrier = provider === 'aws' ? i.userData : provider === 'azure' ? i.osProfile : i.metadata;
    expect(isSecretValue(carrier), `${vm.name}: user data is marked secret`).toBe(false);
    const text = userDataOf(provider, vm);
    const all = `${text}\n${JSON.stringify(bootValuesOfVm(provider, vm))}`;
    expect(all).not.toMatch(/PRIVATE KEY|"peers"|"clients"|adminToken/);
    for (const token of Object.values(keys?.adminTokens ?? {})) expect(all).not.toContain(token);
    for (const pk of Object.values(keys?.publicKeys ?? {})) expect(all).not.toContain(pk);
    expect(JSON.stringify(i)).not.toContain('PRIVATE KEY');
  }
  const buckets = Object.values(plan.components)
    .flatMap((c) => c.buckets)
    .filter((b) => plan.clouds[b.cloud]?.provider === provider);
  // GCP issues no bucket credentials (its buckets are reached by VM service accounts only).
  for (const b of buckets) {
    if (provider === 'gcp') expect(run.secretOutputs).not.toContain(`buckets.${b.cloud}/${b.name}.credentials`);
    else expect(run.secretOutputs).toContain(`buckets.${b.cloud}/${b.name}.credentials`);
  }
}

/** Every shipped topology template, rendered for `provider` with one declared client network. */
export async function checkTemplates(provider: CloudProvider): Promise<void> {
  const modes = templateModes();
  expect(modes.length).toBeGreaterThanOrEqual(4);
  for (const mode of modes) {
    const plan = await templatePlan(mode, provider, ['198.51.100.0/24']);
    const keys = ephemeralKeys(plan);
    const run = await runPlan(plan, provider, {}, { keys });
    checkNodes(plan, provider, run);
    checkDomains(plan, provider, run);
    const rules = checkFirewall(plan, provider, run);
    // Client-facing ports take the declared network; peer ports never do.
    for (const r of rules) {
      const clientLinked = plan.components[r.component]!.links.some(
        (l) =>
          l.from === 'clients' &&
          l.to === r.role &&
          plan.components[r.component]!.nodes.some((n) => n.role === r.role && n.ports[l.port] === r.port),
      );
      const control = controlPorts(plan, r.component, r.role).has(r.port);
      expect(r.sources.includes('198.51.100.0/24')).toBe(clientLinked || control);
    }
    expect(checkBuckets(plan, provider, run)).toBe(
      Object.values(plan.components)
        .flatMap((c) => c.buckets)
        .filter((b) => plan.clouds[b.cloud]?.provider === provider).length,
    );
    checkSecrets(plan, provider, run, keys);
    if (targetNodes(plan, provider).length > 0) checkBoot(plan, provider, run, keys, testArtifact().sha256);
  }
}
