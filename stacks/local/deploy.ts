/**
 * `deploy --target local`, in the order a reader would do it by hand: directories and buckets, keys, node specs,
 * the state file, then the nodes (started and restarted by the supervisor; deploy waits until each one it started
 * is healthy), then the outputs.
 *
 * Idempotent: keys are created once and kept, spec files are rewritten only when their content changes, nodes
 * whose spec is unchanged keep running, and a deploy with nothing to change reports 0 changes without touching
 * outputs.json.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { allNodes, planDigest } from '../../components/plan.js';
import type { Plan } from '../../components/plan-types.js';
import { writeJsonAtomic } from '../../kernel/atomic-file.js';
import { TcError } from '../../kernel/errors.js';
import { ensureAdminToken } from '../../runtime/keys.js';
import type { DeploymentOutputs, NodeSpec } from '../../runtime/node-spec.js';
import { DEPLOYMENT_STATE_UNREADABLE } from '../../runtime/outputs-file.js';
import { DeployCode } from '../codes.js';
import { ensurePlannedKey, ensureSigningKey, hasSigningKey } from '../plan-keys.js';
import type { RealizeContext } from '../realizer.js';
import { checkPortFree } from './addresses.js';
import { ensureSupervisor, isSupervisor, sleep, stopAll } from './control.js';
import { aborted, design, emit, type LocalDesign, unsupported, unsupportedError } from './design.js';
import { KEPT_FILE, readKept } from './destroy.js';
import { probeHealth } from './health.js';
import { acquireLock } from './lock.js';
import { packageRoot, stackPaths } from './paths.js';
import { catchUpTargets, DEFAULT_MAX_UNAVAILABLE, rolloutHint, rolloutWaves, waitCaughtUp } from './rollout.js';
import { buildOutputs, buildSpecs, readOutputs, specHash, writeFileIfChanged } from './specs.js';
import {
  LOCAL_STATE_VERSION,
  type LocalState,
  readState,
  readSupervisorStatus,
  type SupervisorStatus,
  writeState,
} from './state.js';
import { rebuildState } from './state-rebuild.js';

/** How long a started node may take to answer GET /health with status ok. */
const HEALTH_TIMEOUT_MS = Number(process.env.TCLOUDS_HEALTH_TIMEOUT_MS ?? 30_000);

type NodeState = LocalState['nodes'][string];

/** What one deploy has learned so far, passed from step to step. */
interface Deploying {
  plan: Plan;
  ctx: RealizeContext;
  design: LocalDesign;
  /** planDigest(plan): recorded in state.json and outputs.json. */
  digest: string;
  /** state.json of the previous deploy, if any. */
  old: LocalState | null;
  /** Changes made so far (the deploy's result counts them). */
  changes: number;
}

export async function deployLocal(
  plan: Plan,
  ctx: RealizeContext,
): Promise<{ outputs: DeploymentOutputs; changes: number }> {
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
    const old = await readState(ctx.stackDir).catch((e: unknown) => rebuildDamagedState(e, plan, ctx));
    return await deployLocked({ plan, ctx, design: d, digest: planDigest(plan), old, changes: 0 }, fresh);
  } finally {
    await lock.release();
  }
}

/**
 * A damaged state.json (TC501) must not strand a deployment whose nodes all run: rebuild it from the node specs on
 * disk, say so, and deploy as usual. Any other problem (another release's state) stays an error.
 */
async function rebuildDamagedState(e: unknown, plan: Plan, ctx: RealizeContext): Promise<LocalState> {
  if (!(e instanceof TcError) || e.code !== DEPLOYMENT_STATE_UNREADABLE) throw e;
  const { state, skipped } = await rebuildState(ctx.stackDir, plan.stack, ctx.topologyFile);
  const kept = Object.keys(state.nodes).length;
  const message =
    `${e.message.replace(/^deployment state unreadable: /, '')}: rebuilt it from ${kept} node spec(s)` +
    `${skipped.length > 0 ? `, ${skipped.length} unusable (${skipped.join(', ')}: restarted)` : ''}; nodes whose spec is unchanged keep running`;
  emit(ctx, { kind: 'log', id: 'state', state: 'done', message });
  return state;
}

