/**
 * The cloud programs over many topologies, under Pulumi's mock runtime: every topology template (as `tclouds init`
 * renders it, with its optional components switched on) and mode over every mix of providers, and dense SMR
 * groups with f sampled from 1 to the schema's maximum and hosts from 1 to 1,000.
 *
 * Each case either builds, and then every check in CHECKS holds, or fails before any resource with one of the
 * plan-time codes of a documented limit (LIMIT_CODES). A check is one function of the case: adding one is adding
 * an entry to CHECKS.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../components/plan-types.js';
import { parseStorageGatewayConfig } from '../../components/storage/config.js';
import { TcError } from '../../kernel/errors.js';
import { loadNodeSpec } from '../../runtime/spec-file.js';
import { LimitCode, PulumiCode } from '../../stacks/pulumi/codes.js';
import type { CloudProvider } from '../../stacks/pulumi/constructs.js';
import { federatedSubject } from '../../stacks/pulumi/gcp-federation.js';
import { ephemeralKeys, type KeyMaterial } from '../../stacks/pulumi/keys.js';
import {
  AWS_USER_DATA_MAX_BYTES,
  AZURE_AVAILABILITY_SET_MAX_VMS,
  azureRegionFaultDomains,
  GCP_SPREAD_POLICY_MAX_VMS,
} from '../../stacks/pulumi/limits.js';
import type { MockResource, MockRun } from '../../stacks/pulumi/mock-preview.js';
import { AUTONAME_EXTRA, BUCKET_NAME_MAX, STORAGE_ACCOUNT_MAX } from '../../stacks/pulumi/names.js';
import { type ForeignGatewayIdentity, foreignGateways, isGateway } from '../../stacks/pulumi/node-boot.js';
import { createProgram } from '../../stacks/pulumi/program.js';
import { type Mode, PROVIDERS } from '../../topology/schema.js';
import { renderTopology } from '../../topology/templates.js';
import { tempDir } from '../support/tmp.js';
import { secretValue } from './boot.js';
import { checkFirewall, type Json, ofType, runPlan, testInputs, userDataOf, VM_TYPE } from './graph.js';
import { compileText, templateModes } from './plans.js';

const CLOUD_PROVIDERS = PROVIDERS.filter((p): p is CloudProvider => p !== 'local');
/** Plan-time failures a case may end in: each names a documented provider limit (or the address plan). */
const LIMIT_CODES = new Set<string>([
  PulumiCode.tooManyDomains,
  PulumiCode.unevenLayout,
  PulumiCode.addressSpace,
  ...Object.values(LimitCode),
]);
const CLIENTS = '198.51.100.0/24';
/** Client networks of the template cases: IPv4, none, IPv6 only (no IPv4 rule may then exist on Azure or GCP). */
const CLIENT_VARIANTS = [CLIENTS, '', '2001:db8::/48'];
/**
 * (f, hosts) samples: the schema allows f 1..32 and hosts 1..1000; 7 and 8 sit on the construct limits, f=13 is
 * where AWS user data passed 16 KB while specs were in it. Every pair of the full product costs too much under
 * the mocks (a 97-VM Azure program takes seconds of GC alone), so the pairs are spread over the range instead.
 */
const DENSE_SAMPLES: [f: number, hosts: number][] = [
  [1, 1],
  [1, 3],
  [2, 7],
  [3, 8],
  [4, 1000],
  [13, 8],
  [13, 1000],
  [32, 1000],
];
/** Past this many VMs a case is checked at plan time only (limits, codes), not built: see DENSE_SAMPLES. */
const MAX_BUILT_VMS: Record<CloudProvider, number> = { aws: 100, gcp: 40, azure: 16 };
/** Generous: the suite must pass on a machine with load 20 (it takes about 25 s of CPU). */
const SLOW_MS = 400_000;
const NEWER_AMI = 'ami-0newer0000000000';

