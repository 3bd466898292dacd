/**
 * The local realizer, the embedded default target: every cloud of the topology becomes a directory on this
 * machine and every node a `tclouds node run` process on its own 127.x address, kept alive by a per-stack
 * supervisor (supervisor.ts). Layout: DEPLOY-CONTRACT.md, "Local target files" (paths.ts).
 *
 * Deploy is idempotent: keys are created once and kept, spec files are rewritten only when their content
 * changes, nodes whose spec is unchanged keep running, and a deploy with nothing to change reports 0 changes
 * without touching outputs.json.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { rolesOf } from '../../components/kinds.js';
import { allNodes, planDigest } from '../../components/plan.js';
import type { ComponentPlan, Plan, PlannedNode } from '../../components/plan-types.js';
import { writeFileAtomic, writeJsonAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { ensureAdminToken } from '../../runtime/keys.js';
import {
  type ComponentOutput,
  type DeploymentOutputs,
  NODE_SPEC_VERSION,
  type NodeSpec,
  OUTPUTS_VERSION,
} from '../../runtime/node-spec.js';
import { DeployCode } from '../codes.js';
import {
  ensurePlannedKey as ensureKey,
  ensureSigningKey,
  hasSigningKey,
  keyFileOf,
  readPlannedPublicKey,
  readSigningPublicKey,
  signingKeyFileOf,
} from '../plan-keys.js';
import type { DeployEvent, PreviewResource, RealizeContext, Realizer } from '../realizer.js';
import { assignAddresses, checkPortFree } from './addresses.js';
import { ensureSupervisor, isSupervisor, sleep, stopAll } from './control.js';
import { probeHealth } from './health.js';
import { acquireLock } from './lock.js';
import { packageRoot, stackPaths } from './paths.js';
import {
  LOCAL_STATE_VERSION,
  type LocalBucketState,
  type LocalState,
  readState,
  readSupervisorStatus,
  writeState,
} from './state.js';

/** How long a started node may take to answer GET /health with status ok. */
const HEALTH_TIMEOUT_MS = Number(process.env.TCLOUDS_HEALTH_TIMEOUT_MS ?? 30_000);

export function createLocalRealizer(): Realizer {
  return {
    preview: (plan, ctx) => previewLocal(plan, ctx),
    deploy: (plan, ctx) => deployLocal(plan, ctx),
    destroy: (ctx) => destroyLocal(ctx),
    outputs: (ctx) => readOutputs(ctx.stackDir),
  };
}

// ---------------------------------------------------------------------------------------------------------
// what the plan needs on this machine

interface LocalDesign {
  addresses: Map<string, string>;
  buckets: LocalBucketState[];
  /** Cloud directories outside stackDir (clouds with `path:`), absolute. */
  externalClouds: string[];
}

function design(plan: Plan, ctx: RealizeContext): LocalDesign {
  const topologyDir = path.dirname(ctx.topologyFile);
  const p = stackPaths(ctx.stackDir);
  const buckets: LocalBucketState[] = [];
  const externalClouds = new Set<string>();
  for (const [component, c] of Object.entries(plan.components)) {
    for (const b of c.buckets) {
      const cloud = plan.clouds[b.cloud];
      const cloudDir = cloud?.path ? path.resolve(topologyDir, cloud.path) : path.join(p.clouds, b.cloud);
      if (cloud?.path) externalClouds.add(cloudDir);
      buckets.push({ component, cloud: b.cloud, name: b.name, path: path.join(cloudDir, b.name) });
    }
  }
  return { addresses: assignAddresses(plan), buckets, externalClouds: [...externalClouds] };
}

