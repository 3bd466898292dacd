/**
 * Everything around the Automation API, driven by RECORDED engine event streams (test/pulumi/fixtures/*.json, in
 * the EngineEvent shape of @pulumi/pulumi 3.248): events to progress rows, outputs and credential files, errors
 * and exit codes, the update lock (stale and live), Ctrl-C, the missing CLI, --keep-data.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { automationEngine, findPulumiCli, type PulumiEngine, type StackRef } from '../../stacks/pulumi/engine.js';
import { createPulumiRealizer } from '../../stacks/pulumi/index.js';
import { pinnedNodeRuntime } from '../../stacks/pulumi/node-runtime.js';
import { loadRecording, type ReplayEngine, replayEngine } from '../../stacks/pulumi/replay-engine.js';
import type { DeployEvent, RealizeContext } from '../../stacks/realizer.js';
import { rejectedTcError } from '../support/tc-error.js';
import { tempDir } from '../support/tmp.js';
import { testArtifact } from './graph.js';
import { awsGcpLedgerPlan, handPlan } from './plans.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
/** The packed software stand-in: a small real file (packing this checkout is the boot side's test). */
const artifact = async () => ({ ...testArtifact(), bytes: 4096 });
const plan = handPlan({
  stack: 'demo',
  clouds: { a: { provider: 'aws', region: 'eu-west-1' } },
  components: {
    ledger: {
      nodes: [
        { cloud: 'a', domain: 0 },
        { cloud: 'a', domain: 1 },
      ],
      buckets: [{ cloud: 'a', name: 'demo-ledger-a' }],
    },
  },
});

let stackDir: string;
let events: DeployEvent[];
let controller: AbortController;

function ctx(extra: Partial<RealizeContext> = {}): RealizeContext {
  return {
    topologyFile: join(stackDir, '..', '..', 'tclouds.yaml'),
    stackDir,
    signal: controller.signal,
    onEvent: (e) => events.push(e),
    passphrase: 'correct horse battery staple',
    ...extra,
  };
}

function engineFor(fixture: string): ReplayEngine {
  return replayEngine(loadRecording(join(FIXTURES, fixture)));
}

beforeEach(async () => {
  stackDir = join(tempDir('tc-engine-'), '.tclouds', 'demo');
  await mkdir(stackDir, { recursive: true });
  events = [];
  controller = new AbortController();
});