interface Case {
  label: string;
  plan: Plan;
  provider: CloudProvider;
  /** Addresses of the nodes other targets realize (as if deployed first). */
  externalHosts: Record<string, string>;
  keys: KeyMaterial;
  /** Identities of the gateways other targets realize (as if deployed first). */
  identities?: Record<string, ForeignGatewayIdentity>;
}

interface Built extends Case {
  run: MockRun;
  /** The same case planned again with `extra` (same keys, so only what `extra` changes can differ). */
  again(extra: Parameters<typeof runPlan>[3]): Promise<MockRun>;
}

type Check = (b: Built) => void | Promise<void>;

const specDir = tempDir('tc-matrix-');

/** Every VM's spec, from its secret store entry, loads with the node's own spec loader. */
async function specsLoad(b: Built): Promise<void> {
  for (const vm of ofType(b.run, VM_TYPE[b.provider])) {
    const file = join(specDir, `${vm.name}.json`);
    writeFileSync(file, secretValue(b.provider, b.run, vm.name, 'spec'));
    const spec = await loadNodeSpec(file);
    expect(spec.id).toBe(vm.name);
    // A gateway's config (credential sources, Azure accounts) is what the storage gateway accepts.
    if (spec.kind === 'storage' && spec.role === 'gateway')
      expect(parseStorageGatewayConfig(spec.config).clouds).toBeTruthy();
  }
}

/** Every rule has a source, none is open to the world unless declared, only linked or control ports. */
function firewallSources(b: Built): void {
  const rules = checkFirewall(b.plan, b.provider, b.run);
  for (const r of rules) {
    expect(r.sources.length, `${b.label}: ${r.resource} has no source`).toBeGreaterThan(0);
    for (const s of r.sources)
      if (s === '0.0.0.0/0' || s === '::/0') expect(b.plan.clients.cidrs, `${b.label}: ${r.resource}`).toContain(s);
  }
}

/** Longest physical name per autonamed type (logical name + Pulumi's random suffix), from the providers' rules. */
const NAME_LIMITS: Record<string, number> = {
  'aws:iam/role:Role': 64,
  'aws:iam/user:User': 64,
  'azure-native:compute:VirtualMachine': 64,
  'azure-native:network:NetworkSecurityGroup': 80,
  'azure-native:network:NetworkInterface': 80,
  'azure-native:network:PublicIPAddress': 80,
  'azure-native:compute:AvailabilitySet': 80,
  'azure-native:compute:DedicatedHostGroup': 80,
  'azure-native:compute:DedicatedHost': 64,
  'gcp:compute/instance:Instance': 63,
  'gcp:compute/address:Address': 63,
  'gcp:compute/firewall:Firewall': 63,
  'gcp:compute/resourcePolicy:ResourcePolicy': 63,
  'gcp:compute/nodeGroup:NodeGroup': 63,
  'gcp:compute/network:Network': 63,
};