/** Components whose node roles have no software in this build (kinds registry), with the roles missing. */
async function unsupported(plan: Plan): Promise<Array<{ name: string; c: ComponentPlan; roles: string[] }>> {
  const out: Array<{ name: string; c: ComponentPlan; roles: string[] }> = [];
  for (const [name, c] of Object.entries(plan.components)) {
    const known = await rolesOf(c.kind);
    const missing = [...new Set(c.nodes.map((n) => n.role))].filter((r) => typeof known?.[r] !== 'function');
    if (missing.length > 0) out.push({ name, c, roles: missing });
  }
  return out;
}

function unsupportedError(u: { name: string; c: ComponentPlan; roles: string[] }, more: number): TcError {
  const what =
    u.c.kind === 'storage'
      ? 'use mode client-resident for a local deployment (clients talk to the buckets directly, no gateways)'
      : `remove component "${u.name}" for a local deployment, or preview it on a cloud target: tclouds plan --target aws`;
  return new TcError(
    DeployCode.noNodeSoftware,
    `component "${u.name}" (${u.c.kind}) cannot run on the local target: this release has no node software for its role${u.roles.length > 1 ? 's' : ''} ${u.roles.join(', ')}${more > 0 ? ` (and ${more} more component${more > 1 ? 's' : ''})` : ''}`,
    { exit: ExitCode.invalid, hint: what, location: { path: `components.${u.name}` } },
  );
}

// ---------------------------------------------------------------------------------------------------------
// preview

async function previewLocal(
  plan: Plan,
  ctx: RealizeContext,
): Promise<{ resources: PreviewResource[]; changes: number }> {
  const d = design(plan, ctx);
  const state = await readState(ctx.stackDir);
  const sup = await readSupervisorStatus(ctx.stackDir);
  const supAlive = isSupervisor(sup?.pid, ctx.stackDir);
  const rel = (f: string) => path.relative(path.dirname(ctx.topologyFile), f) || '.';
  const resources: PreviewResource[] = [];
  resources.push({
    type: 'local:directory',
    name: rel(ctx.stackDir),
    inputs: {},
    op: existsSync(ctx.stackDir) ? 'same' : 'create',
  });
  for (const b of d.buckets) {
    resources.push({
      type: 'local:bucket',
      name: `${b.component}/${b.cloud}`,
      inputs: { path: rel(b.path) },
      op: existsSync(b.path) ? 'same' : 'create',
    });
  }
  for (const c of Object.values(plan.components)) {
    for (const k of c.keys) {
      resources.push({
        type: 'local:key',
        name: k.id,
        inputs: { kind: k.kind, file: rel(keyFileOf(ctx.stackDir, k)), mode: '0600', privateKey: '[secret]' },
        op: existsSync(keyFileOf(ctx.stackDir, k)) ? 'same' : 'create',
      });
      if (!hasSigningKey(k, c.kind)) continue;
      // The SMR client's Ed25519 request-signing key, beside its X25519 key.
      resources.push({
        type: 'local:key',
        name: `${k.id}.sign`,
        inputs: {
          kind: 'client-signing',
          file: rel(signingKeyFileOf(ctx.stackDir, k)),
          mode: '0600',
          privateKey: '[secret]',
        },
        op: existsSync(signingKeyFileOf(ctx.stackDir, k)) ? 'same' : 'create',
      });
    }
  }
  const missing = new Map((await unsupported(plan)).map((u) => [u.name, u.roles]));
  const existing = await existingKeys(plan, ctx.stackDir);
  const specs = await buildSpecs(plan, ctx, d, existing.publicKeys, existing.signingKeys);
  for (const n of allNodes(plan)) {
    const spec = specs.get(n.id);
    const old = state?.nodes[n.id];
    const running = supAlive && sup?.nodes[n.id]?.pid;
    const hash = spec ? specHash(spec) : undefined;
    const op = !old ? 'create' : hash && hash === old.specHash && running ? 'same' : 'update';
    const inputs: Record<string, unknown> = {
      component: n.component,
      role: n.role,
      cloud: n.cloud,
      domain: n.domain,
      address: d.addresses.get(n.id),
      ports: n.ports,
      controlPort: n.controlPort,
    };
    if (missing.get(n.component)?.includes(n.role)) {
      inputs.unsupported = `${DeployCode.noNodeSoftware}: no node software for role ${n.role} (${n.kind}) in this release`;
    }
    resources.push({ type: 'local:process', name: n.id, inputs, op });
  }
  const planned = new Set(allNodes(plan).map((n) => n.id));
  for (const id of Object.keys(state?.nodes ?? {})) {
    if (!planned.has(id)) resources.push({ type: 'local:process', name: id, inputs: {}, op: 'delete' });
  }
  const changes = resources.filter((r) => r.op !== 'same').length;
  return { resources, changes };
}

