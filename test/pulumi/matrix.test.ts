/**
 * The cloud programs over many topologies, under Pulumi's mock runtime: every topology template (as `tclouds init`
 * renders it, with its optional components switched on) and mode over every mix of providers, each mix built as
 * the one program of its deployment (`--target clouds`), and dense SMR groups with f sampled from 1 to the
 * schema's maximum and hosts from 1 to 1,000.
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
import { DeploymentCode, LimitCode, PulumiCode } from '../../stacks/pulumi/codes.js';
import type { CloudProvider } from '../../stacks/pulumi/constructs.js';
import { ephemeralKeys, type KeyMaterial } from '../../stacks/pulumi/keys.js';
import {
  AWS_USER_DATA_MAX_BYTES,
  AZURE_AVAILABILITY_SET_MAX_VMS,
  azureRegionFaultDomains,
  GCP_SPREAD_POLICY_MAX_VMS,
} from '../../stacks/pulumi/limits.js';
import type { MockOptions, MockResource, MockRun } from '../../stacks/pulumi/mock-preview.js';
import { runUnderMocks } from '../../stacks/pulumi/mock-preview.js';
import { AUTONAME_EXTRA, BUCKET_NAME_MAX, STORAGE_ACCOUNT_MAX } from '../../stacks/pulumi/names.js';
import { foreignGateways } from '../../stacks/pulumi/node-boot.js';
import { createDeploymentProgram, createProgram, loadProviders } from '../../stacks/pulumi/program.js';
import type { ProgramInputs } from '../../stacks/pulumi/program-env.js';
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
  /** The providers of the one program: every cloud provider of the plan (its `--target clouds` deployment). */
  providers: CloudProvider[];
  keys: KeyMaterial;
}

type Extra = Partial<ProgramInputs> & MockOptions;

interface Built extends Case {
  run: MockRun;
  /** The same case planned again with `extra` (same keys, so only what `extra` changes can differ). */
  again(extra: Extra): Promise<MockRun>;
}

/** The one program of a deployment over `providers`, under the mocks. */
async function runDeployment(plan: Plan, providers: CloudProvider[], extra: Extra = {}): Promise<MockRun> {
  if (providers.length === 1) return runPlan(plan, providers[0]!, {}, extra);
  const { latestAmi, ...inputs } = extra;
  const program = createDeploymentProgram(plan, await loadProviders(providers), testInputs(plan, inputs));
  return runUnderMocks(program, `${plan.stack}-clouds`, latestAmi === undefined ? {} : { latestAmi });
}

type Check = (b: Built) => void | Promise<void>;

const specDir = tempDir('tc-matrix-');

/** Every VM's spec, from its secret store entry, loads with the node's own spec loader. */
async function specsLoad(b: Built): Promise<void> {
  for (const provider of b.providers) {
    for (const vm of ofType(b.run, VM_TYPE[provider])) {
      const file = join(specDir, `${vm.name}.json`);
      writeFileSync(file, secretValue(provider, b.run, vm.name, 'spec'));
      const spec = await loadNodeSpec(file); // an empty host is TC411
      expect(spec.id).toBe(vm.name);
      for (const peer of spec.peers) expect(peer.host, `${b.label}: ${vm.name} -> ${peer.id}`).not.toBe('');
      // A gateway's config (credential sources, Azure accounts) is what the storage gateway accepts.
      if (spec.kind === 'storage' && spec.role === 'gateway')
        expect(parseStorageGatewayConfig(spec.config).clouds).toBeTruthy();
    }
  }
}