describe('deploy through a recorded engine stream', () => {
  it('maps engine events to progress rows, writes outputs without secrets and 0600 credentials', async () => {
    const engine = engineFor('up-ok.json');
    const { outputs, changes } = await createPulumiRealizer('aws', { artifact, engine }).deploy(plan, ctx());
    expect(engine.calls).toEqual(['check', 'up']);
    expect(changes).toBe(8);
    const rows = events.map((e) => `${e.kind} ${e.id} ${e.state}${e.op ? ` ${e.op}` : ''}`);
    // Stack and provider plumbing is hidden; the `same` bucket is one `unchanged` row; ephemeral info is dropped.
    expect(rows).toEqual([
      'log pulumi-state done',
      'resource ledger running create',
      'resource a running create',
      'resource a-vpc running create',
      'resource ledger-replica-0-ip running create',
      'resource ledger-replica-1-ip running create',
      'resource demo-ledger-a unchanged same',
      'resource ledger-replica-0-ip done create',
      'resource ledger-replica-1-ip done create',
      'resource a-vpc done create',
      'node ledger-replica-0 running create',
      'node ledger-replica-1 running create',
      'log demo-ledger-a done',
      'node ledger-replica-0 done create',
      'node ledger-replica-1 done create',
      'resource a done create',
      'resource ledger done create',
      'log summary done',
    ]);
    expect(events.find((e) => e.id === 'ledger-replica-0' && e.state === 'done')).toMatchObject({
      type: 'aws:ec2/instance:Instance',
      elapsedMs: 31_000,
    });
    expect(events.find((e) => e.kind === 'log' && e.id === 'demo-ledger-a')!.message).toBe(
      'warning: bucket demo-ledger-a: versioning is not enabled',
    );
    expect(events.at(-1)!.message).toBe('8 created, 1 unchanged in 40s');

    expect(outputs).toMatchObject({ version: 1, stack: 'demo', target: 'aws' });
    const ledger = outputs.components.ledger!;
    expect(ledger.nodes.map((n) => [n.id, n.host, n.domain])).toEqual([
      ['ledger-replica-0', '54.216.10.1', 0],
      ['ledger-replica-1', '54.216.10.2', 1],
    ]);
    for (const n of ledger.nodes) expect(n.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ledger.clientKeys['client-ledger']!.keyFile).toBe(join(stackDir, 'keys', 'client-ledger.key'));
    // The client's Ed25519 request-signing key: its file (0600) and public key, never its contents.
    const signingKeyFile = join(stackDir, 'keys', 'client-ledger.sign.key');
    expect(ledger.clientKeys['client-ledger']).toMatchObject({
      signingKeyFile,
      signingPublicKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(statSync(signingKeyFile).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(outputs)).not.toContain(readFileSync(signingKeyFile, 'utf8').split('\n')[1]!);
    const bucket = ledger.buckets[0]!;
    expect(bucket).toMatchObject({ cloud: 'a', provider: 'aws', name: 'demo-ledger-a', region: 'eu-west-1' });
    // Secrets live only in the 0600 credentials file, never in the outputs.
    expect(JSON.stringify(outputs)).not.toContain('wJalrXUtnFEMI');
    expect(statSync(bucket.credentialsFile!).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(bucket.credentialsFile!, 'utf8')).credentials.secretAccessKey).toContain(
      'wJalrXUtnFEMI',
    );
    for (const id of ['ledger-replica-0', 'ledger-replica-1', 'client-ledger']) {
      expect(statSync(join(stackDir, 'keys', `${id}.key`)).mode & 0o777).toBe(0o600);
    }
    // One admin token per node, none for the stack: one cloud's nodes never hold another's token.
    const tokens = ['ledger-replica-0', 'ledger-replica-1'].map((id) => {
      const file = join(stackDir, 'keys', `${id}.admin.token`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      return readFileSync(file, 'utf8');
    });
    expect(tokens[0]).not.toBe(tokens[1]);
    expect(existsSync(join(stackDir, 'keys', 'admin.token'))).toBe(false);
    // What the VMs install: the packed build and its checksum and the runtime, recorded for destroy --keep-data
    // and for what the next plan says changes.
    expect(JSON.parse(readFileSync(join(stackDir, 'pulumi', 'aws.software.json'), 'utf8'))).toEqual({
      artifact: { path: testArtifact().path, sha256: testArtifact().sha256 },
      nodeRuntime: pinnedNodeRuntime(),
    });
    // The stack's suffix of every global name (buckets, artifact store, Key Vaults), drawn once and kept.
    const names = readFileSync(join(stackDir, 'pulumi', 'names.json'), 'utf8');
    expect(JSON.parse(names).suffix).toMatch(/^[a-z0-9]{6}$/);
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-nochange.json') }).deploy(plan, ctx());
    expect(readFileSync(join(stackDir, 'pulumi', 'names.json'), 'utf8')).toBe(names);
    // The record other targets and `outputs` read; the lock is gone.
    const cached = JSON.parse(readFileSync(join(stackDir, 'pulumi', 'aws.outputs.json'), 'utf8'));
    expect(cached.components.ledger.nodes).toHaveLength(2);
    expect(readFileSync(join(stackDir, 'pulumi', 'aws.outputs.json'), 'utf8')).not.toContain('wJalrXUtnFEMI');
    expect(existsSync(join(stackDir, 'pulumi', 'aws.lock'))).toBe(false);
  });

  it('keeps node keys across deploys (a new key would replace every VM)', async () => {
    const realizer = createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') });
    const first = await realizer.deploy(plan, ctx());
    events = [];
    const again = await createPulumiRealizer('aws', { artifact, engine: engineFor('up-nochange.json') }).deploy(
      plan,
      ctx(),
    );
    expect(again.changes).toBe(0);
    expect(again.outputs.components.ledger!.nodes.map((n) => n.publicKey)).toEqual(
      first.outputs.components.ledger!.nodes.map((n) => n.publicKey),
    );
    expect(events.filter((e) => e.state === 'unchanged').map((e) => `${e.kind} ${e.id}`)).toEqual([
      'node ledger-replica-0',
      'node ledger-replica-1',
      'resource ledger',
    ]);
    expect(events.some((e) => e.kind !== 'log' && (e.state === 'running' || e.state === 'done'))).toBe(false);
    expect(events.at(-1)!.message).toBe('9 unchanged in 2s');
  });

  it('a failed resource: a failed row, TC357 exit 1 carrying the provider error, lock released', async () => {
    const err = await rejectedTcError(
      createPulumiRealizer('aws', { artifact, engine: engineFor('up-failed.json') }).deploy(plan, ctx()),
    );
    expect([err.code, err.exit]).toEqual(['TC357', 1]);
    expect(err.message).toContain('ledger-replica-0: creating EC2 Instance');
    expect(err.message).toContain('InsufficientHostCapacity');
    expect(events.filter((e) => e.state === 'failed').map((e) => `${e.kind} ${e.id}`)).toEqual([
      'log ledger-replica-0',
      'node ledger-replica-0',
      `log tclouds-demo-aws`,
    ]);
    expect(existsSync(join(stackDir, 'pulumi', 'aws.lock'))).toBe(false);
    expect(existsSync(join(stackDir, 'pulumi', 'aws.outputs.json'))).toBe(false);
  });

  it("another update holds Pulumi's lock: the SDK's ConcurrentUpdateError becomes TC356 exit 6 with the way out", async () => {
    const err = await rejectedTcError(
      createPulumiRealizer('aws', { artifact, engine: engineFor('up-locked.json') }).deploy(plan, ctx()),
    );
    expect([err.code, err.exit]).toEqual(['TC356', 6]);
    expect(err.hint).toContain('pulumi cancel --stack demo-aws');
    expect(err.hint).toContain(`PULUMI_BACKEND_URL=file://${join(stackDir, 'pulumi-state')}`);
    expect(existsSync(join(stackDir, 'pulumi', 'aws.lock'))).toBe(false);
  });

  it('Ctrl-C mid-update: cancels through the AbortSignal, TC358 exit 130, no stale lock, next deploy runs', async () => {
    const engine = engineFor('up-interrupted.json');
    const p = createPulumiRealizer('aws', { artifact, engine }).deploy(
      plan,
      ctx({
        onEvent: (e) => {
          events.push(e);
          if (e.kind === 'node' && e.state === 'running') controller.abort();
        },
      }),
    );
    const err = await rejectedTcError(p);
    expect([err.code, err.exit]).toEqual(['TC358', 130]);
    expect(events.some((e) => e.kind === 'log' && e.message === 'cancelled')).toBe(true);
    expect(existsSync(join(stackDir, 'pulumi', 'aws.lock'))).toBe(false);
    controller = new AbortController();
    const next = engineFor('up-ok.json');
    await createPulumiRealizer('aws', { artifact, engine: next }).deploy(plan, ctx());
    expect(next.calls).toEqual(['check', 'up']); // no stale lock to clear
  });

  it("a lock left by a dead process is stale: Pulumi's lock is cleared (cancel) before the update", async () => {
    const dead = await deadPid();
    await mkdir(join(stackDir, 'pulumi'), { recursive: true });
    writeFileSync(
      join(stackDir, 'pulumi', 'aws.lock'),
      JSON.stringify({ pid: dead, startedAt: '2026-11-22T00:00:00Z' }),
    );
    const engine = engineFor('up-ok.json');
    await createPulumiRealizer('aws', { artifact, engine }).deploy(plan, ctx());
    expect(engine.calls).toEqual(['check', 'cancel', 'up']);
    expect(events.find((e) => e.id === 'lock')).toMatchObject({
      kind: 'log',
      message: 'clearing the lock of an interrupted update',
    });
    expect(existsSync(join(stackDir, 'pulumi', 'aws.lock'))).toBe(false);
  });

  it('a lock held by a live process: TC356 exit 6, the engine is not run and the lock is left alone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await mkdir(join(stackDir, 'pulumi'), { recursive: true });
      const lock = join(stackDir, 'pulumi', 'aws.lock');
      writeFileSync(lock, JSON.stringify({ pid: child.pid }));
      const engine = engineFor('up-ok.json');
      const err = await rejectedTcError(createPulumiRealizer('aws', { artifact, engine }).deploy(plan, ctx()));
      expect([err.code, err.exit]).toEqual(['TC356', 6]);
      expect(err.message).toContain(`pid ${child.pid}`);
      expect(engine.calls).toEqual(['check']);
      expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('no passphrase anywhere: one is generated once into the stack dir (0600), given to the engine as a file, never shown', async () => {
    const saved = { ...process.env };
    for (const k of ['TCLOUDS_PASSPHRASE', 'PULUMI_CONFIG_PASSPHRASE', 'PULUMI_CONFIG_PASSPHRASE_FILE'])
      delete process.env[k];
    try {
      const refs: StackRef[] = [];
      const recorded = engineFor('up-ok.json');
      const engine: PulumiEngine = {
        ...recorded,
        up: (ref, program, op) => {
          refs.push(ref);
          return recorded.up(ref, program, op);
        },
      };
      await createPulumiRealizer('aws', { artifact, engine }).deploy(plan, ctx({ passphrase: undefined }));
      const file = join(stackDir, 'pulumi-passphrase');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = readFileSync(file, 'utf8').trim();
      expect(text).toMatch(/^[0-9a-f]{64}$/);
      expect(refs[0]).toMatchObject({ passphraseFile: file, backendUrl: `file://${join(stackDir, 'pulumi-state')}` });
      expect(refs[0]!.passphrase).toBeUndefined();
      const notice = events.filter((e) => e.id === 'pulumi-state');
      expect(notice).toHaveLength(1);
      expect(notice[0]!.message).toContain(`file backend in ${join(stackDir, 'pulumi-state')}`);
      expect(notice[0]!.message).toContain(file);
      expect(JSON.stringify(events)).not.toContain(text);
      // A second deploy keeps the same passphrase.
      await createPulumiRealizer('aws', { artifact, engine }).deploy(plan, ctx({ passphrase: undefined }));
      expect(readFileSync(file, 'utf8').trim()).toBe(text);
    } finally {
      process.env = saved;
    }
  });

  it('a plan over a provider limit (TC383) fails before keys, name suffix, locks or the engine', async () => {
    const spread = handPlan({
      clouds: { g: { provider: 'gcp', region: 'europe-west1' } },
      components: { ledger: { nodes: Array.from({ length: 9 }, (_, i) => ({ cloud: 'g', domain: i % 3 })) } },
    });
    const engine = engineFor('up-ok.json');
    const err = await rejectedTcError(createPulumiRealizer('gcp', { engine }).deploy(spread, ctx()));
    expect([err.code, err.exit]).toEqual(['TC383', 3]);
    expect(engine.calls).toEqual(['check']);
    expect(existsSync(join(stackDir, 'keys'))).toBe(false);
    expect(existsSync(join(stackDir, 'pulumi', 'names.json'))).toBe(false);
  });

  it('a plan that exceeds its construct fails (TC351) before keys, locks or the engine', async () => {
    const big = handPlan({
      clouds: { a: { provider: 'aws', region: 'eu-west-1', construct: 'aws:partition-placement-group' } },
      components: { ledger: { nodes: [0, 1, 2, 3, 4, 5, 6, 7].map((domain) => ({ cloud: 'a', domain })) } },
    });
    const engine = engineFor('up-ok.json');
    const err = await rejectedTcError(createPulumiRealizer('aws', { artifact, engine }).deploy(big, ctx()));
    expect([err.code, err.exit]).toEqual(['TC351', 3]);
    expect(engine.calls).toEqual(['check']);
    expect(existsSync(join(stackDir, 'keys'))).toBe(false);
  });
});

describe('the software the VMs install', () => {
  it('--node-package: recorded as the published package, nothing packed; a bad spec is TC370 before the engine', async () => {
    const packs: string[] = [];
    const counting = async (o: { outDir: string }) => {
      packs.push(o.outDir);
      return artifact();
    };
    await createPulumiRealizer('aws', { artifact: counting, engine: engineFor('up-ok.json') }).deploy(
      plan,
      ctx({ nodePackage: 'tclouds@0.1.0' }),
    );
    expect(packs).toEqual([]);
    expect(JSON.parse(readFileSync(join(stackDir, 'pulumi', 'aws.software.json'), 'utf8'))).toEqual({
      packageSpec: 'tclouds@0.1.0',
      nodeRuntime: pinnedNodeRuntime(),
    });
    const engine = engineFor('up-ok.json');
    const err = await rejectedTcError(
      createPulumiRealizer('aws', { artifact, engine }).deploy(plan, ctx({ nodePackage: 'tclouds@latest;rm -rf /' })),
    );
    expect([err.code, err.exit]).toEqual(['TC370', 2]);
    expect(engine.calls).toEqual(['check']);
  });
});

describe('destroy and outputs', () => {
  it('destroy --delete-data first marks buckets deletable (an update), then removes the stack, its records and the credential files', async () => {
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, ctx());
    const cred = join(stackDir, 'keys', 'bucket-a-demo-ledger-a.json');
    expect(existsSync(cred)).toBe(true);
    const engine = engineFor('destroy.json');
    const { removed } = await createPulumiRealizer('aws', { artifact, engine }).destroy({ ...ctx(), keepData: false });
    expect(removed).toBe(8);
    expect(engine.calls).toEqual(['check', 'up', 'destroy']);
    expect(events.map((e) => e.id)).toContain('delete-data');
    expect(events.filter((e) => e.state === 'deleted').map((e) => e.id)).toContain('ledger-replica-0');
    for (const f of ['aws.outputs.json', 'aws.plan.json', 'aws.lock', 'names.json'])
      expect(existsSync(join(stackDir, 'pulumi', f))).toBe(false);
    expect(existsSync(cred)).toBe(false);
  });

  it('destroy (keeping data, the default) first marks buckets retained (an update), then destroys, and keeps the credentials', async () => {
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, ctx());
    const engine = engineFor('destroy.json');
    await createPulumiRealizer('aws', { artifact, engine }).destroy({ ...ctx(), keepData: true });
    expect(engine.calls).toEqual(['check', 'up', 'destroy']);
    expect(existsSync(join(stackDir, 'keys', 'bucket-a-demo-ledger-a.json'))).toBe(true);
  });

  it('destroy of a deployed stack without the deployed record refuses (TC362 keep, TC387 delete) instead of guessing', async () => {
    const keep = engineFor('up-ok.json');
    const err = await rejectedTcError(
      createPulumiRealizer('aws', { artifact, engine: keep }).destroy({ ...ctx(), keepData: true }),
    );
    expect([err.code, err.exit]).toEqual(['TC362', 4]);
    expect(keep.calls).toEqual(['check', 'outputs']);
    const del = engineFor('up-ok.json');
    const err2 = await rejectedTcError(
      createPulumiRealizer('aws', { artifact, engine: del }).destroy({ ...ctx(), keepData: false }),
    );
    expect([err2.code, err2.exit]).toEqual(['TC387', 4]);
  });

  it('a limit added after a stack was deployed never blocks its destroy', async () => {
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, ctx());
    const saved = join(stackDir, 'pulumi', 'aws.plan.json');
    const old = JSON.parse(readFileSync(saved, 'utf8'));
    // A bucket whose writer's IAM name is over 64 characters: TC384 today, deployed by an older tclouds.
    old.components.ledger.buckets[0].name = `demo-${'l'.repeat(55)}`;
    writeFileSync(saved, JSON.stringify(old));
    const engine = engineFor('destroy.json');
    await createPulumiRealizer('aws', { artifact, engine }).destroy({ ...ctx(), keepData: true });
    expect(engine.calls).toEqual(['check', 'up', 'destroy']);
  });

  it('destroy of a stack that was never deployed does nothing', async () => {
    const engine = engineFor('destroy.json');
    expect(await createPulumiRealizer('aws', { artifact, engine }).destroy({ ...ctx(), keepData: true })).toEqual({
      removed: 0,
    });
    expect(engine.calls).toEqual(['check', 'outputs']);
  });

  it('deploy pins the image each region resolved and makes the name suffix once; both survive a redeploy', async () => {
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, ctx());
    const names = JSON.parse(readFileSync(join(stackDir, 'pulumi', 'names.json'), 'utf8'));
    expect(names.suffix).toMatch(/^[a-z0-9]{6}$/);
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, ctx());
    expect(JSON.parse(readFileSync(join(stackDir, 'pulumi', 'names.json'), 'utf8'))).toEqual(names);
    const pins = join(stackDir, 'pulumi', 'aws.images.json');
    expect(JSON.parse(readFileSync(pins, 'utf8'))).toEqual({ 'eu-west-1': 'ami-0fedcba9876543210' });
    // A stack deployed later keeps what it pinned even when the deploy reports another image.
    writeFileSync(pins, JSON.stringify({ 'eu-west-1': 'ami-0pinned00000000' }));
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, ctx());
    expect(JSON.parse(readFileSync(pins, 'utf8'))).toEqual({ 'eu-west-1': 'ami-0pinned00000000' });
    // --refresh-images drops the pin and records what the deploy resolved.
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, {
      ...ctx(),
      refreshImages: true,
    });
    expect(JSON.parse(readFileSync(pins, 'utf8'))).toEqual({ 'eu-west-1': 'ami-0fedcba9876543210' });
  });

  it('a bucket that leaves the topology is retained first (an update of the last plan), and deploy says so', async () => {
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, ctx());
    const without = structuredClone(plan);
    without.components.ledger!.buckets = [];
    const engine = engineFor('up-ok.json');
    await createPulumiRealizer('aws', { artifact, engine }).deploy(without, ctx());
    expect(engine.calls).toEqual(['check', 'up', 'up']);
    expect(events.map((e) => e.message ?? '').join('\n')).toMatch(
      /bucket demo-ledger-a of cloud a .*stays in the cloud with its data/,
    );
  });

  it('a spec change without clients.cidrs: deploy says the nodes were not restarted and keeps them for the next', async () => {
    /** The recorded engine, with the spec digests the program would output. */
    const withDigests = (digests: Record<string, string>): PulumiEngine => {
      const recorded = engineFor('up-ok.json');
      return {
        ...recorded,
        up: async (ref, program, op) => {
          const r = await recorded.up(ref, program, op);
          return { ...r, outputs: { ...r.outputs, specDigests: { value: digests, secret: false } } };
        },
      };
    };
    const [n0, n1] = plan.components.ledger!.nodes.map((n) => n.id) as [string, string];
    const file = join(stackDir, 'pulumi', 'aws.spec-digests.json');
    await createPulumiRealizer('aws', { artifact, engine: withDigests({ [n0]: 'a', [n1]: 'b' }) }).deploy(plan, ctx());
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ [n0]: 'a', [n1]: 'b' });
    expect(events.some((e) => e.id === 'rollout')).toBe(false); // first deploy: every VM boots with its spec
    await createPulumiRealizer('aws', { artifact, engine: withDigests({ [n0]: 'a', [n1]: 'c' }) }).deploy(plan, ctx());
    const note = events.find((e) => e.id === 'rollout');
    expect(note?.message).toContain(`1 node (${n1}) got a new spec or software and was not restarted`);
    expect(note?.message).toContain('clients.cidrs');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ [n0]: 'a', [n1]: 'b' });
  });

  it('outputs come from the stack (engine) and the deployed plan; a missing stack is null', async () => {
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, ctx());
    const out = await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).outputs(ctx());
    expect(out!.components.ledger!.nodes.map((n) => n.host)).toEqual(['54.216.10.1', '54.216.10.2']);
    expect(JSON.stringify(out)).not.toContain('wJalrXUtnFEMI');
    expect(
      await createPulumiRealizer('aws', { artifact, engine: engineFor('up-locked.json') }).outputs(ctx()),
    ).toBeNull();
  });

  it('TCLOUDS_PULUMI_REPLAY selects the replay engine (how e2e tests drive the commands)', async () => {
    process.env.TCLOUDS_PULUMI_REPLAY = join(FIXTURES, 'up-ok.json');
    try {
      const { outputs } = await createPulumiRealizer('aws', { artifact }).deploy(plan, ctx());
      expect(outputs.components.ledger!.nodes).toHaveLength(2);
    } finally {
      delete process.env.TCLOUDS_PULUMI_REPLAY;
    }
  });
});