// ---------------------------------------------------------------------------------------------------------
// deploy

async function deployLocal(plan: Plan, ctx: RealizeContext): Promise<{ outputs: DeploymentOutputs; changes: number }> {
  const gone = await unsupported(plan);
  if (gone[0]) throw unsupportedError(gone[0], gone.length - 1);
  if (allNodes(plan).length > 0 && !existsSync(path.join(packageRoot(), 'dist', 'commands', 'node', 'run.js'))) {
    throw new TcError(DeployCode.noNodeHost, 'this build has no node host (`tclouds node run`)', {
      hint: 'compile the package (npx tsc -p tsconfig.build.json) or install a complete tclouds release',
    });
  }
  const d = design(plan, ctx);
  const fresh = !existsSync(ctx.stackDir);
  const lock = await acquireLock(ctx.stackDir, 'tclouds deploy');
  try {
    if (lock.staleFrom) {
      emit(ctx, {
        kind: 'log',
        id: 'lock',
        state: 'done',
        message: `took over a stale lock of pid ${lock.staleFrom.pid}`,
      });
    }
    return await deployLocked(plan, ctx, d, fresh);
  } finally {
    await lock.release();
  }
}

async function deployLocked(
  plan: Plan,
  ctx: RealizeContext,
  d: LocalDesign,
  fresh: boolean,
): Promise<{ outputs: DeploymentOutputs; changes: number }> {
  const p = stackPaths(ctx.stackDir);
  const digest = planDigest(plan);
  let changes = 0;
  const old = await readState(ctx.stackDir);
  aborted(ctx);

  // Buckets: directories.
  // Directories outside the stack dir that we create (a local cloud's `path:` and its missing parents) are
  // recorded so destroy can remove them again (only when empty: they might hold someone else's files by then).
  const externalDirs = new Set([...(old?.externalDirs ?? []), ...(await readKept(ctx.stackDir))]);
  for (const dir of d.externalClouds) {
    for (let x = dir; !existsSync(x) && path.dirname(x) !== x; x = path.dirname(x)) externalDirs.add(x);
  }
  if (fresh) {
    changes++;
    emit(ctx, {
      kind: 'resource',
      id: path.relative(path.dirname(ctx.topologyFile), ctx.stackDir),
      type: 'local:directory',
      state: 'done',
      op: 'create',
      elapsedMs: 0,
    });
  }
  await fs.mkdir(ctx.stackDir, { recursive: true, mode: 0o755 });
  await fs.mkdir(p.keys, { recursive: true, mode: 0o700 });
  await fs.chmod(p.keys, 0o700);
  for (const b of d.buckets) {
    const t0 = Date.now();
    const id = `${b.component}/${b.cloud}`;
    if (existsSync(b.path)) {
      emit(ctx, { kind: 'resource', id, type: 'local:bucket', state: 'unchanged', op: 'same', elapsedMs: 0 });
      continue;
    }
    await fs.mkdir(b.path, { recursive: true, mode: 0o755 });
    changes++;
    emit(ctx, { kind: 'resource', id, type: 'local:bucket', state: 'done', op: 'create', elapsedMs: Date.now() - t0 });
  }
  aborted(ctx);

  // Keys: created once, kept across deploys (peers and clients know the public keys). SMR clients get a second,
  // Ed25519 key for signing requests; its public key goes to the replicas' specs (clientSigners).
  const publicKeys = new Map<string, string>();
  const signingKeys = new Map<string, string>();
  /** Reads or creates one key; a created key is a change, shown as a resource event. Returns its public key. */
  const keyStep = async (id: string, ensure: () => Promise<{ publicKey: string; created: boolean }>) => {
    const t0 = Date.now();
    const { publicKey, created } = await ensure();
    if (created) {
      changes++;
      emit(ctx, { kind: 'resource', id, type: 'local:key', state: 'done', op: 'create', elapsedMs: Date.now() - t0 });
    }
    return publicKey;
  };
  for (const c of Object.values(plan.components)) {
    for (const k of c.keys) {
      publicKeys.set(k.id, await keyStep(k.id, () => ensureKey(ctx.stackDir, k)));
      if (hasSigningKey(k, c.kind)) {
        signingKeys.set(k.id, await keyStep(`${k.id}.sign`, () => ensureSigningKey(ctx.stackDir, k)));
      }
    }
  }
  await ensureAdminToken(p.adminToken);
  aborted(ctx);

  // Specs.
  const specs = await buildSpecs(plan, ctx, d, publicKeys, signingKeys);
  const sup = await readSupervisorStatus(ctx.stackDir);
  const supAlive = isSupervisor(sup?.pid, ctx.stackDir);
  // Node processes without a live supervisor (it was killed) are orphans nobody restarts: stop them, so the
  // new supervisor can start the nodes afresh on their addresses.
  if (!supAlive && old) {
    const orphans = await stopAll(ctx.stackDir);
    if (orphans.length > 0) {
      emit(ctx, {
        kind: 'log',
        id: 'orphans',
        state: 'done',
        message: `stopped ${orphans.length} unsupervised node process(es)`,
      });
    }
  }
  const nodes: LocalState['nodes'] = {};
  const toStart: string[] = [];
  for (const n of allNodes(plan)) {
    const spec = specs.get(n.id) as NodeSpec;
    const hash = specHash(spec);
    const before = old?.nodes[n.id];
    const runningNow = supAlive && sup?.nodes[n.id]?.pid && sup.nodes[n.id]?.specHash === hash;
    const held = existsSync(p.hold(n.id));
    await fs.mkdir(p.dataDir(n.id), { recursive: true, mode: 0o700 });
    await writeFileIfChanged(p.spec(n.id), `${JSON.stringify(spec, null, 2)}\n`);
    nodes[n.id] = {
      component: n.component,
      kind: n.kind,
      role: n.role,
      index: n.index,
      cloud: n.cloud,
      domain: n.domain,
      host: spec.host,
      ports: spec.ports,
      controlPort: spec.controlPort,
      specFile: p.spec(n.id),
      specHash: hash,
    };
    if (before?.specHash === hash && runningNow && !held) {
      emit(ctx, { kind: 'node', id: n.id, type: 'local:process', state: 'unchanged', op: 'same', elapsedMs: 0 });
      continue;
    }
    // A deploy clears chaos: held-down and paused nodes run again (DEPLOY-CONTRACT: "until restart/deploy").
    await fs.rm(p.hold(n.id), { force: true });
    if (existsSync(p.paused(n.id))) {
      await fs.rm(p.paused(n.id), { force: true });
      const pid = sup?.nodes[n.id]?.pid;
      if (pid) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {}
      }
    }
    toStart.push(n.id);
    emit(ctx, {
      kind: 'node',
      id: n.id,
      type: 'local:process',
      state: 'pending',
      op: before ? 'update' : 'create',
      message: `${spec.host}:${spec.controlPort}`,
    });
  }
  const removed = Object.keys(old?.nodes ?? {}).filter((id) => !nodes[id]);
  // Ports of nodes that are new (or moved) must be free now; ports of our own running nodes are theirs.
  for (const id of toStart) {
    const n = nodes[id];
    const prev = old?.nodes[id];
    if (!n || (supAlive && prev && prev.host === n.host && sup?.nodes[id]?.pid)) continue;
    for (const [name, port] of [...Object.entries(n.ports), ['control', n.controlPort] as const]) {
      await checkPortFree(n.host, port, `node ${id} (${name})`);
    }
  }
  aborted(ctx);

  const state: LocalState = {
    version: LOCAL_STATE_VERSION,
    stack: plan.stack,
    topologyFile: ctx.topologyFile,
    planDigest: digest,
    nodes,
    // Buckets of components that left the topology keep their data until destroy, which deletes them.
    buckets: [
      ...d.buckets,
      ...(old?.buckets ?? []).filter((b) => !d.buckets.some((n) => n.path === b.path) && existsSync(b.path)),
    ],
    externalDirs: [...externalDirs],
  };
  const stateChanged = JSON.stringify(old) !== JSON.stringify(state);
  if (stateChanged) await writeState(ctx.stackDir, state);
  await fs.rm(path.join(ctx.stackDir, KEPT_FILE), { force: true });

  // Nodes: the supervisor starts, restarts and stops them; we wait until each started node is healthy.
  const started = Date.now();
  if (toStart.length > 0 || removed.length > 0) {
    if (Object.keys(nodes).length > 0) await ensureSupervisor(ctx.stackDir);
    else if (supAlive) await stopAll(ctx.stackDir);
    for (const id of removed) {
      changes++;
      emit(ctx, { kind: 'node', id, type: 'local:process', state: 'deleted', op: 'delete' });
    }
  } else if (Object.keys(nodes).length > 0 && !supAlive) {
    await ensureSupervisor(ctx.stackDir);
  }
  await Promise.all(
    toStart.map(async (id) => {
      const n = nodes[id] as LocalState['nodes'][string];
      emit(ctx, { kind: 'node', id, type: 'local:process', state: 'running', message: `${n.host}:${n.controlPort}` });
      await waitHealthy(ctx, id, n, started);
      changes++;
      emit(ctx, {
        kind: 'node',
        id,
        type: 'local:process',
        state: 'done',
        op: old?.nodes[id] ? 'update' : 'create',
        message: `${n.host} ${Object.entries(n.ports)
          .map(([k, v]) => `${k}:${v}`)
          .join(' ')}`,
        elapsedMs: Date.now() - started,
      });
    }),
  );

  // Outputs: rewritten only when something changed (or they are missing), so "nothing to do" touches nothing.
  const existing = await readOutputs(ctx.stackDir).catch(() => null);
  if (changes > 0 || stateChanged || !existing || existing.planDigest !== digest) {
    const outputs = buildOutputs(plan, ctx, d, specs, publicKeys, signingKeys, digest);
    await writeJsonAtomic(p.outputs, outputs);
    return { outputs, changes };
  }
  return { outputs: existing, changes };
}

