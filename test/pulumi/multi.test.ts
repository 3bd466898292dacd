/**
 * One cloud deployment over every provider of a topology, under Pulumi's mock runtime: the mediator template on
 * aws + azure + gcp builds in one program, every node's address is registered before any VM, every rendered spec
 * loads with the node's own spec loader (no empty host, cross-provider peers at their static addresses), gateways
 * reach the other providers' buckets without a second deploy, a spec change replaces no VM, and kept buckets are
 * adopted by the next deploy.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../components/plan-types.js';
import { TcError } from '../../kernel/errors.js';
import { loadNodeSpec } from '../../runtime/spec-file.js';
import { keptKey, NOT_ADOPTED_TYPES } from '../../stacks/pulumi/adopt.js';
import { DeploymentCode, LimitCode } from '../../stacks/pulumi/codes.js';
import type { CloudProvider } from '../../stacks/pulumi/constructs.js';
import { ephemeralKeys, type KeyMaterial } from '../../stacks/pulumi/keys.js';
import { type MockRun, runUnderMocks } from '../../stacks/pulumi/mock-preview.js';
import {
  createDeploymentProgram,
  createProgram,
  loadProvider,
  loadProviders,
  planProviders,
} from '../../stacks/pulumi/program.js';
import type { ProgramInputs } from '../../stacks/pulumi/program-env.js';
import { renderTopology } from '../../topology/templates.js';
import { tempDir } from '../support/tmp.js';
import { secretValue } from './boot.js';
import { checkBuckets, checkFirewall, checkNodes, testInputs, VM_TYPE } from './graph.js';
import { compileText, MIXED_LOCAL_TOPOLOGY } from './plans.js';

const CLIENTS = '198.51.100.0/24';
const ADDRESS_TYPES = new Set([
  'aws:ec2/eip:Eip',
  'azure-native:network:PublicIPAddress',
  'gcp:compute/address:Address',
]);
const VM_TYPES = new Set(Object.values(VM_TYPE));
const SECRET_VALUE_TYPES = new Set([
  'aws:secretsmanager/secretVersion:SecretVersion',
  'azure-native:keyvault:Secret',
  'gcp:secretmanager/secretVersion:SecretVersion',
]);

/** The mediator template on every cloud provider: `tclouds init --mode mediator --clouds aws,azure,gcp`. */
async function mediatorEverywhere(): Promise<Plan> {
  const text = renderTopology({ mode: 'mediator', providers: ['aws', 'azure', 'gcp'], name: 'demo' }).text;
  return compileText(`${text}\nclients:\n  cidrs: [${CLIENTS}]\n`);
}

async function deploy(plan: Plan, over: Partial<ProgramInputs> = {}): Promise<MockRun> {
  const program = createDeploymentProgram(plan, await loadProviders(planProviders(plan)), testInputs(plan, over));
  return runUnderMocks(program, `${plan.stack}-clouds`);
}

function providerOf(plan: Plan, nodeId: string): CloudProvider {
  const node = Object.values(plan.components)
    .flatMap((c) => c.nodes)
    .find((n) => n.id === nodeId)!;
  return plan.clouds[node.cloud]!.provider as CloudProvider;
}