describe('several providers in one stack', () => {
  it('clouds: one program opens each peer port to the other provider nodes at their static addresses', async () => {
    const mixed = awsGcpLedgerPlan({ stack: 'demo', buckets: [{ cloud: 'a', name: 'demo-ledger-a' }] });
    // One provider alone would render specs naming the other's nodes with no address: refused before anything.
    const alone = await rejectedTcError(createPulumiRealizer('gcp', { artifact }).preview(mixed, ctx()));
    expect(alone.code).toBe('TC390');
    const both = await createPulumiRealizer('clouds', { artifact }).preview(mixed, ctx());
    const address = (type: string, node: string) =>
      both.resources.find((x) => x.type === type && x.name === `${node}-ip`)!;
    expect(address('aws:ec2/eip:Eip', 'ledger-replica-0')).toBeDefined();
    expect(address('gcp:compute/address:Address', 'ledger-replica-2')).toBeDefined();
    const peerRule = both.resources.find(
      (x) => x.type === 'gcp:compute/firewall:Firewall' && x.inputs.description === 'tclouds ledger replica peer',
    )!;
    // The two GCP replicas by private address, the two AWS replicas by their Elastic IPs (mock addresses).
    const sources = peerRule.inputs.sourceRanges as string[];
    expect(sources.filter((s) => s.startsWith('10.16.'))).toEqual(['10.16.0.10/32', '10.16.0.11/32']);
    expect(sources.filter((s) => !s.startsWith('10.16.'))).toHaveLength(2);
    // And the AWS replicas' peer port lets the two GCP replicas in by their static addresses.
    const sg = both.resources.find((x) => x.type === 'aws:ec2/securityGroup:SecurityGroup')!;
    const ingress = (sg.inputs.ingress as { fromPort: number; cidrBlocks: string[] }[]).find(
      (r) => r.fromPort === 7100,
    )!;
    const fromGcp = ingress.cidrBlocks.filter((c) => !c.startsWith('10.16.'));
    expect(fromGcp).toHaveLength(2);
    for (const c of fromGcp) expect(sources).not.toContain(c);
  });
});