async function waitHealthy(ctx: RealizeContext, id: string, n: LocalState['nodes'][string], since: number) {
  const p = stackPaths(ctx.stackDir);
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    aborted(ctx);
    const sup = await readSupervisorStatus(ctx.stackDir);
    const s = sup?.nodes[id];
    if (s?.specHash === n.specHash && s.pid) {
      const probe = await probeHealth(n.host, n.controlPort, 1000);
      if (probe.ok) return;
      last = probe.error ?? `status ${probe.status ?? '?'}`;
    }
    // A node that exits at start again and again will not get better by waiting.
    if (s?.lastExit && Date.parse(s.lastExit.at) >= since && s.restarts >= 3) {
      last = `exited with code ${s.lastExit.code ?? s.lastExit.signal}`;
      break;
    }
    await sleep(100);
  }
  const tail = await tailOf(p.consoleLog(id), 5);
  throw new TcError(
    DeployCode.nodeUnhealthy,
    `node ${id} did not become healthy on ${n.host}:${n.controlPort} (${last || 'no answer'})`,
    {
      hint: `its output: ${tail ? `\n${tail}` : `(empty) see ${p.consoleLog(id)}`}\nfix the cause and deploy again, or \`tclouds destroy\``,
    },
  );
}

async function tailOf(file: string, lines: number): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// specs and outputs

