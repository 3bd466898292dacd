/**
 * The Pulumi realizer of the cloud targets (`aws`, `azure`, `gcp`): `createPulumiRealizer(target)`.
 *
 * - `preview` runs the real program under Pulumi's mock runtime: offline, no CLI, no account. It lists every
 *   resource the program declares (type token, name, key inputs; secrets as "[secret]").
 * - `deploy`, `destroy`, `outputs` go through the engine port (engine.ts): the Automation API with an inline
 *   program and a local file backend (`file://<topology dir>/.tclouds/state` unless `--backend`), passphrase from
 *   TCLOUDS_PASSPHRASE. Progress arrives as engine events, mapped to DeployEvents (events.ts).
 *
 * Files under `<stackDir>/pulumi/`: `<target>.lock` (this machine's update lock; a lock left by a dead process is
 * stale, and the Pulumi lock it may have left is cleared with `pulumi cancel` before the next update),
 * `<target>.plan.json` (the plan last deployed: destroy --keep-data and outputs need it) and
 * `<target>.outputs.json` (DeploymentOutputs without secrets; other targets read node addresses from it).
 * `<target>.software.json` (what the VMs install: the artifact file and its SHA-256, or the published package),
 * `<target>.names.json` (the random suffix of the deployment's globally unique names, kept until destroy).
 * The packed software lives in `<stackDir>/pulumi/artifact/`. Bucket credentials go to
 * `<stackDir>/keys/bucket-<cloud>-<bucket>.json` (0600); gateways of the other targets receive them through their
 * secret stores. Per-node admin tokens live in `<stackDir>/keys/<node>.admin.token` (0600).
 *
 * Import cost: this module is loaded (dynamically) only by commands that target a cloud; the Pulumi SDK and the
 * provider SDKs are imported inside the methods that need them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OutputMap } from '@pulumi/pulumi/automation/index.js';
import { planDigest } from '../../components/plan.js';
import type { Plan, PlannedKey } from '../../components/plan-types.js';
import { writeFileAtomic, writeJsonAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import type { BucketOutput, ComponentOutput, DeploymentOutputs, NodeOutput } from '../../runtime/node-spec.js';
import {
  hasSigningKey,
  keyFileOf,
  readPlannedPublicKey,
  readSigningPublicKey,
  signingKeyFileOf,
} from '../plan-keys.js';
import type { PreviewResource, RealizeContext, Realizer, Target } from '../realizer.js';
import { PulumiCode } from './codes.js';
import type { CloudProvider } from './constructs.js';
import { automationEngine, mapEngineError, type PulumiEngine, type StackRef } from './engine.js';
import { EventMapper, VM_TYPES } from './events.js';
import { ensureKeys, ephemeralKeys, type KeyMaterial } from './keys.js';
import type { ProgramInputs, SoftwareInput } from './program-env.js';
import { loadRecording, replayEngine } from './replay-engine.js';
import { type ArtifactSource, INTERIM_NODE_RUNTIME, npmPackArtifact, publishedPackage } from './software.js';

export { PulumiCode } from './codes.js';
export type { PulumiEngine } from './engine.js';

export const PROJECT_NAME = 'tclouds';

export interface PulumiRealizerOptions {
  /** Engine port; default: TCLOUDS_PULUMI_REPLAY=<recording.json> replays a recording, else the Automation API. */
  engine?: PulumiEngine;
  /** Packs the node software (preview and deploy); default: `npm pack` of this installation. */
  artifact?: ArtifactSource;
}

export function createPulumiRealizer(target: Target, opts: PulumiRealizerOptions = {}): Realizer {
  if (target === 'local') throw new Error('the Pulumi realizer handles aws, azure and gcp; local has its own');
  const cloud: CloudTarget = {
    target,
    provider: target,
    engine: () => opts.engine ?? defaultEngine(),
    artifact: opts.artifact ?? npmPackArtifact,
  };
  return {
    check: () => cloud.engine().check(),
    preview: (plan, ctx) => previewTarget(cloud, plan, ctx),
    deploy: (plan, ctx) => deployTarget(cloud, plan, ctx),
    destroy: (ctx) => destroyTarget(cloud, ctx),
    outputs: (ctx) => readOutputs(cloud, ctx),
  };
}