describe('one deployment over aws, azure and gcp (mock runtime)', () => {
  it('builds the mediator template in one program: every VM, rule and bucket of every provider', async () => {
    const plan = await mediatorEverywhere();
    expect(planProviders(plan)).toEqual(['aws', 'azure', 'gcp']);
    const run = await deploy(plan);
    for (const p of planProviders(plan)) {
      checkNodes(plan, p, run);
      for (const r of checkFirewall(plan, p, run)) expect(r.sources.length, r.resource).toBeGreaterThan(0);
      checkBuckets(plan, p, run);
    }
    expect(run.outputs.providers).toEqual(['aws', 'azure', 'gcp']);
  });

  it('registers every address before any VM, and every spec loads with peers at those addresses', async () => {
    const plan = await mediatorEverywhere();
    const keys = ephemeralKeys(plan);
    const run = await deploy(plan, { keys });
    // Each VM depends on (so the engine creates first) the address of every node of its component, whatever its
    // provider: the addresses its spec names. The mock sees registrations in that order too.
    const at = (type: string, name: string) => run.resources.findIndex((r) => r.type === type && r.name === name);
    let ordered = 0;
    for (const [i, vm] of run.resources.entries()) {
      if (!VM_TYPES.has(vm.type)) continue;
      const comp = Object.values(plan.components).find((c) => c.nodes.some((n) => n.id === vm.name))!;
      for (const peer of comp.nodes) {
        const type = [...ADDRESS_TYPES].find((t) => at(t, `${peer.id}-ip`) >= 0)!;
        expect(at(type, `${peer.id}-ip`), `${peer.id}-ip before ${vm.name}`).toBeLessThan(i);
        expect(vm.options.dependencies.some((d) => d.endsWith(`${type}::${peer.id}-ip`))).toBe(true);
        ordered++;
      }
      // Its fixed addresses belong to one VM at a time: a replacement deletes the old VM first.
      expect(vm.options.deleteBeforeReplace, vm.name).toBe(true);
    }
    expect(ordered).toBeGreaterThan(0);
    const publicIp = new Map(
      Object.entries(run.outputs.nodes as Record<string, { publicIp: string }>).map(([id, n]) => [id, n.publicIp]),
    );
    const dir = tempDir('tc-multi-');
    let crossProvider = 0;
    for (const vm of run.resources.filter((r) => VM_TYPES.has(r.type))) {
      const me = providerOf(plan, vm.name);
      const file = join(dir, `${vm.name}.json`);
      writeFileSync(file, secretValue(me, run, vm.name, 'spec'));
      const spec = await loadNodeSpec(file); // rejects an empty host (TC411)
      expect(spec.id).toBe(vm.name);
      for (const peer of spec.peers) {
        expect(peer.host, `${vm.name} -> ${peer.id}`).not.toBe('');
        if (providerOf(plan, peer.id) === me) continue;
        expect(peer.host, `${vm.name} -> ${peer.id}`).toBe(publicIp.get(peer.id));
        crossProvider++;
      }
    }
    expect(crossProvider).toBeGreaterThan(0);
  });

  it('gateways get every other provider bucket credentials from the same program (none missing)', async () => {
    const plan = await mediatorEverywhere();
    const run = await deploy(plan);
    const buckets = run.outputs.buckets as Record<string, { credentials?: unknown }>;
    const gateways = plan.components.vault!.nodes.filter((n) => n.role === 'gateway');
    expect(gateways.length).toBeGreaterThan(0);
    let fromOthers = 0;
    for (const g of gateways) {
      const me = providerOf(plan, g.id);
      const creds = JSON.parse(secretValue(me, run, g.id, 'bucket-credentials')) as {
        clouds: Record<
          string,
          { provider: string; bucket: string; source: string; credentials?: { credentials?: unknown } }
        >;
      };
      for (const [cloud, entry] of Object.entries(creds.clouds)) {
        if (entry.provider === me) {
          expect(entry.source, `${g.id} -> ${cloud}`).toBe('identity');
          continue;
        }
        // Another provider's bucket: its per-bucket credentials, made by this same program (where it has any).
        if (buckets[`${cloud}/${entry.bucket}`]?.credentials === undefined) continue;
        expect(entry.source, `${g.id} -> ${cloud}`).toBe('credentials');
        expect(entry.credentials?.credentials, `${g.id} -> ${cloud}`).toBeTruthy();
        fromOthers++;
      }
    }
    expect(fromOthers).toBeGreaterThan(0);
    const notes = run.outputs.notes as string[];
    for (const [key, b] of Object.entries(buckets))
      if (b.credentials !== undefined)
        expect(notes).not.toContainEqual(expect.stringContaining(`cannot reach ${key.split('/')[0]} until`));
  });

  it('a second plan with a spec change changes only secret values: no VM is replaced', async () => {
    const plan = await mediatorEverywhere();
    const keys: KeyMaterial = ephemeralKeys(plan);
    const first = await deploy(plan, { keys });
    const changed = structuredClone(plan);
    for (const comp of Object.values(changed.components))
      for (const n of comp.nodes) n.config = { ...n.config, multiSpecChange: 1 };
    const second = await deploy(changed, { keys, images: (first.outputs.images ?? {}) as Record<string, string> });
    const before = new Map(first.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
    expect(second.resources.map((r) => `${r.type}::${r.name}`).sort()).toEqual([...before.keys()].sort());
    for (const r of second.resources) {
      if (SECRET_VALUE_TYPES.has(r.type)) continue;
      expect(JSON.stringify(r.inputs), `${r.name} changed with the spec`).toBe(before.get(`${r.type}::${r.name}`));
    }
    for (const vm of second.resources.filter((r) => VM_TYPES.has(r.type))) {
      const p = providerOf(plan, vm.name);
      expect(secretValue(p, second, vm.name, 'spec')).not.toBe(secretValue(p, first, vm.name, 'spec'));
    }
  });

  it('a component with peers on a local cloud and on cloud providers is TC389, before any resource', async () => {
    const plan = await compileText(MIXED_LOCAL_TOPOLOGY);
    let err: unknown;
    try {
      createDeploymentProgram(plan, await loadProviders(planProviders(plan)), testInputs(plan));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TcError);
    expect((err as TcError).code).toBe(DeploymentCode.localPeers);
    expect((err as TcError).hint).toMatch(/--target local/);
  });

  it('a component wholly on local clouds is left out of the cloud deployment, and the plan says so', async () => {
    const plan = await compileText(`name: part
mode: mediator
clouds:
  c1: { provider: aws, region: eu-west-1, hosts: 4 }
  here: { provider: local, hosts: 4 }
components:
  ledger: { kind: smr, f: 1, clouds: [c1], colocate: allowed }
  dev: { kind: smr, f: 1, clouds: [here], colocate: allowed }
`);
    const run = await deploy(plan);
    expect(Object.keys(run.outputs.nodes as object).every((id) => id.startsWith('ledger-'))).toBe(true);
    expect(run.outputs.notes as string[]).toContainEqual(expect.stringMatching(/^dev runs only on local clouds/));
  });

  it('one provider of a topology that spans several never renders a spec without a host (TC380 or TC390)', async () => {
    const plan = await mediatorEverywhere();
    for (const p of planProviders(plan)) {
      let code = 'built';
      try {
        createProgram(plan, p, testInputs(plan), await loadProvider(p));
      } catch (e) {
        expect(e).toBeInstanceOf(TcError);
        code = (e as TcError).code;
      }
      expect([LimitCode.ruleWithoutSource, DeploymentCode.peerWithoutAddress]).toContain(code);
    }
  });

  it('kept buckets and writers are adopted by the next deploy (import with the recorded ids)', async () => {
    const plan = await mediatorEverywhere();
    const first = await deploy(plan);
    const kept = first.outputs.kept as Record<string, string>;
    const retained = first.resources.filter((r) => r.options.retainOnDelete && r.custom);
    expect(retained.length).toBeGreaterThan(0);
    for (const r of retained) expect(kept[keptKey(r.type, r.name)], `${r.type} ${r.name}`).toBeTruthy();
    const keys = retained.filter((r) => NOT_ADOPTED_TYPES.has(r.type));
    expect(new Set(keys.map((r) => r.type))).toEqual(new Set(NOT_ADOPTED_TYPES.keys()));
    // Region-aware AWS resources carry the import form for their region.
    const awsBucket = plan.components.vault!.buckets.find((b) => plan.clouds[b.cloud]!.provider === 'aws')!;
    const awsRegion = plan.clouds[awsBucket.cloud]!.region;
    expect(kept[keptKey('aws:s3/bucket:Bucket', awsBucket.name)]).toMatch(new RegExp(`@${awsRegion}$`));
    const second = await deploy(plan, { adopt: kept });
    for (const r of second.resources) {
      const owner = NOT_ADOPTED_TYPES.get(r.type);
      // A kept key is never imported as itself (it has no secret): a new one is made for the adopted writer...
      const id = owner === undefined ? kept[keptKey(r.type, r.name)] : undefined;
      if (owner === undefined || !r.name.endsWith('-previous')) {
        expect(r.options.importId, `${r.type} ${r.name}`).toBe(id ?? '');
        continue;
      }
      // ...and the kept one is adopted beside it, for the same owner, managed but not kept by the next destroy:
      // a writer holds at most two keys whatever the number of keep-destroy cycles (AWS allows two).
      const name = r.name.slice(0, -'-previous'.length);
      const current = second.resources.find((x) => x.type === r.type && x.name === name)!;
      expect(r.options.importId).toBe(kept[keptKey(r.type, name)]);
      expect(r.options.retainOnDelete).toBe(false);
      expect(r.inputs[owner]).toEqual(current.inputs[owner]);
    }
    const imported = second.resources.filter((r) => r.options.importId !== '');
    expect(imported.length).toBe(Object.keys(kept).length);
    expect(imported.filter((r) => r.name.endsWith('-previous')).length).toBe(keys.length);
    // A second keep-destroy keeps the new keys only: the third deploy adopts one previous key per writer again.
    const secondKept = second.outputs.kept as Record<string, string>;
    for (const r of second.resources.filter((x) => x.name.endsWith('-previous')))
      expect(secondKept[keptKey(r.type, r.name)]).toBeUndefined();
    const third = await deploy(plan, { adopt: secondKept });
    expect(third.resources.filter((r) => r.name.endsWith('-previous')).length).toBe(keys.length);
    // Nothing is adopted in a stack whose data was not kept.
    const fresh = await deploy(plan);
    expect(fresh.resources.every((r) => r.options.importId === '')).toBe(true);
  });
});