/**
 * Public keys of the planned keys that exist already, and the signing public keys of the SMR clients whose signing
 * keys exist (preview: nothing is created).
 */
async function existingKeys(
  plan: Plan,
  stackDir: string,
): Promise<{ publicKeys: Map<string, string>; signingKeys: Map<string, string> }> {
  const publicKeys = new Map<string, string>();
  const signingKeys = new Map<string, string>();
  for (const c of Object.values(plan.components)) {
    for (const k of c.keys) {
      const pub = await readPlannedPublicKey(stackDir, k).catch(() => undefined);
      if (pub) publicKeys.set(k.id, pub);
      if (!hasSigningKey(k, c.kind)) continue;
      const signing = await readSigningPublicKey(stackDir, k).catch(() => undefined);
      if (signing) signingKeys.set(k.id, signing);
    }
  }
  return { publicKeys, signingKeys };
}

async function buildSpecs(
  plan: Plan,
  ctx: RealizeContext,
  d: LocalDesign,
  publicKeys: Map<string, string>,
  signingKeys: Map<string, string>,
): Promise<Map<string, NodeSpec>> {
  const p = stackPaths(ctx.stackDir);
  const specs = new Map<string, NodeSpec>();
  for (const [component, c] of Object.entries(plan.components)) {
    const peerOf = (n: PlannedNode) => ({
      id: n.id,
      role: n.role,
      index: n.index,
      host: d.addresses.get(n.id) as string,
      ports: { ...n.ports },
      publicKey: publicKeys.get(n.id) ?? '',
    });
    const clients: Record<string, string> = {};
    const clientSigners: Record<string, string> = {};
    for (const k of c.keys) {
      if (k.kind === 'client' && publicKeys.has(k.id)) clients[k.id] = publicKeys.get(k.id) as string;
      if (hasSigningKey(k, c.kind) && signingKeys.has(k.id)) clientSigners[k.id] = signingKeys.get(k.id) as string;
    }
    for (const n of c.nodes) {
      specs.set(n.id, {
        version: NODE_SPEC_VERSION,
        stack: plan.stack,
        component,
        kind: c.kind,
        role: n.role,
        id: n.id,
        index: n.index,
        cloud: n.cloud,
        domain: n.domain,
        host: d.addresses.get(n.id) as string,
        ports: { ...n.ports },
        controlPort: n.controlPort,
        peers: c.nodes.filter((o) => o.id !== n.id).map(peerOf),
        clients,
        ...(c.kind === 'smr' ? { clientSigners } : {}),
        dataDir: p.dataDir(n.id),
        keyFile: p.key(n.id),
        publicKey: publicKeys.get(n.id) ?? '',
        config: { ...localConfig(n.config, ctx), ...bucketConfig(c, d, component) },
        adminTokenFile: p.adminToken,
      });
    }
  }
  return specs;
}

