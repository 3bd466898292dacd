/**
 * The Pulumi realizer of the cloud targets: `createPulumiRealizer(target)`. `clouds` is one deployment of every
 * cloud provider of the topology (one program, one stack `<stack>-clouds`: program.ts); `aws`, `azure`, `gcp` are
 * the same for a topology whose clouds are all of that provider (the command refuses them for one that spans
 * several, TC335, and takes `clouds` for a single-provider topology as that provider's target).
 *
 * - `preview` runs the real program under Pulumi's mock runtime: offline, no CLI, no account. It lists every
 *   resource the program declares (type token, name, key inputs; secrets as "[secret]").
 * - `deploy`, `destroy`, `outputs` go through the engine port (engine.ts): the Automation API with an inline
 *   program, a file backend in the stack directory (`file://<stackDir>/pulumi-state` unless `--backend`) and the
 *   passphrase secrets provider (backend.ts). Progress arrives as engine events, mapped to DeployEvents (events.ts).
 *
 * Files under `<stackDir>/pulumi/`: `<target>.lock` (this machine's update lock; a lock left by a dead process is
 * stale, and the Pulumi lock it may have left is cleared with `pulumi cancel` before the next update),
 * `<target>.plan.json` (the plan last deployed: destroy --keep-data and outputs need it) and
 * `<target>.outputs.json` (DeploymentOutputs without secrets; other targets read node addresses from it).
 * `<target>.software.json` (what the VMs install: the artifact file and its SHA-256, or the published package).
 * `names.json` and `<target>.images.json` (stack-pins.ts): the stack's name suffix and the pinned VM images.
 * `<target>.spec-digests.json` (spec-digests.ts): the digest of the spec each node last started with.
 * `<target>.kept.json` (adopt.ts): the provider ids of what a destroy kept, adopted by the next deploy.
 * The packed software lives in `<stackDir>/pulumi/artifact/`. Bucket credentials go to
 * `<stackDir>/keys/bucket-<cloud>-<bucket>.json` (0600); gateways of the other targets receive them through their
 * secret stores. Per-node admin tokens live in `<stackDir>/keys/<node>.admin.token` (0600).
 *
 * Import cost: this module is loaded (dynamically) only by commands that target a cloud; the Pulumi SDK and the
 * provider SDKs are imported inside the methods that need them.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { OutputMap } from '@pulumi/pulumi/automation/index.js';
import { planDigest } from '../../components/plan.js';
import type { Plan, PlannedKey } from '../../components/plan-types.js';
import { writeFileAtomic, writeJsonAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { controlTlsFilesOf } from '../../runtime/control-tls.js';
import type { BucketOutput, ComponentOutput, DeploymentOutputs, NodeOutput } from '../../runtime/node-spec.js';
import {
  hasSigningKey,
  keyFileOf,
  readPlannedPublicKey,
  readSigningPublicKey,
  signingKeyFileOf,
} from '../plan-keys.js';
import type { PreviewResource, QuotaNeed, RealizeContext, Realizer, Target } from '../realizer.js';
import { backendNotice, ensureStackPassphrase, resolveBackend, resolveSecrets, type SecretsChoice } from './backend.js';
import { DeploymentCode, LimitCode, PulumiCode } from './codes.js';
import type { CloudProvider } from './constructs.js';
import { automationEngine, mapEngineError, type PulumiEngine, type StackRef } from './engine.js';
import { EventMapper, VM_TYPES } from './events.js';
import { emptyKeyMaterial, ensureKeys, ephemeralKeys, type KeyMaterial } from './keys.js';
import { planProviders } from './model.js';
import type { ForeignGatewayIdentity } from './node-boot.js';
import { pinnedNodeRuntime } from './node-runtime.js';
import type { ProgramInputs, ProviderModule, SoftwareInput } from './program-env.js';
import { loadRecording, replayEngine } from './replay-engine.js';
import type { RolloutNode } from './rollout.js';
import { type ArtifactSource, publishedPackage } from './software.js';
import { type DeployedSoftware, markSoftwareUpdates, softwareChanges } from './software-diff.js';
import { rolloutDecision, type SpecDigests, unreachableNote } from './spec-digests.js';
import {
  clearImagePins,
  ensureNameSuffix,
  forgetNameSuffix,
  previewNameSuffix,
  readImagePins,
  readNameSuffix,
  recordImagePins,
} from './stack-pins.js';

export { PulumiCode } from './codes.js';
export type { PulumiEngine } from './engine.js';

export const PROJECT_NAME = 'tclouds';

export interface PulumiRealizerOptions {
  /** Engine port; default: TCLOUDS_PULUMI_REPLAY=<recording.json> replays a recording, else the Automation API. */
  engine?: PulumiEngine;
  /**
   * Packs the node software (preview and deploy); default: artifact.ts `packArtifact`, this build with its locked
   * production dependencies.
   */
  artifact?: ArtifactSource;
}