async function deployLocked(run: Deploying, fresh: boolean): Promise<{ outputs: DeploymentOutputs; changes: number }> {
  const { plan, ctx } = run;
  aborted(ctx);
  const externalDirs = await prepareDirectories(run, fresh);
  aborted(ctx);
  const keys = await ensureKeys(run);
  aborted(ctx);
  const specs = await buildSpecs(plan, ctx, run.design, keys.publicKeys, keys.signingKeys);
  const sup = await readSupervisorStatus(ctx.stackDir);
  const supAlive = isSupervisor(sup?.pid, ctx.stackDir);
  await stopOrphans(run, supAlive);
  const { nodes, toStart, rolling } = await writeNodeSpecs(run, specs, sup, supAlive);
  const removed = Object.keys(run.old?.nodes ?? {}).filter((id) => !nodes[id]);
  await checkNewPortsFree(run, nodes, toStart, sup, supAlive);
  aborted(ctx);
  const recorded = await recordState(run, nodes, externalDirs);
  await startNodes(run, nodes, toStart, removed, supAlive);
  await rollOut(run, recorded.state, rolling);
  const stateChanged = recorded.changed || rolling.size > 0;
  // Outputs: rewritten only when something changed (or they are missing), so "nothing to do" touches nothing.
  const digest = run.digest;
  const existing = await readOutputs(ctx.stackDir).catch(() => null);
  if (run.changes > 0 || stateChanged || !existing || existing.planDigest !== digest) {
    const outputs = buildOutputs(plan, ctx, run.design, specs, keys.publicKeys, keys.signingKeys, digest);
    await writeJsonAtomic(stackPaths(ctx.stackDir).outputs, outputs);
    return { outputs, changes: run.changes };
  }
  return { outputs: existing, changes: run.changes };
}

/**
 * The stack directory, its keys directory (0700) and one directory per bucket. Returns the directories outside the
 * stack directory that this deployment created (a local cloud's `path:` and its missing parents), recorded so
 * destroy can remove them again, and only when empty: they might hold someone else's files by then.
 */
async function prepareDirectories(run: Deploying, fresh: boolean): Promise<string[]> {
  const { ctx } = run;
  const p = stackPaths(ctx.stackDir);
  const externalDirs = new Set([...(run.old?.externalDirs ?? []), ...(await readKept(ctx.stackDir))]);
  for (const dir of run.design.externalClouds) {
    for (let x = dir; !existsSync(x) && path.dirname(x) !== x; x = path.dirname(x)) externalDirs.add(x);
  }
  if (fresh) {
    run.changes++;
    const id = path.relative(path.dirname(ctx.topologyFile), ctx.stackDir);
    emit(ctx, { kind: 'resource', id, type: 'local:directory', state: 'done', op: 'create', elapsedMs: 0 });
  }
  await fs.mkdir(ctx.stackDir, { recursive: true, mode: 0o755 });
  await fs.mkdir(p.keys, { recursive: true, mode: 0o700 });
  await fs.chmod(p.keys, 0o700);
  for (const b of run.design.buckets) {
    const t0 = Date.now();
    const id = `${b.component}/${b.cloud}`;
    if (existsSync(b.path)) {
      emit(ctx, { kind: 'resource', id, type: 'local:bucket', state: 'unchanged', op: 'same', elapsedMs: 0 });
      continue;
    }
    await fs.mkdir(b.path, { recursive: true, mode: 0o755 });
    run.changes++;
    emit(ctx, { kind: 'resource', id, type: 'local:bucket', state: 'done', op: 'create', elapsedMs: Date.now() - t0 });
  }
  return [...externalDirs];
}

/**
 * Keys: created once, kept across deploys (peers and clients know the public keys). SMR clients get a second,
 * Ed25519 key for signing requests; its public key goes to the replicas' specs (clientSigners).
 */
async function ensureKeys(
  run: Deploying,
): Promise<{ publicKeys: Map<string, string>; signingKeys: Map<string, string> }> {
  const { ctx } = run;
  const publicKeys = new Map<string, string>();
  const signingKeys = new Map<string, string>();
  /** Reads or creates one key; a created key is a change, shown as a resource event. Returns its public key. */
  const keyStep = async (id: string, ensure: () => Promise<{ publicKey: string; created: boolean }>) => {
    const t0 = Date.now();
    const { publicKey, created } = await ensure();
    if (created) {
      run.changes++;
      emit(ctx, { kind: 'resource', id, type: 'local:key', state: 'done', op: 'create', elapsedMs: Date.now() - t0 });
    }
    return publicKey;
  };
  for (const c of Object.values(run.plan.components)) {
    for (const k of c.keys) {
      publicKeys.set(k.id, await keyStep(k.id, () => ensurePlannedKey(ctx.stackDir, k)));
      if (hasSigningKey(k, c.kind)) {
        signingKeys.set(k.id, await keyStep(`${k.id}.sign`, () => ensureSigningKey(ctx.stackDir, k)));
      }
    }
  }
  await ensureAdminToken(stackPaths(ctx.stackDir).adminToken);
  return { publicKeys, signingKeys };
}