/** Every provider limit holds in what was registered (measured on the resources, not on the model). */
function limitsHold(b: Built): void {
  for (const r of b.run.resources) {
    const max = NAME_LIMITS[r.type];
    if (max !== undefined)
      expect(r.name.length + AUTONAME_EXTRA, `${b.label}: ${r.type} ${r.name}`).toBeLessThanOrEqual(max);
  }
  if (b.provider === 'aws') {
    for (const vm of ofType(b.run, VM_TYPE.aws))
      expect(Buffer.byteLength(userDataOf('aws', vm)), `${b.label}: ${vm.name} user data`).toBeLessThanOrEqual(
        AWS_USER_DATA_MAX_BYTES,
      );
    for (const pg of ofType(b.run, 'aws:ec2/placementGroup:PlacementGroup'))
      expect(pg.inputs.partitionCount).toBeLessThanOrEqual(7);
    for (const bk of ofType(b.run, 'aws:s3/bucket:Bucket'))
      expect(String(bk.inputs.bucket)).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
  }
  if (b.provider === 'gcp') {
    for (const p of ofType(b.run, 'gcp:compute/resourcePolicy:ResourcePolicy')) {
      const users = ofType(b.run, VM_TYPE.gcp).filter(
        (v) => v.inputs.resourcePolicies === `https://mock.invalid/${p.name}`,
      );
      expect(users.length, `${b.label}: ${p.name}`).toBeLessThanOrEqual(GCP_SPREAD_POLICY_MAX_VMS);
    }
    for (const bk of ofType(b.run, 'gcp:storage/bucket:Bucket')) {
      expect(String(bk.inputs.name).length).toBeLessThanOrEqual(BUCKET_NAME_MAX);
      expect(String(bk.inputs.name)).not.toMatch(/^goog|google/);
    }
  }
  if (b.provider === 'azure') {
    for (const set of ofType(b.run, 'azure-native:compute:AvailabilitySet')) {
      expect(set.inputs.platformFaultDomainCount).toBeLessThanOrEqual(
        azureRegionFaultDomains(String(set.inputs.location)),
      );
      const members = ofType(b.run, VM_TYPE.azure).filter(
        (v) => (v.inputs.availabilitySet as Json)?.id === `${set.name}-id`,
      );
      expect(members.length).toBeLessThanOrEqual(AZURE_AVAILABILITY_SET_MAX_VMS);
    }
    for (const a of ofType(b.run, 'azure-native:storage:StorageAccount'))
      expect(String(a.inputs.accountName)).toMatch(new RegExp(`^[a-z0-9]{3,${STORAGE_ACCOUNT_MAX}}$`));
  }
}

/**
 * Resources that hold data, per provider: retained on delete, and S3/GCS never emptied by a plain destroy. The
 * artifact store (`artifact*`) holds only the packed software, which every deploy uploads again: it goes with the stack.
 */
const DATA_TYPES: Record<CloudProvider, string[]> = {
  aws: ['aws:s3/bucket:Bucket'],
  azure: ['azure-native:storage:StorageAccount', 'azure-native:storage:BlobContainer'],
  gcp: ['gcp:storage/bucket:Bucket'],
};

function bucketsProtected(b: Built): void {
  for (const type of DATA_TYPES[b.provider]) {
    for (const r of ofType(b.run, type).filter((x) => !x.name.startsWith('artifact'))) {
      expect(r.options.retainOnDelete, `${b.label}: ${r.name} is not retained`).toBe(true);
      if (r.inputs.forceDestroy !== undefined) expect(r.inputs.forceDestroy).toBe(false);
    }
  }
  for (const rg of ofType(b.run, 'azure-native:resources:ResourceGroup').filter((r) => r.name.endsWith('-data-rg')))
    expect(rg.options.retainOnDelete).toBe(true);
}

/**
 * A newer image between two plans changes nothing: the AMI is pinned from the first run's outputs, Azure and GCP
 * image references are never compared after creation (ignoreChanges). Every resource's inputs stay identical.
 */