/** One cloud target of the realizer: its name, its provider (the same word), and the engine it drives. */
interface CloudTarget {
  target: Exclude<Target, 'local'>;
  provider: CloudProvider;
  engine(): PulumiEngine;
  artifact: ArtifactSource;
}

/** What the program of this target needs besides the plan and the keys. */
function programInputs(
  plan: Plan,
  stackDir: string,
  target: Target,
  keys: KeyMaterial,
  opts: { retainData: boolean; software: SoftwareInput; nameSuffix: string },
): ProgramInputs {
  return {
    keys,
    software: opts.software,
    nameSuffix: opts.nameSuffix,
    nodeRuntime: INTERIM_NODE_RUNTIME,
    externalHosts: externalHosts(stackDir, target),
    externalBucketCredentials: externalBucketCredentials(plan, stackDir, target),
    retainData: opts.retainData,
  };
}

/** The software this deploy ships: the published package the user named, or this build packed into `outDir`. */
async function softwareOf(cloud: CloudTarget, ctx: RealizeContext, outDir: string): Promise<SoftwareInput> {
  if (ctx.nodePackage) return publishedPackage(ctx.nodePackage);
  const { path, sha256 } = await cloud.artifact({ outDir });
  return { artifact: { path, sha256 } };
}

/** The real program under Pulumi's mock runtime, with throwaway keys: what would be created, offline. */
async function previewTarget(
  cloud: CloudTarget,
  plan: Plan,
  ctx: RealizeContext,
): Promise<{ resources: PreviewResource[]; changes: number }> {
  const { target, provider } = cloud;
  const [{ createProgram, loadProvider }, { runUnderMocks, displayInputs }] = await Promise.all([
    import('./program.js'),
    import('./mock-preview.js'),
  ]);
  // The same pack a deploy makes, in a throwaway directory: the plan shows the checksum the VMs would check.
  const outDir = await fs.mkdtemp(join(tmpdir(), 'tclouds-artifact-'));
  let run: Awaited<ReturnType<typeof runUnderMocks>>;
  try {
    const software = await softwareOf(cloud, ctx, outDir);
    const program = createProgram(
      plan,
      provider,
      programInputs(plan, ctx.stackDir, target, ephemeralKeys(plan), {
        retainData: false,
        software,
        // The deployed names when there is a deployment; else what a first deploy would draw.
        nameSuffix: readNameSuffix(ctx.stackDir, target) ?? newNameSuffix(),
      }),
      await loadProvider(provider),
    );
    run = await runUnderMocks(program, stackName(plan.stack, target));
  } finally {
    await fs.rm(outDir, { recursive: true, force: true });
  }
  const resources: PreviewResource[] = run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    inputs: displayInputs(r.inputs),
    op: 'create',
  }));
  for (const r of resources) {
    ctx.onEvent({
      kind: VM_TYPES.has(r.type) ? 'node' : 'resource',
      id: r.name,
      type: r.type,
      state: 'pending',
      op: 'create',
    });
  }
  for (const note of (run.outputs.notes as string[] | undefined) ?? [])
    ctx.onEvent({ kind: 'log', id: 'plan', state: 'done', message: note });
  return { resources, changes: resources.length };
}