/**
 * Node processes without a live supervisor (it was killed) are orphans nobody restarts: stop them, so the new
 * supervisor can start the nodes afresh on their addresses.
 */
async function stopOrphans(run: Deploying, supAlive: boolean): Promise<void> {
  if (supAlive || !run.old) return;
  const orphans = await stopAll(run.ctx.stackDir);
  if (orphans.length > 0) {
    const message = `stopped ${orphans.length} unsupervised node process(es)`;
    emit(run.ctx, { kind: 'log', id: 'orphans', state: 'done', message });
  }
}

/** A running node whose spec changed: restarted by the rollout, in its wave, not at once. */
interface Rolling {
  /** Its spec file's new text, written when its wave comes (the supervisor restarts from the file). */
  specText: string;
  /** Its state once restarted; until then state.json keeps the one it runs with. */
  next: NodeState;
}

/**
 * Every node's data directory and spec file; which nodes must (re)start at once: those that are new, do not run, or
 * that chaos holds down or paused (a deploy clears chaos: they run again). Running nodes whose spec changed are
 * returned in `rolling` instead, keeping their current state and spec file until the rollout restarts them.
 */
async function writeNodeSpecs(
  run: Deploying,
  specs: Map<string, NodeSpec>,
  sup: SupervisorStatus | null,
  supAlive: boolean,
): Promise<{ nodes: Record<string, NodeState>; toStart: string[]; rolling: Map<string, Rolling> }> {
  const { ctx } = run;
  const p = stackPaths(ctx.stackDir);
  const nodes: Record<string, NodeState> = {};
  const toStart: string[] = [];
  const rolling = new Map<string, Rolling>();
  for (const n of allNodes(run.plan)) {
    const spec = specs.get(n.id) as NodeSpec;
    const hash = specHash(spec);
    const before = run.old?.nodes[n.id];
    const running = Boolean(supAlive && sup?.nodes[n.id]?.pid);
    const runningNow = running && sup?.nodes[n.id]?.specHash === hash;
    const held = existsSync(p.hold(n.id)) || existsSync(p.paused(n.id));
    await fs.mkdir(p.dataDir(n.id), { recursive: true, mode: 0o700 });
    const specText = `${JSON.stringify(spec, null, 2)}\n`;
    const next: NodeState = {
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
      await writeFileIfChanged(p.spec(n.id), specText);
      nodes[n.id] = next;
      emit(ctx, { kind: 'node', id: n.id, type: 'local:process', state: 'unchanged', op: 'same', elapsedMs: 0 });
      continue;
    }
    const message = `${spec.host}:${spec.controlPort}`;
    if (before && running && !held && before.specHash !== hash) {
      nodes[n.id] = before;
      rolling.set(n.id, { specText, next });
      emit(ctx, { kind: 'node', id: n.id, type: 'local:process', state: 'pending', op: 'update', message });
      continue;
    }
    await writeFileIfChanged(p.spec(n.id), specText);
    nodes[n.id] = next;
    await releaseChaos(ctx.stackDir, n.id, sup);
    toStart.push(n.id);
    emit(ctx, {
      kind: 'node',
      id: n.id,
      type: 'local:process',
      state: 'pending',
      op: before ? 'update' : 'create',
      message,
    });
  }
  return { nodes, toStart, rolling };
}

/** A deploy clears chaos: a held-down node may start again, a paused one is continued. */
async function releaseChaos(stackDir: string, id: string, sup: SupervisorStatus | null): Promise<void> {
  const p = stackPaths(stackDir);
  await fs.rm(p.hold(id), { force: true });
  if (!existsSync(p.paused(id))) return;
  await fs.rm(p.paused(id), { force: true });
  const pid = sup?.nodes[id]?.pid;
  if (pid) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {}
  }
}

/** Ports of nodes that are new (or moved) must be free now; ports of our own running nodes are theirs. */
async function checkNewPortsFree(
  run: Deploying,
  nodes: Record<string, NodeState>,
  toStart: readonly string[],
  sup: SupervisorStatus | null,
  supAlive: boolean,
): Promise<void> {
  for (const id of toStart) {
    const n = nodes[id];
    const prev = run.old?.nodes[id];
    if (!n || (supAlive && prev && prev.host === n.host && sup?.nodes[id]?.pid)) continue;
    for (const [name, port] of [...Object.entries(n.ports), ['control', n.controlPort] as const]) {
      await checkPortFree(n.host, port, `node ${id} (${name})`);
    }
  }
}