export function createPulumiRealizer(target: Target, opts: PulumiRealizerOptions = {}): Realizer {
  if (target === 'local') throw new Error('the Pulumi realizer handles aws, azure, gcp and clouds; local has its own');
  const cloud: CloudTarget = {
    target,
    providersOf: (plan) => (target === 'clouds' ? planProviders(plan) : [target]),
    engine: () => opts.engine ?? defaultEngine(),
    artifact: opts.artifact ?? packArtifactLazily,
  };
  return {
    check: () => cloud.engine().check(),
    preview: (plan, ctx) => previewTarget(cloud, plan, ctx),
    deploy: (plan, ctx) => deployTarget(cloud, plan, ctx),
    destroy: (ctx) => destroyTarget(cloud, ctx),
    outputs: (ctx) => readOutputs(cloud, ctx),
  };
}

/** artifact.ts `packArtifact`, loaded only when a deploy or plan packs (commands that never pack skip it). */
const packArtifactLazily: ArtifactSource = async (opts) => (await import('./artifact.js')).packArtifact(opts);

/** One cloud target of the realizer: its name, the providers it deploys for a plan, and the engine it drives. */
interface CloudTarget {
  target: Exclude<Target, 'local'>;
  /** `aws`: [aws]; `clouds`: every cloud provider of the plan. */
  providersOf(plan: Plan): CloudProvider[];
  engine(): PulumiEngine;
  artifact: ArtifactSource;
}

/** The provider modules of a plan's deployment on this target. */
async function modulesOf(cloud: CloudTarget, plan: Plan): Promise<Partial<Record<CloudProvider, ProviderModule>>> {
  const { loadProviders } = await import('./program.js');
  return loadProviders(cloud.providersOf(plan));
}

/** Keys of a deployment: Azure VMs also get the stack's admin SSH public key. */
function ensureDeploymentKeys(cloud: CloudTarget, plan: Plan, stackDir: string): Promise<KeyMaterial> {
  const providers = cloud.providersOf(plan);
  return ensureKeys(plan, stackDir, providers.includes('azure') ? 'azure' : providers[0]!);
}

/**
 * What the program of this target needs besides the plan and the keys. Buckets are retained (kept with their data
 * when they leave the program) unless `retainData` is false: only under `destroy --delete-data`.
 */
function programInputs(
  plan: Plan,
  stackDir: string,
  providers: readonly CloudProvider[],
  keys: KeyMaterial,
  opts: { retainData: boolean; software: SoftwareInput; nameSuffix: string; images: Record<string, string> },
): ProgramInputs {
  return {
    keys,
    software: opts.software,
    nameSuffix: opts.nameSuffix,
    images: opts.images,
    nodeRuntime: pinnedNodeRuntime(),
    externalHosts: externalHosts(stackDir, providers),
    externalBucketCredentials: externalBucketCredentials(plan, stackDir, providers),
    externalGatewayIdentities: externalGatewayIdentities(stackDir, providers),
    retainData: opts.retainData,
  };
}