describe('the real engine without the pulumi CLI', () => {
  const saved = { PATH: process.env.PATH, PULUMI_HOME: process.env.PULUMI_HOME };
  beforeEach(() => {
    process.env.PATH = tempDir('tc-empty-path-');
    process.env.PULUMI_HOME = tempDir('tc-pulumi-home-');
  });
  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.PULUMI_HOME === undefined) delete process.env.PULUMI_HOME;
    else process.env.PULUMI_HOME = saved.PULUMI_HOME;
  });

  it('deploy: TC350 exit 7 saying how to install it, nothing downloaded, nothing written', async () => {
    expect(findPulumiCli()).toBeUndefined();
    const err = await rejectedTcError(
      createPulumiRealizer('aws', { artifact, engine: automationEngine() }).deploy(plan, ctx()),
    );
    expect([err.code, err.exit]).toEqual(['TC350', 7]);
    expect(err.message).toContain('`pulumi` CLI is not installed');
    expect(err.hint).toContain('https://www.pulumi.com/docs/install/');
    expect(existsSync(join(stackDir, 'keys'))).toBe(false);
    expect(existsSync(join(stackDir, '..', 'state'))).toBe(false);
    expect(existsSync(join(process.env.PULUMI_HOME!, 'bin'))).toBe(false);
  });

  it('outputs: falls back to the last recorded deployment, else the same TC350', async () => {
    const err = await rejectedTcError(
      createPulumiRealizer('aws', { artifact, engine: automationEngine() }).outputs(ctx()),
    );
    expect(err.code).toBe('TC350');
    await createPulumiRealizer('aws', { artifact, engine: engineFor('up-ok.json') }).deploy(plan, ctx());
    const out = await createPulumiRealizer('aws', { artifact, engine: automationEngine() }).outputs(ctx());
    expect(out!.components.ledger!.nodes).toHaveLength(2);
  });
});

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    c.on('exit', () => resolve(c.pid!));
  });
}