async function deployTarget(
  cloud: CloudTarget,
  plan: Plan,
  ctx: RealizeContext,
): Promise<{ outputs: DeploymentOutputs; changes: number }> {
  const { target, provider, engine } = cloud;
  const eng = engine();
  await eng.check(); // before anything is written: a missing CLI leaves no trace
  const ref = stackRef(plan.stack, target, ctx);
  const { createProgram, loadProvider } = await import('./program.js');
  const mod = await loadProvider(provider);
  // Throws plan errors (too many domains, missing region) before keys or locks exist.
  const { buildCloudModel } = await import('./model.js');
  buildCloudModel(plan, provider);
  if (ctx.nodePackage) publishedPackage(ctx.nodePackage); // a bad --node-package fails before keys exist
  let keys: KeyMaterial | undefined;
  const result = await withLock(ctx, target, eng, ref, async (op) => {
    // Under the lock: two deploys racing must not mint two different keys for one node.
    keys = await ensureKeys(plan, ctx.stackDir, provider);
    const software = await softwareOf(cloud, ctx, files(ctx.stackDir, target).artifactDir);
    await writeJsonAtomic(files(ctx.stackDir, target).software, software, { mkdir: true });
    const nameSuffix = await ensureNameSuffix(ctx.stackDir, target);
    const inputs = programInputs(plan, ctx.stackDir, target, keys, { retainData: false, software, nameSuffix });
    return eng.up(ref, createProgram(plan, provider, inputs, mod), op);
  });
  await writeJsonAtomic(files(ctx.stackDir, target).plan, plan, { mkdir: true });
  const outputs = await buildOutputs(plan, target, ctx, result.outputs, keys!);
  await writeJsonAtomic(files(ctx.stackDir, target).outputs, outputs, { mkdir: true });
  return { outputs, changes: result.changes };
}

async function destroyTarget(
  cloud: CloudTarget,
  ctx: RealizeContext & { keepData: boolean },
): Promise<{ removed: number }> {
  const { target, provider } = cloud;
  const eng = cloud.engine();
  await eng.check();
  const stack = basename(ctx.stackDir);
  const ref = stackRef(stack, target, ctx);
  const f = files(ctx.stackDir, target);
  const saved = readJson<Plan>(f.plan);
  if (ctx.keepData && !saved) {
    // Without the deployed plan we cannot tell buckets from the rest: refuse rather than delete data.
    throw keepDataError(target, f.plan, ref);
  }
  if (ctx.keepData && saved) await retainBuckets(cloud, ctx, eng, ref, saved);
  const r = await withLock(ctx, target, eng, ref, (op) => eng.destroy(ref, op));
  await fs.rm(f.outputs, { force: true });
  await fs.rm(f.plan, { force: true });
  // The next deploy draws new global names (a deleted Key Vault stays reserved while soft-deleted).
  await fs.rm(f.names, { force: true });
  if (!ctx.keepData && saved) {
    for (const b of Object.values(saved.components).flatMap((c) => c.buckets)) {
      if (saved.clouds[b.cloud]?.provider === provider)
        await fs.rm(credentialsFile(ctx.stackDir, b.cloud, b.name), { force: true });
    }
  }
  return { removed: r.removed };
}

/**
 * destroy --keep-data: mark buckets retainOnDelete in the state (an update that changes nothing at the provider),
 * so that destroy removes them from the state and leaves them, with their data, in the cloud.
 */
async function retainBuckets(
  { target, provider }: CloudTarget,
  ctx: RealizeContext,
  eng: PulumiEngine,
  ref: StackRef,
  saved: Plan,
): Promise<void> {
  const { createProgram, loadProvider } = await import('./program.js');
  const keys = await ensureKeys(saved, ctx.stackDir, provider);
  // The software last deployed: the same boot values, so marking buckets retained replaces no VM.
  const software = readJson<SoftwareInput>(files(ctx.stackDir, target).software);
  if (!software) throw keepDataError(target, files(ctx.stackDir, target).software, ref);
  const program = createProgram(
    saved,
    provider,
    programInputs(saved, ctx.stackDir, target, keys, {
      retainData: true,
      software,
      nameSuffix: await ensureNameSuffix(ctx.stackDir, target),
    }),
    await loadProvider(provider),
  );
  ctx.onEvent({
    kind: 'log',
    id: 'keep-data',
    state: 'running',
    message: 'keeping buckets: marking them retained',
  });
  await withLock(ctx, target, eng, ref, (op) => eng.up(ref, program, op));
}

/** destroy --keep-data without the record of what was deployed: refuse rather than delete data. */
function keepDataError(target: Target, file: string, ref: StackRef): TcError {
  return new TcError(
    PulumiCode.keepDataUnknown,
    `cannot keep the data of ${ref.stackName}: the record of what was deployed is missing`,
    {
      exit: ExitCode.notFound,
      hint: `${file} is gone; run \`tclouds deploy --target ${target}\` once to rewrite it, then destroy --keep-data again`,
      location: { file },
    },
  );
}