/** The software this deploy ships: the published package the user named, or this build packed into `outDir`. */
async function softwareOf(cloud: CloudTarget, ctx: RealizeContext, outDir: string): Promise<SoftwareInput> {
  if (ctx.nodePackage) return publishedPackage(ctx.nodePackage);
  const { path, sha256 } = await cloud.artifact({ outDir });
  return { artifact: { path, sha256 } };
}

/**
 * Stands in for the packed software where only sizes matter (the plan-time limit checks a deploy runs before it
 * packs anything): a checksum has one length whatever the build.
 */
const UNPACKED_SOFTWARE: SoftwareInput = { artifact: { path: '', sha256: '0'.repeat(64) } };

/** The real program under Pulumi's mock runtime, with throwaway keys: what would be created, offline. */
async function previewTarget(
  cloud: CloudTarget,
  plan: Plan,
  ctx: RealizeContext,
): Promise<{ resources: PreviewResource[]; changes: number; quota: QuotaNeed[] }> {
  const { target } = cloud;
  const providers = cloud.providersOf(plan);
  const [{ createDeploymentProgram }, { runUnderMocks, displayInputs }] = await Promise.all([
    import('./program.js'),
    import('./mock-preview.js'),
  ]);
  // The same pack a deploy makes, in a throwaway directory: the plan shows the checksum the VMs would check.
  const outDir = await fs.mkdtemp(join(tmpdir(), 'tclouds-artifact-'));
  let run: Awaited<ReturnType<typeof runUnderMocks>>;
  let software: SoftwareInput;
  try {
    software = await softwareOf(cloud, ctx, outDir);
    const program = createDeploymentProgram(
      plan,
      await modulesOf(cloud, plan),
      programInputs(plan, ctx.stackDir, providers, ephemeralKeys(plan), {
        retainData: true,
        software,
        nameSuffix: previewNameSuffix(ctx.stackDir),
        images: readImagePins(ctx.stackDir, target),
      }),
    );
    run = await runUnderMocks(program, stackName(plan.stack, target));
  } finally {
    await fs.rm(outDir, { recursive: true, force: true });
  }
  const { buildCloudModel } = await import('./model.js');
  const { quotaNeeds } = await import('./limits.js');
  const quota = providers.flatMap((p) => quotaNeeds(buildCloudModel(plan, p, providers)));
  const resources: PreviewResource[] = run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    inputs: displayInputs(r.inputs),
    op: 'create',
  }));
  // A new build or runtime for nodes already deployed: their VMs stay, their software secret changes (rolled).
  const deployedPlan = readJson<Plan>(files(ctx.stackDir, target).plan);
  const deployedIds = new Set(Object.values(deployedPlan?.components ?? {}).flatMap((c) => c.nodes.map((n) => n.id)));
  const deployedSoftware = readJson<DeployedSoftware>(files(ctx.stackDir, target).software) ?? undefined;
  const changes = softwareChanges(deployedSoftware, { ...software, nodeRuntime: pinnedNodeRuntime() });
  markSoftwareUpdates(resources, changes, (t) => VM_TYPES.has(t), deployedIds);
  for (const r of resources) {
    ctx.onEvent({
      kind: VM_TYPES.has(r.type) ? 'node' : 'resource',
      id: r.name,
      type: r.type,
      state: 'pending',
      op: r.op,
      ...(r.restart ? { message: r.restart } : {}),
    });
  }
  const notes = [
    ...((run.outputs.notes as string[] | undefined) ?? []),
    ...droppedBucketNotes(ctx.stackDir, target, plan, providers),
  ];
  for (const note of notes) ctx.onEvent({ kind: 'log', id: 'plan', state: 'done', message: note });
  // Where a deploy would keep state and the passphrase (nothing is created by a plan).
  const notice = backendNotice(resolveBackend(ctx.stackDir, ctx.backend), resolveSecrets(ctx.stackDir));
  ctx.onEvent({ kind: 'log', id: 'pulumi-state', state: 'done', message: notice });
  return { resources, changes: resources.length, quota };
}