async function imageUpdateReplacesNothing(b: Built): Promise<void> {
  const images = (b.run.outputs.images ?? {}) as Record<string, string>;
  const second = await b.again({ images, latestAmi: NEWER_AMI });
  const before = new Map(b.run.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
  for (const r of second.resources)
    expect(JSON.stringify(r.inputs), `${b.label}: ${r.name} changed`).toBe(before.get(`${r.type}::${r.name}`));
  expect(second.resources).toHaveLength(b.run.resources.length);
  for (const vm of ofType(second, VM_TYPE[b.provider])) {
    if (b.provider === 'aws') expect(vm.inputs.ami).not.toBe(NEWER_AMI);
    if (b.provider === 'azure') expect(vm.options.ignoreChanges).toContain('storageProfile.imageReference');
    if (b.provider === 'gcp') expect(vm.options.ignoreChanges).toContain('bootDisk.initializeParams.image');
  }
}

/** Where a secret's value is stored: the only resources a spec change may touch (a new version, read at boot). */
const SECRET_VALUE_TYPES = new Set([
  'aws:secretsmanager/secretVersion:SecretVersion',
  'azure-native:keyvault:Secret',
  'gcp:secretmanager/secretVersion:SecretVersion',
]);
const BASE64_RUN = /[A-Za-z0-9+/]{40,}={0,2}/g;
const GZIP_MAGIC = [0x1f, 0x8b];

/** User data as text, with every base64 run in it decoded (and gunzipped) too: a secret may hide in `b64` content. */
function expandedUserData(provider: CloudProvider, vm: MockResource): string {
  const text = userDataOf(provider, vm);
  const decoded = [...text.matchAll(BASE64_RUN)].map(([run]) => {
    const bytes = Buffer.from(run, 'base64');
    const gz = bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
    try {
      return (gz ? gunzipSync(bytes) : bytes).toString('utf8');
    } catch {
      return '';
    }
  });
  return [text, ...decoded].join('\n');
}

/** The base64 body of a PEM (what would show if the PEM were copied without its armour). */
function pemBody(pem: string): string {
  return pem.split('\n').filter((l) => l && !l.startsWith('-----'))[0] ?? pem;
}

/**
 * No user data holds a private key (PEM), a token (any node's admin token) or spec contents (the node's spec, its
 * peers, the public keys only specs carry): the VM fetches those from the secret store with its own identity.
 */
function noSecretsInUserData(b: Built): void {
  const pems = [...Object.values(b.keys.privatePem), ...Object.values(b.keys.writerPem)].map(pemBody);
  const tokens = Object.values(b.keys.adminTokens);
  for (const vm of ofType(b.run, VM_TYPE[b.provider])) {
    const where = `${b.label}: ${vm.name} user data`;
    const text = expandedUserData(b.provider, vm);
    expect(text, where).not.toMatch(/PRIVATE KEY|"peers"|"clients"|"clientSigners"/);
    for (const body of pems) expect(text.includes(body), `${where} holds a private key`).toBe(false);
    for (const t of tokens) expect(text.includes(t), `${where} holds an admin token`).toBe(false);
    const spec = secretValue(b.provider, b.run, vm.name, 'spec');
    expect(text.includes(spec.trim()), `${where} holds the spec`).toBe(false);
    for (const pk of Object.values(b.keys.publicKeys))
      expect(text.includes(pk), `${where} holds a public key of the spec`).toBe(false);
  }
}

/**
 * A spec change between two plans (every node's config changes, as a `batchSize` change does) changes the spec
 * secrets' values and nothing else: no VM's user data, no other input a provider replaces a resource for.
 */
async function specChangeReplacesNothing(b: Built): Promise<void> {
  const changed = structuredClone(b.plan);
  for (const comp of Object.values(changed.components))
    for (const n of comp.nodes) n.config = { ...n.config, matrixSpecChange: 1 };
  const images = (b.run.outputs.images ?? {}) as Record<string, string>;
  const second = await runPlan(changed, b.provider, b.externalHosts, {
    keys: b.keys,
    images,
    ...(b.identities ? { externalGatewayIdentities: b.identities } : {}),
  });
  const before = new Map(b.run.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
  expect(second.resources.map((r) => `${r.type}::${r.name}`).sort()).toEqual([...before.keys()].sort());
  for (const r of second.resources) {
    if (SECRET_VALUE_TYPES.has(r.type)) continue;
    expect(JSON.stringify(r.inputs), `${b.label}: ${r.name} changed with the spec`).toBe(
      before.get(`${r.type}::${r.name}`),
    );
  }
  for (const vm of ofType(second, VM_TYPE[b.provider])) {
    const spec = (run: MockRun) => secretValue(b.provider, run, vm.name, 'spec');
    expect(spec(second), `${b.label}: ${vm.name} spec secret`).not.toBe(spec(b.run));
  }
}

/** No long-lived cloud key is made where the provider offers identities: on GCP no service-account key at all. */
function noServiceAccountKeys(b: Built): void {
  expect(ofType(b.run, 'gcp:serviceaccount/key:Key'), `${b.label}: a service-account key`).toEqual([]);
}

/**
 * GCP buckets from other targets' gateways by workload identity federation: on GCP, a binding of each foreign
 * gateway's principal on each GCP bucket of its component, and pool providers admitting exactly those gateways; on
 * AWS and Azure, every gateway's config names a keyless `federated` source for every GCP bucket.
 */
function federationBindings(b: Built): void {
  if (b.provider === 'gcp') {
    const members = ofType(b.run, 'gcp:storage/bucketIAMMember:BucketIAMMember');
    const gateways = foreignGateways(b.plan, 'gcp', b.identities ?? {});
    for (const g of gateways) {
      for (const bucket of b.plan.components[g.component]!.buckets) {
        if (b.plan.clouds[bucket.cloud]?.provider !== 'gcp') continue;
        const m = members.find((r) => r.name === `${bucket.name}-${g.nodeId}-federated`);
        expect(m, `${b.label}: no federation binding ${g.nodeId} -> ${bucket.name}`).toBeDefined();
        expect(String(m!.inputs.member)).toMatch(
          /^principal:\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z][a-z0-9-]{2,31}\/subject\//,
        );
        expect(String(m!.inputs.member).endsWith(`/subject/${federatedSubject(g.identity!)}`)).toBe(true);
        expect(m!.inputs.role).toBe('roles/storage.objectAdmin');
      }
    }
    const providers = ofType(b.run, 'gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider');
    for (const p of providers) {
      const admitted = gateways.filter((g) => `tc-${g.provider}` === p.inputs.workloadIdentityPoolProviderId);
      for (const g of admitted)
        expect(String(p.inputs.attributeCondition)).toContain(`'${federatedSubject(g.identity!)}'`);
    }
    expect(ofType(b.run, 'gcp:iam/workloadIdentityPool:WorkloadIdentityPool').length).toBe(gateways.length > 0 ? 1 : 0);
    return;
  }
  for (const vm of ofType(b.run, VM_TYPE[b.provider])) {
    const node = Object.values(b.plan.components)
      .flatMap((c) => c.nodes)
      .find((n) => n.id === vm.name);
    if (!node || !isGateway(b.plan, node)) continue;
    const spec = JSON.parse(secretValue(b.provider, b.run, vm.name, 'spec')) as { config: Record<string, Json> };
    const credentials = spec.config.credentials as Record<string, { source: string; identity?: string }>;
    for (const bucket of b.plan.components[node.component]!.buckets) {
      if (b.plan.clouds[bucket.cloud]?.provider !== 'gcp') continue;
      expect(credentials[bucket.cloud], `${b.label}: ${vm.name} has no source for ${bucket.cloud}`).toMatchObject({
        source: 'federated',
        identity: b.provider,
      });
    }
  }
}

const CHECKS: Record<string, Check> = {
  specsLoad,
  firewallSources,
  limitsHold,
  bucketsProtected,
  noSecretsInUserData,
  noServiceAccountKeys,
  federationBindings,
};
/** Checks that plan a second time: run on a sample of the cases (they double the cost). */
const PAIR_CHECKS: Record<string, Check> = { imageUpdateReplacesNothing, specChangeReplacesNothing };

interface Outcome {
  built: number;
  failed: Map<string, number>;
}

async function runCase(c: Case, outcome: Outcome, withPairs: boolean): Promise<void> {
  const plan = (extra: Parameters<typeof runPlan>[3] = {}) =>
    runPlan(c.plan, c.provider, c.externalHosts, {
      keys: c.keys,
      ...(c.identities ? { externalGatewayIdentities: c.identities } : {}),
      ...extra,
    });
  let run: MockRun;
  try {
    run = await plan();
  } catch (e) {
    if (!(e instanceof TcError)) throw e;
    expect(LIMIT_CODES.has(e.code), `${c.label}: ${e.code} ${e.message}`).toBe(true);
    expect(e.hint, `${c.label}: ${e.code} without a hint`).toBeTruthy();
    expect(e.location, `${c.label}: ${e.code} without where`).toBeDefined();
    outcome.failed.set(e.code, (outcome.failed.get(e.code) ?? 0) + 1);
    return;
  }
  outcome.built++;
  const built: Built = { ...c, run, again: plan };
  for (const check of Object.values(CHECKS)) await check(built);
  if (withPairs) for (const check of Object.values(PAIR_CHECKS)) await check(built);
}

/** The plan-time half of a case: the program is created (every limit checked), not run. */
function planTimeOnly(c: Case, outcome: Outcome): void {
  try {
    createProgram(
      c.plan,
      c.provider,
      testInputs(c.plan, { keys: c.keys, externalHosts: c.externalHosts }),
      PROVIDER_STUB,
    );
    outcome.built++;
  } catch (e) {
    if (!(e instanceof TcError)) throw e;
    expect(LIMIT_CODES.has(e.code), `${c.label}: ${e.code} ${e.message}`).toBe(true);
    outcome.failed.set(e.code, (outcome.failed.get(e.code) ?? 0) + 1);
  }
}

/** createProgram checks everything before it returns; the provider module is only used when the program runs. */
const PROVIDER_STUB = { realize: () => ({ nodes: {}, buckets: {} }) };

/** Fake addresses for the nodes of the other providers' clouds (as if those targets were deployed). */
function otherTargetHosts(plan: Plan, provider: CloudProvider): Record<string, string> {
  const hosts: Record<string, string> = {};
  let i = 1;
  for (const c of Object.values(plan.components))
    for (const n of c.nodes) {
      if (plan.clouds[n.cloud]?.provider === provider) continue;
      hosts[n.id] = `100.64.${i >> 8}.${i & 255}`;
      i++;
    }
  return hosts;
}

/** Fake identities of the other targets' gateways (as if those targets were deployed and recorded them). */
function otherTargetIdentities(plan: Plan, provider: CloudProvider): Record<string, ForeignGatewayIdentity> {
  const out: Record<string, ForeignGatewayIdentity> = {};
  for (const c of Object.values(plan.components))
    for (const n of c.nodes) {
      const p = plan.clouds[n.cloud]?.provider;
      if (p === provider || !isGateway(plan, n)) continue;
      if (p === 'aws') out[n.id] = { provider: 'aws', accountId: '210987654321', roleName: `${n.id}-role-0f3a2b1` };
      if (p === 'azure')
        out[n.id] = { provider: 'azure', tenantId: '11111111-2222-3333-4444-555555555555', principalId: `${n.id}-oid` };
    }
  return out;
}

function targetsOf(plan: Plan): CloudProvider[] {
  return CLOUD_PROVIDERS.filter((p) => Object.values(plan.clouds).some((c) => c.provider === p));
}

/** A template with its commented-out components switched on (each is documented as valid as written). */
function allComponents(text: string): string {
  const at = text.indexOf('Remove the leading "# "');
  if (at < 0) return text;
  const head = text.slice(0, text.indexOf('\n', at) + 1);
  const tail = text
    .slice(head.length)
    .split('\n')
    .map((l) => (l === '  #' ? '' : l.replace(/^ {2}# /, '  ')))
    .join('\n');
  return head + tail;
}

/** Each provider alone, and all of them together (two-provider mixes add nothing the three-way mix lacks). */
function mixes(): CloudProvider[][] {
  return [...CLOUD_PROVIDERS.map((p) => [p]), [...CLOUD_PROVIDERS]];
}

function denseSmr(provider: CloudProvider, region: string, f: number, hosts: number, cidrs: boolean): string {
  return `name: dense
mode: native
clouds:
  c1: { provider: ${provider}, region: ${region}, hosts: ${hosts} }
${cidrs ? `clients: { cidrs: [${CLIENTS}] }\n` : ''}components:
  ledger:
    kind: smr
    f: ${f}
    clouds: [c1]
    colocate: allowed
`;
}

const REGION: Record<CloudProvider, string[]> = {
  aws: ['eu-west-1'],
  azure: ['westeurope', 'westus2'], // 3 and 2 availability-set fault domains
  gcp: ['europe-west1'],
};

describe('cloud programs over the topology matrix (mock runtime)', () => {
  it(
    'every template and mode over every provider mix: builds and holds every check, or fails with a limit code',
    async () => {
      const outcome: Outcome = { built: 0, failed: new Map() };
      const modes: Mode[] = templateModes();
      expect(modes.length).toBeGreaterThanOrEqual(4);
      let pairs = 0;
      for (const mode of modes) {
        for (const providers of mixes()) {
          const rendered = renderTopology({ mode, providers, name: 'demo' });
          if (rendered.ignoredProviders.length > 0) continue; // native mode runs on one provider: the single mixes cover it
          for (const cidrs of CLIENT_VARIANTS) {
            // Without client networks, or with IPv6 ones only: one mode is enough (rules from clients drop out or
            // are IPv6 only; the control port follows them).
            if (cidrs !== CLIENTS && (providers.length > 1 || mode !== 'mediator')) continue;
            // The optional components (log, mapreduce, workflow) on the three-provider mix: every kind on every target.
            const base = providers.length > 1 ? allComponents(rendered.text) : rendered.text;
            const text = `${base}${cidrs ? `\nclients:\n  cidrs: [${cidrs}]\n` : ''}`;
            const plan = await compileText(text);
            for (const provider of targetsOf(plan)) {
              const label = `${mode} [${providers.join('+')}] clients [${cidrs}] -> ${provider}`;
              const c: Case = {
                label,
                plan,
                provider,
                externalHosts: otherTargetHosts(plan, provider),
                keys: ephemeralKeys(plan),
                identities: otherTargetIdentities(plan, provider),
              };
              await runCase(c, outcome, pairs++ % 5 === 0);
            }
          }
        }
      }
      expect(outcome.built).toBeGreaterThan(12);
    },
    SLOW_MS,
  );

  it(
    'dense SMR groups, f from 1 to 32 and hosts from 1 to 1,000 (sampled), every provider',
    async () => {
      const outcome: Outcome = { built: 0, failed: new Map() };
      let k = 0;
      for (const provider of CLOUD_PROVIDERS) {
        for (const region of REGION[provider]) {
          for (const [f, hosts] of DENSE_SAMPLES) {
            const plan = await compileText(denseSmr(provider, region, f, hosts, k % 2 === 0));
            const label = `${provider} ${region} f=${f} hosts=${hosts}`;
            const c: Case = { label, plan, provider, externalHosts: {}, keys: ephemeralKeys(plan) };
            const vms = plan.components.ledger!.nodes.length;
            if (vms > MAX_BUILT_VMS[provider]) planTimeOnly(c, outcome);
            else await runCase(c, outcome, k % 5 === 0);
            k++;
          }
        }
      }
      expect(outcome.built).toBeGreaterThan(20);
      // The limits are reached where the providers put them: GCP spread policies past 8 VMs.
      expect(outcome.failed.get(LimitCode.spreadPolicyVms) ?? 0).toBeGreaterThan(0);
    },
    SLOW_MS,
  );

  it('a role whose only sources are in a target not deployed yet is TC380, never a rule without sources', async () => {
    const plan = await compileText(
      allComponents(renderTopology({ mode: 'mediator', providers: ['aws', 'gcp'], name: 'demo' }).text),
    );
    // Any target with a rule fed only by the other target: without that target's addresses it must not build.
    const outcomes = [];
    for (const provider of targetsOf(plan)) {
      try {
        await runPlan(plan, provider);
        outcomes.push('built');
      } catch (e) {
        expect(e).toBeInstanceOf(TcError);
        outcomes.push((e as TcError).code);
      }
    }
    for (const o of outcomes) expect(['built', LimitCode.ruleWithoutSource]).toContain(o);
  });
});