/**
 * A user service module (SMR `service: ./svc.js`) is relative to the topology file in the plan; node processes
 * run elsewhere, so their spec gets the absolute path.
 */
function localConfig(config: Record<string, unknown>, ctx: RealizeContext): Record<string, unknown> {
  const service = config.service;
  if (typeof service !== 'string' || service === 'kv' || service === 'noop') return { ...config };
  return { ...config, service: path.resolve(path.dirname(ctx.topologyFile), service) };
}

/** Gateways on the local target get the absolute directories of their buckets. */
function bucketConfig(c: ComponentPlan, d: LocalDesign, component: string): Record<string, unknown> {
  if (c.buckets.length === 0) return {};
  return {
    bucketPaths: Object.fromEntries(d.buckets.filter((b) => b.component === component).map((b) => [b.cloud, b.path])),
  };
}

function specHash(spec: NodeSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}

function buildOutputs(
  plan: Plan,
  ctx: RealizeContext,
  d: LocalDesign,
  specs: Map<string, NodeSpec>,
  publicKeys: Map<string, string>,
  signingKeys: Map<string, string>,
  digest: string,
): DeploymentOutputs {
  const components: Record<string, ComponentOutput> = {};
  for (const [name, c] of Object.entries(plan.components)) {
    const clientKeys: ComponentOutput['clientKeys'] = {};
    for (const k of c.keys) {
      if (k.kind === 'node') continue;
      clientKeys[k.id] = { keyFile: keyFileOf(ctx.stackDir, k), publicKey: publicKeys.get(k.id) ?? '' };
      const signing = signingKeys.get(k.id);
      if (hasSigningKey(k, c.kind) && signing) {
        // The signing key's path only (0600 file); the secret itself never enters outputs.json.
        clientKeys[k.id] = {
          ...clientKeys[k.id]!,
          signingKeyFile: signingKeyFileOf(ctx.stackDir, k),
          signingPublicKey: signing,
        };
      }
    }
    components[name] = {
      kind: c.kind,
      nodes: c.nodes.map((n) => {
        const s = specs.get(n.id) as NodeSpec;
        return {
          id: n.id,
          role: n.role,
          index: n.index,
          host: s.host,
          ports: { ...n.ports },
          publicKey: s.publicKey,
          cloud: n.cloud,
          domain: n.domain,
          controlPort: n.controlPort,
        };
      }),
      buckets: d.buckets
        .filter((b) => b.component === name)
        .map((b) => ({ cloud: b.cloud, provider: 'local' as const, name: b.name, path: b.path })),
      client: c.client,
      clientKeys,
    };
  }
  return {
    version: OUTPUTS_VERSION,
    stack: plan.stack,
    target: 'local',
    topologyFile: ctx.topologyFile,
    planDigest: digest,
    deployedAt: new Date().toISOString(),
    components,
  };
}