async function deployTarget(
  cloud: CloudTarget,
  plan: Plan,
  ctx: RealizeContext,
): Promise<{ outputs: DeploymentOutputs; changes: number }> {
  const { target, engine } = cloud;
  const providers = cloud.providersOf(plan);
  const eng = engine();
  await eng.check(); // before anything is written: a missing CLI leaves no trace
  const { createDeploymentProgram } = await import('./program.js');
  const mods = await modulesOf(cloud, plan);
  // Throws plan errors (too many domains, missing region, every provider limit, a bad --node-package) before keys
  // or locks exist: creating the program checks them all, and throwaway keys measure the user data as the real ones.
  const dryInputs = programInputs(plan, ctx.stackDir, providers, ephemeralKeys(plan), {
    retainData: true,
    software: ctx.nodePackage ? publishedPackage(ctx.nodePackage) : UNPACKED_SOFTWARE,
    nameSuffix: previewNameSuffix(ctx.stackDir),
    images: {},
  });
  createDeploymentProgram(plan, mods, dryInputs);
  const adopt = readKept(ctx.stackDir, keptTargets(target, providers));
  const ref = await stackRef(plan.stack, target, ctx);
  let keys: KeyMaterial | undefined;
  // A bucket leaving the topology is retained, also in a stack deployed before buckets were retained by default.
  const lastDeployed = readJson<Plan>(files(ctx.stackDir, target).plan);
  if (lastDeployed && droppedBucketNotes(ctx.stackDir, target, plan, providers).length > 0)
    await setBucketRetention(cloud, ctx, eng, ref, lastDeployed, true);
  const result = await withLock(ctx, target, eng, ref, async (op) => {
    // Under the lock: two deploys racing must not mint two different keys for one node.
    keys = await ensureDeploymentKeys(cloud, plan, ctx.stackDir);
    const nameSuffix = await ensureNameSuffix(ctx.stackDir);
    // --refresh-images: resolve every region's image again (VMs whose image changed are replaced).
    if (ctx.refreshImages) await clearImagePins(ctx.stackDir, target);
    const images = readImagePins(ctx.stackDir, target);
    const software = await softwareOf(cloud, ctx, files(ctx.stackDir, target).artifactDir);
    const shipped: DeployedSoftware = { ...software, nodeRuntime: pinnedNodeRuntime() };
    await writeJsonAtomic(files(ctx.stackDir, target).software, shipped, { mkdir: true });
    const inputs: ProgramInputs = {
      ...programInputs(plan, ctx.stackDir, providers, keys, { retainData: true, software, nameSuffix, images }),
      ...(adopt ? { adopt } : {}),
    };
    for (const note of droppedBucketNotes(ctx.stackDir, target, plan, providers))
      ctx.onEvent({ kind: 'log', id: 'keep-data', state: 'done', message: note });
    if (adopt)
      ctx.onEvent({
        kind: 'log',
        id: 'keep-data',
        state: 'done',
        message: `adopting ${Object.keys(adopt).length} resources a destroy kept (buckets and their writers, with their data)`,
      });
    return eng.up(ref, createDeploymentProgram(plan, mods, inputs), op);
  });
  // Adopted: they are in the state again, the record has done its work.
  if (adopt) for (const t of keptTargets(target, providers)) await fs.rm(files(ctx.stackDir, t).kept, { force: true });
  await recordImagePins(ctx.stackDir, target, result.outputs.images?.value);
  await writeJsonAtomic(files(ctx.stackDir, target).plan, plan, { mkdir: true });
  const outputs = await buildOutputs(plan, target, ctx, result.outputs, keys!);
  await writeJsonAtomic(files(ctx.stackDir, target).outputs, outputs, { mkdir: true });
  const digests = result.outputs.specDigests?.value as SpecDigests | undefined;
  await rollChangedSpecs(plan, target, ctx, { after: digests, keys: keys!, outputs });
  return { outputs, changes: result.changes };
}