/** state.json, the supervisor's desired state; written only when it changed. Returns it and whether it did. */
async function recordState(
  run: Deploying,
  nodes: Record<string, NodeState>,
  externalDirs: string[],
): Promise<{ state: LocalState; changed: boolean }> {
  const { plan, ctx, old } = run;
  const state: LocalState = {
    version: LOCAL_STATE_VERSION,
    stack: plan.stack,
    topologyFile: ctx.topologyFile,
    planDigest: run.digest,
    nodes,
    // Buckets of components that left the topology keep their data until destroy, which deletes them.
    buckets: [
      ...run.design.buckets,
      ...(old?.buckets ?? []).filter((b) => !run.design.buckets.some((n) => n.path === b.path) && existsSync(b.path)),
    ],
    externalDirs,
  };
  const changed = JSON.stringify(old) !== JSON.stringify(state);
  if (changed) await writeState(ctx.stackDir, state);
  await fs.rm(path.join(ctx.stackDir, KEPT_FILE), { force: true });
  return { state, changed };
}

/**
 * Restart the running nodes whose spec changed, wave by wave (rollout.ts): write their spec files and their new
 * state, wait until each is healthy and has caught up with its group, then the next wave. A node that fails stops
 * the rollout with TC318; the nodes not yet restarted keep their previous spec and keep serving.
 */
async function rollOut(run: Deploying, state: LocalState, rolling: ReadonlyMap<string, Rolling>): Promise<void> {
  const { ctx, plan } = run;
  const waves = rolloutWaves(plan, [...rolling.keys()], ctx.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE);
  for (const [i, wave] of waves.entries()) {
    aborted(ctx);
    const targets = await catchUpTargets(plan, state.nodes, wave);
    for (const id of wave) {
      const r = rolling.get(id) as Rolling;
      await writeFileIfChanged(r.next.specFile, r.specText);
      state.nodes[id] = r.next;
    }
    await writeState(ctx.stackDir, state);
    const started = Date.now();
    const message = `rolling update, wave ${i + 1} of ${waves.length}`;
    await Promise.all(
      wave.map(async (id) => {
        const n = state.nodes[id] as NodeState;
        emit(ctx, { kind: 'node', id, type: 'local:process', state: 'running', message });
        await waitHealthy(ctx, id, n, started).catch((e: unknown) => {
          if (!(e instanceof TcError) || e.code !== DeployCode.nodeUnhealthy) throw e;
          throw new TcError(DeployCode.rolloutStopped, `rollout stopped: ${e.message}`, {
            hint: `${e.hint ?? ''}\n${rolloutHint()}`,
          });
        });
        await waitCaughtUp(ctx, id, n, targets.get(id) ?? null);
        run.changes++;
        emit(ctx, {
          kind: 'node',
          id,
          type: 'local:process',
          state: 'done',
          op: 'update',
          message,
          elapsedMs: Date.now() - started,
        });
      }),
    );
  }
}

/** The supervisor starts, restarts and stops the nodes; we wait until each node we started is healthy. */
async function startNodes(
  run: Deploying,
  nodes: Record<string, NodeState>,
  toStart: readonly string[],
  removed: readonly string[],
  supAlive: boolean,
): Promise<void> {
  const { ctx, old } = run;
  const started = Date.now();
  if (toStart.length > 0 || removed.length > 0) {
    if (Object.keys(nodes).length > 0) await ensureSupervisor(ctx.stackDir);
    else if (supAlive) await stopAll(ctx.stackDir);
    for (const id of removed) {
      run.changes++;
      emit(ctx, { kind: 'node', id, type: 'local:process', state: 'deleted', op: 'delete' });
    }
  } else if (Object.keys(nodes).length > 0 && !supAlive) {
    await ensureSupervisor(ctx.stackDir);
  }
  await Promise.all(
    toStart.map(async (id) => {
      const n = nodes[id] as NodeState;
      emit(ctx, { kind: 'node', id, type: 'local:process', state: 'running', message: `${n.host}:${n.controlPort}` });
      await waitHealthy(ctx, id, n, started);
      run.changes++;
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
}

async function waitHealthy(ctx: RealizeContext, id: string, n: NodeState, since: number): Promise<void> {
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