async function readOutputs(stackDir: string): Promise<DeploymentOutputs | null> {
  let text: string;
  try {
    text = await fs.readFile(stackPaths(stackDir).outputs, 'utf8');
  } catch {
    return null;
  }
  try {
    const o = JSON.parse(text) as DeploymentOutputs;
    if (o.version !== OUTPUTS_VERSION) throw new Error(`version ${String(o.version)}`);
    return o;
  } catch (e) {
    throw new TcError(DeployCode.badState, `outputs.json of ${stackDir} is unreadable (${(e as Error).message})`, {
      hint: 'deploy again to rewrite it, or destroy the deployment',
    });
  }
}

async function writeFileIfChanged(file: string, text: string): Promise<void> {
  const now = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (now !== text) await writeFileAtomic(file, text);
}

// ---------------------------------------------------------------------------------------------------------
// destroy

/** Left by `destroy --keep-data`: what the kept data's deployment had created outside the stack dir. */
const KEPT_FILE = 'kept-data.json';

async function readKept(stackDir: string): Promise<string[]> {
  try {
    const k = JSON.parse(await fs.readFile(path.join(stackDir, KEPT_FILE), 'utf8')) as { externalDirs?: unknown };
    return Array.isArray(k.externalDirs) ? k.externalDirs.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

async function destroyLocal(ctx: RealizeContext & { keepData: boolean }): Promise<{ removed: number }> {
  if (!existsSync(ctx.stackDir)) return { removed: 0 };
  const lock = await acquireLock(ctx.stackDir, 'tclouds destroy');
  let removed = 0;
  try {
    const state = await readState(ctx.stackDir).catch(() => null);
    const externalDirs = [...new Set([...(state?.externalDirs ?? []), ...(await readKept(ctx.stackDir))])];
    const t0 = Date.now();
    const pids = await stopAll(ctx.stackDir);
    for (const id of Object.keys(state?.nodes ?? {})) {
      removed++;
      emit(ctx, {
        kind: 'node',
        id,
        type: 'local:process',
        state: 'deleted',
        op: 'delete',
        elapsedMs: Date.now() - t0,
      });
    }
    if (pids.length > 0) {
      emit(ctx, { kind: 'log', id: 'processes', state: 'done', message: `stopped ${pids.length} process(es)` });
    }
    const p = stackPaths(ctx.stackDir);
    if (ctx.keepData) {
      // Keep what holds data: buckets, node data directories, and the keys needed to read the data back.
      for (const entry of await fs.readdir(ctx.stackDir)) {
        const full = path.join(ctx.stackDir, entry);
        if (full === p.clouds || full === p.keys || full === p.lock) continue;
        if (full === p.nodes) {
          for (const id of await fs.readdir(full).catch(() => [] as string[])) {
            for (const f of await fs.readdir(path.join(full, id)).catch(() => [] as string[])) {
              if (f !== 'data') await fs.rm(path.join(full, id, f), { recursive: true, force: true });
            }
          }
          continue;
        }
        await fs.rm(full, { recursive: true, force: true });
      }
      // Remember directories outside the stack dir that we created, so the final destroy can still remove them.
      if (externalDirs.length > 0) await writeJsonAtomic(path.join(ctx.stackDir, KEPT_FILE), { externalDirs });
      for (const b of state?.buckets ?? []) {
        emit(ctx, {
          kind: 'resource',
          id: `${b.component}/${b.cloud}`,
          type: 'local:bucket',
          state: 'unchanged',
          message: 'kept (--keep-data)',
        });
      }
    } else {
      for (const b of state?.buckets ?? []) {
        await fs.rm(b.path, { recursive: true, force: true });
        removed++;
        emit(ctx, {
          kind: 'resource',
          id: `${b.component}/${b.cloud}`,
          type: 'local:bucket',
          state: 'deleted',
          op: 'delete',
        });
      }
      // Cloud directories outside the stack dir that this deployment created: removed when empty.
      const created = [...externalDirs].sort((a, b) => b.length - a.length);
      for (const dir of created) await fs.rmdir(dir).catch(() => {});
      const leftovers = (await fs.readdir(ctx.stackDir)).filter((entry) => entry !== 'deploy.lock');
      for (const entry of leftovers) await fs.rm(path.join(ctx.stackDir, entry), { recursive: true, force: true });
      // Without state.json (after `destroy --keep-data`, or a deploy that failed before writing it) the kept
      // buckets, keys and node data were deleted just now: say so instead of reporting "nothing to do".
      if (!state && leftovers.length > 0) {
        removed++;
        emit(ctx, {
          kind: 'resource',
          id: path.basename(ctx.stackDir),
          type: 'local:directory',
          state: 'deleted',
          op: 'delete',
          message: `left without state.json: ${leftovers.join(', ')}`,
        });
      }
    }
  } finally {
    await lock.release();
  }
  // Remove the stack dir and `.tclouds/` when nothing is left in them.
  await fs.rmdir(ctx.stackDir).catch(() => {});
  await fs.rmdir(path.dirname(ctx.stackDir)).catch(() => {});
  return { removed };
}

// ---------------------------------------------------------------------------------------------------------

function emit(ctx: RealizeContext, e: DeployEvent): void {
  ctx.onEvent(e);
}

function aborted(ctx: RealizeContext): void {
  if (ctx.signal.aborted) {
    throw new TcError(DeployCode.interrupted, 'cancelled; nodes already started keep running under the supervisor', {
      exit: ExitCode.interrupted,
      hint: 'run `tclouds deploy` again to finish, or `tclouds destroy` to remove what was created',
    });
  }
}