/**
 * After `pulumi up`: restart the nodes whose spec secret changed (rollout.ts: at most f per component at a time,
 * each back healthy and caught up before the next), through their control ports at their public addresses. With
 * no `clients.cidrs` those ports are closed: say so, and keep the old digests of those nodes so that a later deploy
 * still restarts them. The digests are recorded only once the restarts are done (a stopped rollout is resumed by
 * deploying again).
 */
async function rollChangedSpecs(
  plan: Plan,
  target: Target,
  ctx: RealizeContext,
  { after, keys, outputs }: { after: SpecDigests | undefined; keys: KeyMaterial; outputs: DeploymentOutputs },
): Promise<void> {
  if (!after) return; // an engine that reports no digests (a recording made before them)
  const file = files(ctx.stackDir, target).specDigests;
  const decision = rolloutDecision(plan, readJson<SpecDigests>(file) ?? {}, after);
  if (decision.changed.length > 0 && !decision.reachable) {
    ctx.onEvent({ kind: 'log', id: 'rollout', state: 'done', message: unreachableNote(decision.changed) });
    await writeJsonAtomic(file, decision.recordWithoutRollout, { mkdir: true });
    return;
  }
  if (decision.changed.length > 0) {
    const { rollCloudNodes } = await import('./rollout.js');
    const nodes: Record<string, RolloutNode> = {};
    for (const o of Object.values(outputs.components).flatMap((c) => c.nodes)) {
      const token = keys.adminTokens[o.id];
      const tls = keys.controlTls[o.id];
      // Pinned to the certificate made with the node's keys: the token crosses the internet only inside that TLS.
      if (token)
        nodes[o.id] = {
          id: o.id,
          host: o.host,
          controlPort: o.controlPort,
          token,
          ...(tls ? { tls: { cert: tls.certPem, sha256: tls.sha256 } } : {}),
        };
    }
    await rollCloudNodes(plan, nodes, decision.changed, {
      ...(ctx.maxUnavailable !== undefined ? { maxUnavailable: ctx.maxUnavailable } : {}),
      signal: ctx.signal,
      onEvent: ctx.onEvent,
    });
  }
  await writeJsonAtomic(file, after, { mkdir: true });
}

/**
 * Buckets hold data: a destroy keeps them (retained: they leave the state and stay in the cloud with their data)
 * unless `keepData` is false (`destroy --delete-data`), and either way it first makes the stack's state say so with
 * an update that changes nothing at the provider but the deletion options. Both need the record of what was
 * deployed (which resources are buckets): without it, a stack that exists is refused, one that does not is done.
 */
async function destroyTarget(
  cloud: CloudTarget,
  ctx: RealizeContext & { keepData: boolean },
): Promise<{ removed: number }> {
  const { target } = cloud;
  const eng = cloud.engine();
  await eng.check();
  const stack = basename(ctx.stackDir);
  const ref = await stackRef(stack, target, ctx);
  const f = files(ctx.stackDir, target);
  const saved = readJson<Plan>(f.plan);
  if (!saved) {
    if ((await eng.outputs(ref).catch(() => undefined)) === null) return { removed: 0 }; // nothing deployed
    throw new TcError(
      ctx.keepData ? PulumiCode.keepDataUnknown : LimitCode.deleteDataUnknown,
      `cannot ${ctx.keepData ? 'keep' : 'delete'} the data of ${ref.stackName}: the record of what was deployed is missing`,
      {
        exit: ExitCode.notFound,
        hint: `${f.plan} is gone; run \`tclouds deploy --target ${target}\` once to rewrite it, then destroy again`,
        location: { file: f.plan },
      },
    );
  }
  const providers = cloud.providersOf(saved);
  const kept = await setBucketRetention(cloud, ctx, eng, ref, saved, ctx.keepData);
  // What stays in the cloud, by provider id: the next deploy of this stack adopts it instead of creating it.
  if (ctx.keepData && kept && Object.keys(kept).length > 0) await writeJsonAtomic(f.kept, kept, { mkdir: true });
  if (!ctx.keepData) await fs.rm(f.kept, { force: true });
  const r = await withLock(ctx, target, eng, ref, (op) => eng.destroy(ref, op));
  await fs.rm(f.outputs, { force: true });
  await fs.rm(f.plan, { force: true });
  await fs.rm(f.specDigests, { force: true });
  await clearImagePins(ctx.stackDir, target);
  // Nothing of the stack left in any cloud: the next deploy draws new global names (a deleted Key Vault stays
  // reserved while soft-deleted). Kept data keeps its names, so the suffix stays with it.
  if (!ctx.keepData) await forgetNameSuffix(ctx.stackDir);
  if (!ctx.keepData) {
    for (const b of Object.values(saved.components).flatMap((c) => c.buckets)) {
      if (providers.includes(saved.clouds[b.cloud]?.provider as CloudProvider))
        await fs.rm(credentialsFile(ctx.stackDir, b.cloud, b.name), { force: true });
    }
  }
  return { removed: r.removed };
}