/** The stack's current outputs as DeploymentOutputs; the last deployment's record when the CLI is missing. */
async function readOutputs({ target, engine }: CloudTarget, ctx: RealizeContext): Promise<DeploymentOutputs | null> {
  const f = files(ctx.stackDir, target);
  const saved = readJson<Plan>(f.plan);
  const cached = readJson<DeploymentOutputs>(f.outputs);
  const eng = engine();
  try {
    await eng.check();
  } catch (e) {
    // Without the CLI the last deployment's record is the best answer; with nothing recorded, say why.
    if (cached) return cached;
    throw e;
  }
  const ref = stackRef(basename(ctx.stackDir), target, ctx);
  let out: OutputMap | null;
  try {
    out = await eng.outputs(ref);
  } catch (e) {
    throw mapEngineError(e, {
      signal: ctx.signal,
      stack: ref.stackName,
      backendUrl: ref.backendUrl,
      errors: [],
      cancelled: false,
    });
  }
  if (!out) return null;
  if (!saved) return cached ?? null;
  return buildOutputs(saved, target, ctx, out, await readKeys(saved, ctx.stackDir));
}

function defaultEngine(): PulumiEngine {
  const file = process.env.TCLOUDS_PULUMI_REPLAY;
  return file ? replayEngine(loadRecording(file)) : automationEngine();
}

export function stackName(stack: string, target: Target): string {
  return `${stack}-${target}`;
}

function stackRef(stack: string, target: Target, ctx: RealizeContext): StackRef {
  const passphrase = ctx.passphrase ?? process.env.TCLOUDS_PASSPHRASE;
  if (passphrase === undefined || passphrase === '') {
    throw new TcError(PulumiCode.missingPassphrase, 'no passphrase for the Pulumi secrets of this stack', {
      exit: ExitCode.usage,
      hint: 'set TCLOUDS_PASSPHRASE (keep it: the same passphrase is needed for every later deploy, destroy and outputs)',
    });
  }
  const backendUrl = ctx.backend ?? pathToFileURL(resolve(ctx.stackDir, '..', 'state')).href;
  return { projectName: PROJECT_NAME, stackName: stackName(stack, target), backendUrl, passphrase };
}

function files(stackDir: string, target: Target) {
  const dir = join(stackDir, 'pulumi');
  return {
    dir,
    lock: join(dir, `${target}.lock`),
    plan: join(dir, `${target}.plan.json`),
    outputs: join(dir, `${target}.outputs.json`),
    software: join(dir, `${target}.software.json`),
    names: join(dir, `${target}.names.json`),
    artifactDir: join(dir, 'artifact'),
  };
}