/** Every rule has a source, none is open to the world unless declared, only linked or control ports. */
function firewallSources(b: Built): void {
  const rules = b.providers.flatMap((p) => checkFirewall(b.plan, p, b.run));
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
  if (b.providers.includes('aws')) {
    for (const vm of ofType(b.run, VM_TYPE.aws))
      expect(Buffer.byteLength(userDataOf('aws', vm)), `${b.label}: ${vm.name} user data`).toBeLessThanOrEqual(
        AWS_USER_DATA_MAX_BYTES,
      );
    for (const pg of ofType(b.run, 'aws:ec2/placementGroup:PlacementGroup'))
      expect(pg.inputs.partitionCount).toBeLessThanOrEqual(7);
    for (const bk of ofType(b.run, 'aws:s3/bucket:Bucket'))
      expect(String(bk.inputs.bucket)).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
  }
  if (b.providers.includes('gcp')) {
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
  if (b.providers.includes('azure')) {
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
  for (const type of b.providers.flatMap((p) => DATA_TYPES[p])) {
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
  for (const vm of ofType(second, VM_TYPE.aws)) expect(vm.inputs.ami).not.toBe(NEWER_AMI);
  for (const vm of ofType(second, VM_TYPE.azure))
    expect(vm.options.ignoreChanges).toContain('storageProfile.imageReference');
  for (const vm of ofType(second, VM_TYPE.gcp))
    expect(vm.options.ignoreChanges).toContain('bootDisk.initializeParams.image');
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
 * No user data holds a private key (PEM: node keys, writer keys, control TLS keys), a token (any node's admin token) or spec contents (the node's spec, its
 * peers, the public keys only specs carry): the VM fetches those from the secret store with its own identity.
 */
function noSecretsInUserData(b: Built): void {
  const pems = [
    ...Object.values(b.keys.privatePem),
    ...Object.values(b.keys.writerPem),
    ...Object.values(b.keys.controlTls).map((t) => t.keyPem),
  ].map(pemBody);
  const tokens = Object.values(b.keys.adminTokens);
  for (const [provider, vm] of b.providers.flatMap((p) => ofType(b.run, VM_TYPE[p]).map((v) => [p, v] as const))) {
    const where = `${b.label}: ${vm.name} user data`;
    const text = expandedUserData(provider, vm);
    expect(text, where).not.toMatch(/PRIVATE KEY|"peers"|"clients"|"clientSigners"/);
    for (const body of pems) expect(text.includes(body), `${where} holds a private key`).toBe(false);
    for (const t of tokens) expect(text.includes(t), `${where} holds an admin token`).toBe(false);
    const spec = secretValue(provider, b.run, vm.name, 'spec');
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
  const second = await runDeployment(changed, b.providers, { keys: b.keys, images });
  const before = new Map(b.run.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
  expect(second.resources.map((r) => `${r.type}::${r.name}`).sort()).toEqual([...before.keys()].sort());
  for (const r of second.resources) {
    if (SECRET_VALUE_TYPES.has(r.type)) continue;
    expect(JSON.stringify(r.inputs), `${b.label}: ${r.name} changed with the spec`).toBe(
      before.get(`${r.type}::${r.name}`),
    );
  }
  for (const provider of b.providers) {
    for (const vm of ofType(second, VM_TYPE[provider])) {
      const spec = (run: MockRun) => secretValue(provider, run, vm.name, 'spec');
      expect(spec(second), `${b.label}: ${vm.name} spec secret`).not.toBe(spec(b.run));
    }
  }
}

/** No long-lived cloud key is made where the provider offers identities: on GCP no service-account key at all. */
function noServiceAccountKeys(b: Built): void {
  expect(ofType(b.run, 'gcp:serviceaccount/key:Key'), `${b.label}: a service-account key`).toEqual([]);
}

/**
 * GCP buckets from the AWS and Azure gateways of the same program by workload identity federation: every such
 * gateway's config names a keyless `federated` source for every GCP bucket of its component; the GCP part binds the
 * gateway's principal on each of those buckets, and the pool provider of its cloud admits exactly that subject
 * (handed over inside the program, no file, no second deploy).
 */
function federationBindings(b: Built): void {
  if (!b.providers.includes('gcp')) return;
  const gateways = foreignGateways(b.plan, 'gcp', {}).filter((g) => b.providers.includes(g.provider));
  const members = ofType(b.run, 'gcp:storage/bucketIAMMember:BucketIAMMember');
  const poolProviders = ofType(b.run, 'gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider');
  for (const g of gateways) {
    const spec = JSON.parse(secretValue(g.provider, b.run, g.nodeId, 'spec')) as { config: Record<string, Json> };
    const credentials = spec.config.credentials as Record<string, { source: string; identity?: string }>;
    const condition = String(
      poolProviders.find((p) => p.inputs.workloadIdentityPoolProviderId === `tc-${g.provider}`)?.inputs
        .attributeCondition,
    );
    for (const bucket of b.plan.components[g.component]!.buckets) {
      if (b.plan.clouds[bucket.cloud]?.provider !== 'gcp') continue;
      expect(credentials[bucket.cloud], `${b.label}: ${g.nodeId} has no source for ${bucket.cloud}`).toMatchObject({
        source: 'federated',
        identity: g.provider,
      });
      const m = members.find((r) => r.name === `${bucket.name}-${g.nodeId}-federated`);
      expect(m, `${b.label}: no federation binding ${g.nodeId} -> ${bucket.name}`).toBeDefined();
      const member = String(m!.inputs.member);
      expect(member).toMatch(
        /^principal:\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z][a-z0-9-]{2,31}\/subject\/./,
      );
      const subject = member.slice(member.indexOf('/subject/') + '/subject/'.length);
      if (g.provider === 'aws') expect(subject).toMatch(/^arn:aws:sts::\d*:assumed-role\/./);
      else expect(subject).toMatch(/-principal$/);
      expect(condition, `${b.label}: tc-${g.provider} does not admit ${g.nodeId}`).toContain(`'${subject}'`);
      expect(m!.inputs.role).toBe('roles/storage.objectAdmin');
    }
  }
  const pools = ofType(b.run, 'gcp:iam/workloadIdentityPool:WorkloadIdentityPool').length;
  expect(pools, `${b.label}: workload identity pools`).toBe(gateways.length > 0 ? 1 : 0);
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
  /** Cases of several providers built as one program. */
  builtMixes?: number;
  failed: Map<string, number>;
}

async function runCase(c: Case, outcome: Outcome, withPairs: boolean): Promise<void> {
  const plan = (extra: Extra = {}) => runDeployment(c.plan, c.providers, { keys: c.keys, ...extra });
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
  if (c.providers.length > 1) outcome.builtMixes = (outcome.builtMixes ?? 0) + 1;
  const built: Built = { ...c, run, again: plan };
  for (const check of Object.values(CHECKS)) await check(built);
  if (withPairs) for (const check of Object.values(PAIR_CHECKS)) await check(built);
}

/** The plan-time half of a case: the program is created (every limit checked), not run. */
function planTimeOnly(c: Case, outcome: Outcome): void {
  try {
    createProgram(c.plan, c.providers[0]!, testInputs(c.plan, { keys: c.keys }), PROVIDER_STUB);
    outcome.built++;
  } catch (e) {
    if (!(e instanceof TcError)) throw e;
    expect(LIMIT_CODES.has(e.code), `${c.label}: ${e.code} ${e.message}`).toBe(true);
    outcome.failed.set(e.code, (outcome.failed.get(e.code) ?? 0) + 1);
  }
}

/** createProgram checks everything before it returns; the provider module is only used when the program runs. */
const PROVIDER_STUB = { realize: () => ({ nodes: {}, buckets: {} }) };

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
            // Every provider of the mix in the one program of its deployment (`--target clouds`).
            const label = `${mode} [${providers.join('+')}] clients [${cidrs}] -> ${targetsOf(plan).join('+')}`;
            const c: Case = { label, plan, providers: targetsOf(plan), keys: ephemeralKeys(plan) };
            await runCase(c, outcome, pairs++ % 3 === 0);
          }
        }
      }
      expect(outcome.built).toBeGreaterThan(8);
      // Every mode's three-provider mix builds as one program (with every optional component switched on).
      expect(outcome.builtMixes).toBe(modes.filter((m) => m !== 'native').length);
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
            const c: Case = { label, plan, providers: [provider], keys: ephemeralKeys(plan) };
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

  it('one provider of a mix alone never builds a rule or spec without an address (TC380, TC390); the mix does', async () => {
    const plan = await compileText(
      allComponents(renderTopology({ mode: 'mediator', providers: ['aws', 'gcp'], name: 'demo' }).text),
    );
    // Any provider alone has peers in the other one, whose addresses it cannot know: it must not build.
    for (const provider of targetsOf(plan)) {
      let code = 'built';
      try {
        await runPlan(plan, provider);
      } catch (e) {
        expect(e).toBeInstanceOf(TcError);
        code = (e as TcError).code;
      }
      expect([LimitCode.ruleWithoutSource, DeploymentCode.peerWithoutAddress]).toContain(code);
    }
    const run = await runDeployment(plan, targetsOf(plan));
    expect(ofType(run, VM_TYPE.aws).length + ofType(run, VM_TYPE.gcp).length).toBe(
      Object.values(plan.components).flatMap((c) => c.nodes).length,
    );
  });
});