/**
 * Mark the buckets retained (keep) or deletable with their objects (`--delete-data`) in the state: an update that
 * changes nothing at the provider, so that the destroy after it does what the user chose. Returns the provider
 * ids of the retained resources (the program's `kept` output) when keeping.
 */
async function setBucketRetention(
  cloud: CloudTarget,
  ctx: RealizeContext,
  eng: PulumiEngine,
  ref: StackRef,
  saved: Plan,
  keep: boolean,
): Promise<Record<string, string> | undefined> {
  const { target } = cloud;
  const providers = cloud.providersOf(saved);
  const { createDeploymentProgram } = await import('./program.js');
  const keys = await ensureDeploymentKeys(cloud, saved, ctx.stackDir);
  const pins = { nameSuffix: readNameSuffix(ctx.stackDir) ?? '', images: readImagePins(ctx.stackDir, target) };
  // The software last deployed: the same boot values, so marking buckets retained replaces no VM (a stack deployed
  // before software.json existed gets new user data here; only a destroy or a deploy follows, which replace it anyway).
  const software = readJson<SoftwareInput>(files(ctx.stackDir, target).software) ?? UNPACKED_SOFTWARE;
  const program = createDeploymentProgram(saved, await modulesOf(cloud, saved), {
    ...programInputs(saved, ctx.stackDir, providers, keys, { retainData: keep, software, ...pins }),
    // Resources a destroy kept before this one and no deploy adopted yet stay adopted.
    ...(readKept(ctx.stackDir, [target]) ? { adopt: readKept(ctx.stackDir, [target])! } : {}),
    skipLimitChecks: true,
  });
  ctx.onEvent({
    kind: 'log',
    id: keep ? 'keep-data' : 'delete-data',
    state: 'running',
    message: keep
      ? 'keeping buckets and their data (retained in the cloud; --delete-data deletes them)'
      : 'deleting buckets with their data (--delete-data)',
  });
  const r = await withLock(ctx, target, eng, ref, (op) => eng.up(ref, program, op));
  return r.outputs.kept?.value as Record<string, string> | undefined;
}