export function credentialsFile(stackDir: string, cloud: string, bucket: string): string {
  return join(stackDir, 'keys', `bucket-${cloud}-${bucket}.json`);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * One update at a time per stack and target on this machine. A lock whose process is gone is stale: the update it
 * belonged to was killed, and Pulumi's own lock in the backend may be left too, so `cancel` clears it first.
 */
async function withLock<T extends { summary: { resourceChanges: Record<string, number> } }>(
  ctx: RealizeContext,
  target: Target,
  eng: PulumiEngine,
  ref: StackRef,
  run: (op: {
    onEvent: (e: import('@pulumi/pulumi/automation/index.js').EngineEvent) => void;
    signal: AbortSignal;
  }) => Promise<T>,
): Promise<T & { changes: number; removed: number }> {
  const f = files(ctx.stackDir, target);
  if (ctx.signal.aborted)
    throw mapEngineError(new Error('aborted'), {
      signal: ctx.signal,
      stack: ref.stackName,
      backendUrl: ref.backendUrl,
      errors: [],
      cancelled: true,
    });
  await fs.mkdir(f.dir, { recursive: true });
  let stale = false;
  for (let attempt = 0; ; attempt++) {
    try {
      const h = await fs.open(f.lock, 'wx', 0o600);
      await h.writeFile(JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
      await h.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const holder = readJson<{ pid?: number }>(f.lock);
      if (holder?.pid && holder.pid !== process.pid && alive(holder.pid)) {
        throw new TcError(
          PulumiCode.locked,
          `another tclouds process (pid ${holder.pid}) is updating ${ref.stackName}`,
          {
            exit: ExitCode.locked,
            hint: 'wait for it to finish, or stop it with Ctrl-C in its terminal',
          },
        );
      }
      stale = true;
      await fs.rm(f.lock, { force: true });
    }
  }
  const mapper = new EventMapper(ctx.onEvent);
  try {
    if (stale) {
      ctx.onEvent({ kind: 'log', id: 'lock', state: 'running', message: 'clearing the lock of an interrupted update' });
      await eng.cancel(ref).catch(() => undefined); // nothing to cancel is fine
    }
    const r = await run({ onEvent: (e) => mapper.handle(e), signal: ctx.signal });
    if (mapper.summary.cancelled || ctx.signal.aborted) {
      throw mapEngineError(new Error('cancelled'), {
        signal: ctx.signal,
        stack: ref.stackName,
        backendUrl: ref.backendUrl,
        errors: [],
        cancelled: true,
      });
    }
    const changes =
      mapper.summary.changes ||
      Object.entries(r.summary.resourceChanges)
        .filter(([op]) => op !== 'same')
        .reduce((n, [, k]) => n + k, 0);
    const removed = mapper.summary.resourceChanges.delete ?? r.summary.resourceChanges.delete ?? 0;
    return { ...r, changes, removed };
  } catch (e) {
    throw mapEngineError(e, {
      signal: ctx.signal,
      stack: ref.stackName,
      backendUrl: ref.backendUrl,
      errors: mapper.summary.errors,
      cancelled: mapper.summary.cancelled,
    });
  } finally {
    await fs.rm(f.lock, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Random part of the globally unique names of one deployment (8 hex digits: 4 billion per stack name). */
const NAME_SUFFIX_BYTES = 4;

function newNameSuffix(): string {
  return randomBytes(NAME_SUFFIX_BYTES).toString('hex');
}

function readNameSuffix(stackDir: string, target: Target): string | undefined {
  const suffix = readJson<{ suffix?: unknown }>(files(stackDir, target).names)?.suffix;
  return typeof suffix === 'string' && /^[0-9a-f]{8}$/.test(suffix) ? suffix : undefined;
}

/** The deployment's name suffix, drawn at its first deploy and kept until destroy. */
async function ensureNameSuffix(stackDir: string, target: Target): Promise<string> {
  const kept = readNameSuffix(stackDir, target);
  if (kept) return kept;
  const suffix = newNameSuffix();
  await writeJsonAtomic(files(stackDir, target).names, { suffix }, { mkdir: true });
  return suffix;
}

/** Node addresses recorded by the other cloud targets of this stack (cross-provider peers). */
function externalHosts(stackDir: string, target: Target): Record<string, string> {
  const hosts: Record<string, string> = {};
  for (const other of ['aws', 'azure', 'gcp'] as const) {
    if (other === target) continue;
    const out = readJson<DeploymentOutputs>(files(stackDir, other).outputs);
    for (const c of Object.values(out?.components ?? {})) for (const n of c.nodes) if (n.host) hosts[n.id] = n.host;
  }
  return hosts;
}

/**
 * Credentials of the buckets other targets realized, for this target's gateways that write to them: the records
 * those deploys wrote (`keys/bucket-<cloud>-<bucket>.json`), by `<cloud>/<bucket>`.
 */
function externalBucketCredentials(plan: Plan, stackDir: string, target: Target): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const b of Object.values(plan.components).flatMap((c) => c.buckets)) {
    const provider = plan.clouds[b.cloud]?.provider;
    if (provider === target || provider === 'local') continue;
    const record = readJson<unknown>(credentialsFile(stackDir, b.cloud, b.name));
    if (record !== undefined) out[`${b.cloud}/${b.name}`] = record;
  }
  return out;
}

async function readKeys(plan: Plan, stackDir: string): Promise<KeyMaterial> {
  const km: KeyMaterial = {
    privatePem: {},
    publicKeys: {},
    signingPublicKeys: {},
    adminTokens: {},
    writerPem: {},
    sshPublicKey: '',
  };
  for (const [name, c] of Object.entries(plan.components)) {
    const keys: PlannedKey[] = [...c.nodes.map((n) => ({ id: n.id, kind: 'node' as const, for: name })), ...c.keys];
    for (const k of keys) {
      const publicKey = await readPlannedPublicKey(stackDir, k).catch(() => undefined);
      if (publicKey) km.publicKeys[k.id] = publicKey;
      if (!hasSigningKey(k, c.kind)) continue;
      const signing = await readSigningPublicKey(stackDir, k).catch(() => undefined);
      if (signing) km.signingPublicKeys[k.id] = signing;
    }
  }
  return km;
}

interface StackNodes {
  [id: string]: { privateIp: string; publicIp: string; cloud: string; domain: number };
}
interface StackBuckets {
  [key: string]: { cloud: string; name: string; region: string; endpoint: string; credentials?: unknown };
}

/** DeploymentOutputs of this target from the plan and the stack outputs; bucket credentials go to 0600 files. */
async function buildOutputs(
  plan: Plan,
  target: Target,
  ctx: RealizeContext,
  out: OutputMap,
  keys: KeyMaterial,
): Promise<DeploymentOutputs> {
  const nodes = (out.nodes?.value ?? {}) as StackNodes;
  const buckets = (out.buckets?.value ?? {}) as StackBuckets;
  const components: Record<string, ComponentOutput> = {};
  for (const [name, comp] of Object.entries(plan.components)) {
    const nodeOutputs: NodeOutput[] = comp.nodes
      .filter((n) => nodes[n.id])
      .map((n) => ({
        id: n.id,
        role: n.role,
        index: n.index,
        host: nodes[n.id]!.publicIp,
        ports: n.ports,
        publicKey: keys.publicKeys[n.id] ?? '',
        cloud: n.cloud,
        domain: n.domain,
        controlPort: n.controlPort,
      }));
    const bucketOutputs: BucketOutput[] = [];
    for (const b of comp.buckets) {
      const rec = buckets[`${b.cloud}/${b.name}`];
      if (!rec) continue;
      const bo: BucketOutput = {
        cloud: b.cloud,
        provider: target as BucketOutput['provider'],
        name: String(rec.name),
        region: rec.region,
        endpoint: String(rec.endpoint),
      };
      if (rec.credentials !== undefined) {
        const file = credentialsFile(ctx.stackDir, b.cloud, b.name);
        await writeFileAtomic(
          file,
          `${JSON.stringify({ provider: target, cloud: b.cloud, bucket: bo.name, region: bo.region, endpoint: bo.endpoint, credentials: rec.credentials }, null, 2)}\n`,
          { mode: 0o600, mkdir: true },
        );
        bo.credentialsFile = file;
      } else if (existsSync(credentialsFile(ctx.stackDir, b.cloud, b.name))) {
        bo.credentialsFile = credentialsFile(ctx.stackDir, b.cloud, b.name);
      }
      bucketOutputs.push(bo);
    }
    if (nodeOutputs.length === 0 && bucketOutputs.length === 0) continue;
    const clientKeys: ComponentOutput['clientKeys'] = {};
    for (const k of comp.keys) {
      if (k.kind === 'node') continue;
      const keyFile = keyFileOf(ctx.stackDir, k);
      if (!keys.publicKeys[k.id]) continue;
      clientKeys[k.id] = { keyFile, publicKey: keys.publicKeys[k.id]! };
      const signing = keys.signingPublicKeys[k.id];
      if (hasSigningKey(k, comp.kind) && signing) {
        clientKeys[k.id] = {
          keyFile,
          publicKey: keys.publicKeys[k.id]!,
          signingKeyFile: signingKeyFileOf(ctx.stackDir, k),
          signingPublicKey: signing,
        };
      }
    }
    components[name] = { kind: comp.kind, nodes: nodeOutputs, buckets: bucketOutputs, client: comp.client, clientKeys };
  }
  return {
    version: 1,
    stack: plan.stack,
    target,
    topologyFile: ctx.topologyFile,
    planDigest: planDigest(plan),
    deployedAt: new Date().toISOString(),
    components,
  };
}