/** Buckets of the last deployed plan that the new plan no longer has: retained in the cloud, never deleted. */
function droppedBucketNotes(
  stackDir: string,
  target: Target,
  plan: Plan,
  providers: readonly CloudProvider[],
): string[] {
  const saved = readJson<Plan>(files(stackDir, target).plan);
  if (!saved) return [];
  const now = new Set(Object.values(plan.components).flatMap((c) => c.buckets.map((b) => `${b.cloud}/${b.name}`)));
  return Object.values(saved.components)
    .flatMap((c) => c.buckets)
    .filter(
      (b) => providers.includes(saved.clouds[b.cloud]?.provider as CloudProvider) && !now.has(`${b.cloud}/${b.name}`),
    )
    .map(
      (b) =>
        `bucket ${b.name} of cloud ${b.cloud} is no longer in the topology: it leaves the stack but stays in the cloud with its data (retained); delete it with the provider's tools if you no longer need it`,
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
  const ref = await stackRef(basename(ctx.stackDir), target, { ...ctx, onEvent: () => {} });
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

/**
 * The stack's engine reference: its state backend and secrets passphrase (backend.ts), the passphrase file created
 * on first use. Says once, as a log event, where state and passphrase are.
 */
async function stackRef(stack: string, target: Target, ctx: RealizeContext): Promise<StackRef> {
  const backend = resolveBackend(ctx.stackDir, ctx.backend);
  const secrets: SecretsChoice =
    ctx.passphrase !== undefined && ctx.passphrase !== ''
      ? { source: 'TCLOUDS_PASSPHRASE', passphrase: ctx.passphrase }
      : await ensureStackPassphrase(resolveSecrets(ctx.stackDir));
  ctx.onEvent({ kind: 'log', id: 'pulumi-state', state: 'done', message: backendNotice(backend, secrets) });
  const ref: StackRef = { projectName: PROJECT_NAME, stackName: stackName(stack, target), backendUrl: backend.url };
  if (secrets.file !== undefined) ref.passphraseFile = secrets.file;
  else ref.passphrase = secrets.passphrase ?? '';
  return ref;
}

function files(stackDir: string, target: Target) {
  const dir = join(stackDir, 'pulumi');
  return {
    dir,
    lock: join(dir, `${target}.lock`),
    plan: join(dir, `${target}.plan.json`),
    outputs: join(dir, `${target}.outputs.json`),
    software: join(dir, `${target}.software.json`),
    specDigests: join(dir, `${target}.spec-digests.json`),
    kept: join(dir, `${target}.kept.json`),
    artifactDir: join(dir, 'artifact'),
  };
}

export function credentialsFile(stackDir: string, cloud: string, bucket: string): string {
  return join(stackDir, 'keys', `bucket-${cloud}-${bucket}.json`);
}

/**
 * The VM identities of one provider's gateways that write GCP buckets, recorded by a deployment without GCP (no
 * secret: accounts, role names, principal ids). A deployment with GCP hands them over inside its program.
 */
export function gatewayIdentitiesFile(stackDir: string, provider: string): string {
  return join(stackDir, 'keys', `gateway-identities-${provider}.json`);
}

/** Gateway identities recorded by deployments of providers outside this one: its GCP part binds them (federation). */
function externalGatewayIdentities(
  stackDir: string,
  providers: readonly CloudProvider[],
): Record<string, ForeignGatewayIdentity> {
  const out: Record<string, ForeignGatewayIdentity> = {};
  for (const other of ['aws', 'azure'] as const) {
    if (!providers.includes(other)) Object.assign(out, readJson(gatewayIdentitiesFile(stackDir, other)) ?? {});
  }
  return out;
}

/**
 * Whose kept records a deploy adopts: its own, and for `clouds` those of the single-provider stacks it takes over
 * (a topology that was deployed `--target aws`, destroyed keeping its data, and now spans providers). The logical
 * names are the same in every program, so the records apply as they are.
 */
function keptTargets(target: Target, providers: readonly CloudProvider[]): Target[] {
  return [...new Set<Target>([target, ...providers])];
}

/** The resources the last destroys kept (`<target>.kept.json` of each target), for the next deploy to adopt. */
function readKept(stackDir: string, targets: readonly Target[]): Record<string, string> | undefined {
  let all: Record<string, string> | undefined;
  for (const t of targets) {
    const kept = readKeptFile(files(stackDir, t).kept);
    if (kept) all = { ...all, ...kept };
  }
  return all;
}

function readKeptFile(file: string): Record<string, string> | undefined {
  if (!existsSync(file)) return undefined;
  const kept = readJson<unknown>(file);
  const valid =
    !!kept &&
    typeof kept === 'object' &&
    !Array.isArray(kept) &&
    Object.values(kept).every((v) => typeof v === 'string' && v !== '');
  if (!valid)
    throw new TcError(DeploymentCode.badKeptRecord, `the record of the data a destroy kept is unreadable: ${file}`, {
      exit: ExitCode.notFound,
      hint: 'restore it from a backup, or delete it and remove the kept buckets with the provider tools before deploying (a deploy would fail creating what exists)',
      location: { file },
    });
  return kept as Record<string, string>;
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

/**
 * Node addresses recorded by single-provider targets of this stack that this deployment does not cover (stacks
 * deployed one provider at a time before `clouds`); none for a deployment of every provider.
 */
function externalHosts(stackDir: string, providers: readonly CloudProvider[]): Record<string, string> {
  const hosts: Record<string, string> = {};
  for (const other of ['aws', 'azure', 'gcp'] as const) {
    if (providers.includes(other)) continue;
    const out = readJson<DeploymentOutputs>(files(stackDir, other).outputs);
    for (const c of Object.values(out?.components ?? {})) for (const n of c.nodes) if (n.host) hosts[n.id] = n.host;
  }
  return hosts;
}

/**
 * Credentials of the buckets other targets realized, for this target's gateways that write to them: the records
 * those deploys wrote (`keys/bucket-<cloud>-<bucket>.json`), by `<cloud>/<bucket>`.
 */
function externalBucketCredentials(
  plan: Plan,
  stackDir: string,
  providers: readonly CloudProvider[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const b of Object.values(plan.components).flatMap((c) => c.buckets)) {
    const provider = plan.clouds[b.cloud]?.provider;
    if (provider === 'local' || providers.includes(provider as CloudProvider)) continue;
    const record = readJson<unknown>(credentialsFile(stackDir, b.cloud, b.name));
    if (record !== undefined) out[`${b.cloud}/${b.name}`] = record;
  }
  return out;
}

async function readKeys(plan: Plan, stackDir: string): Promise<KeyMaterial> {
  const km = emptyKeyMaterial();
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

/** The certificate callers pin for a node's control port (its file beside the node's keys), when it has one. */
function controlPinOf(stackDir: string, nodeId: string, keys: KeyMaterial): Pick<NodeOutput, 'controlTls'> {
  const tls = keys.controlTls[nodeId];
  return tls ? { controlTls: { certFile: controlTlsFilesOf(stackDir, nodeId).cert, sha256: tls.sha256 } } : {};
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
        ...controlPinOf(ctx.stackDir, n.id, keys),
      }));
    const bucketOutputs: BucketOutput[] = [];
    for (const b of comp.buckets) {
      const rec = buckets[`${b.cloud}/${b.name}`];
      if (!rec) continue;
      const provider = plan.clouds[b.cloud]!.provider as BucketOutput['provider'];
      const bo: BucketOutput = {
        cloud: b.cloud,
        provider,
        name: String(rec.name),
        region: rec.region,
        endpoint: String(rec.endpoint),
      };
      if (rec.credentials !== undefined) {
        const file = credentialsFile(ctx.stackDir, b.cloud, b.name);
        await writeFileAtomic(
          file,
          `${JSON.stringify({ provider, cloud: b.cloud, bucket: bo.name, region: bo.region, endpoint: bo.endpoint, credentials: rec.credentials }, null, 2)}\n`,
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
  // Only a deployment without GCP outputs them: a later deployment with GCP binds them (one with it needs no file).
  const identities = (out.gatewayIdentities?.value ?? {}) as Record<string, ForeignGatewayIdentity>;
  for (const provider of ['aws', 'azure'] as const) {
    const mine = Object.fromEntries(Object.entries(identities).filter(([, v]) => v.provider === provider));
    if (Object.keys(mine).length === 0) continue;
    await writeJsonAtomic(gatewayIdentitiesFile(ctx.stackDir, provider), mine, { mode: 0o600, mkdir: true });
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
