/**
 * Rolling updates on the clouds. A node reads its spec (from the provider's secret store) at every start, so a spec
 * change updates a secret and never replaces the VM; what makes the node use the new spec is a restart, and the
 * restarts are driven from here after `pulumi up`, by the rule of stacks/rollout-plan.ts (the one the local target
 * applies): at most min(maxUnavailable, f) nodes of a component at a time (storage gateways one at a time), each
 * asked through its control API (`POST /admin/restart` with its admin token), then waited on until it answers
 * GET /health as a new process and has decided what the rest of its group had decided when it went down. A node
 * that does not come back stops the rollout (TC318) with the nodes not yet restarted untouched and serving.
 *
 * The driver only needs each node's control address and admin token, so it runs the same against a local
 * deployment's nodes (test/pulumi/rollout.test.ts) as against VMs.
 */
import type { Plan } from '../../components/plan-types.js';
import { ExitCode, isTcError, TcError } from '../../kernel/errors.js';
import { type ControlEndpoint, controlRequest } from '../../runtime/control-client.js';
import { DeployCode } from '../codes.js';
import { type HealthProbe, probeEndpoint } from '../local/health.js';
import type { DeployEvent } from '../realizer.js';
import {
  catchUpTargets,
  DEFAULT_MAX_UNAVAILABLE,
  type GateTiming,
  type RoleProbe,
  rolloutHint,
  rolloutWaves,
  waitCaughtUp,
} from '../rollout-plan.js';

/**
 * How to reach one node's control API: its address, its pinned certificate (cloud nodes: TLS, the token never in
 * clear) and its own admin bearer token, which is never logged.
 */
export interface RolloutNode extends ControlEndpoint {
  token: string;
}

export interface CloudRolloutOptions {
  maxUnavailable?: number;
  signal: AbortSignal;
  onEvent(e: DeployEvent): void;
  /** How long a node may take from the restart request to answering as a new, healthy process. */
  restartTimeoutMs?: number;
  /** How long a restarted node may take to catch up with its group. */
  catchUpTimeoutMs?: number;
}

/** A VM's node restarts in seconds; a slow disk or a large state to reload can take longer. */
export const RESTART_TIMEOUT_MS = 120_000;
export const CATCH_UP_TIMEOUT_MS = 120_000;
/** Between two looks at a restarting node. */
const POLL_MS = 100;
/** One control API request (health probe or restart request). */
const REQUEST_TIMEOUT_MS = 5000;

/** Which nodes need a restart: those whose spec digest differs from the one they last started with. */
export function changedNodes(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): string[] {
  return Object.keys(after)
    .filter((id) => before[id] !== undefined && before[id] !== after[id])
    .sort();
}

/** Restart `changed` nodes wave by wave; returns the waves it ran. */
export async function rollCloudNodes(
  plan: Plan,
  nodes: Readonly<Record<string, RolloutNode>>,
  changed: readonly string[],
  opts: CloudRolloutOptions,
): Promise<{ waves: string[][] }> {
  const waves = rolloutWaves(plan, changed, opts.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE);
  const probe = roleProbe(nodes);
  for (const wave of waves) {
    checkAborted(opts.signal);
    await requireRestHealthy(plan, nodes, wave);
    const targets = await catchUpTargets(plan, wave, probe);
    await Promise.all(wave.map((id) => restartOne(nodeOf(nodes, id), targets.get(id) ?? null, probe, opts)));
  }
  return { waves };
}

/**
 * Before a wave goes down, every other node of its components must answer healthy: a wave is sized for a group that
 * is whole, and restarting it beside a node that is already down would take more than f of the group away.
 */
async function requireRestHealthy(
  plan: Plan,
  nodes: Readonly<Record<string, RolloutNode>>,
  wave: readonly string[],
): Promise<void> {
  const inWave = new Set(wave);
  const components = new Set(wave.map((id) => plan.components[componentOf(plan, id)]!));
  const rest = [...components].flatMap((c) => c.nodes.filter((n) => !inWave.has(n.id)).map((n) => n.id));
  const probes = await Promise.all(
    rest.map(async (id) => {
      const n = nodes[id];
      if (!n) return { id, ok: false };
      const p = await probeEndpoint(n, REQUEST_TIMEOUT_MS);
      if (isTcError(p.failure)) throw p.failure; // not the pinned certificate: never "just down"
      return { id, ok: p.ok };
    }),
  );
  const down = probes.filter((p) => !p.ok).map((p) => p.id);
  if (down.length === 0) return;
  throw new TcError(
    DeployCode.rolloutStopped,
    `rollout stopped before restarting ${wave.join(', ')}: ${down.join(', ')} of the same group ${down.length === 1 ? 'is' : 'are'} not healthy, and restarting now could take more than f nodes of the group down`,
    { hint: `bring ${down.join(', ')} back (tclouds status shows why it is down); ${rolloutHint()}` },
  );
}

function componentOf(plan: Plan, nodeId: string): string {
  for (const [name, c] of Object.entries(plan.components)) if (c.nodes.some((n) => n.id === nodeId)) return name;
  throw new TcError(DeployCode.restartRefused, `rollout: node ${nodeId} is not in the plan`, {
    hint: 'run tclouds plan and deploy again: the stack changed since its last deploy',
  });
}

async function restartOne(
  node: RolloutNode,
  target: number | null,
  probe: RoleProbe,
  opts: CloudRolloutOptions,
): Promise<void> {
  const t0 = Date.now();
  const event = (state: DeployEvent['state'], message: string) =>
    opts.onEvent({
      kind: 'node',
      id: node.id,
      type: 'tclouds:rollout',
      state,
      op: 'update',
      message,
      elapsedMs: Date.now() - t0,
    });
  const before = await probeEndpoint(node, REQUEST_TIMEOUT_MS);
  if (!before.ok) throw failureOf(node, before);
  event('running', 'restarting (its spec or software changed)');
  await requestRestart(node);
  const deadline = t0 + (opts.restartTimeoutMs ?? RESTART_TIMEOUT_MS);
  const was = { pid: before.body?.pid, uptime: Number(before.body?.uptimeSeconds ?? Number.POSITIVE_INFINITY) };
  for (;;) {
    checkAborted(opts.signal);
    const now = await probeEndpoint(node, REQUEST_TIMEOUT_MS);
    if (isTcError(now.failure)) throw now.failure;
    const fresh = now.body?.pid !== was.pid || Number(now.body?.uptimeSeconds) < was.uptime;
    if (now.ok && fresh) break;
    if (Date.now() >= deadline) {
      event('failed', 'did not come back healthy');
      throw new TcError(
        DeployCode.rolloutStopped,
        `rollout stopped: ${node.id} was asked to restart and did not come back healthy in ${Math.round((opts.restartTimeoutMs ?? RESTART_TIMEOUT_MS) / 1000)}s`,
        { hint: `look at the node's log on its VM (journalctl -u tclouds-node); ${rolloutHint()}` },
      );
    }
    await sleep(POLL_MS);
  }
  const timing: GateTiming = {
    timeoutMs: opts.catchUpTimeoutMs ?? CATCH_UP_TIMEOUT_MS,
    pollMs: POLL_MS,
    now: Date.now,
    sleep,
    checkAborted: () => checkAborted(opts.signal),
  };
  try {
    await waitCaughtUp(node.id, target, probe, timing);
  } catch (e) {
    event('failed', 'did not catch up');
    throw e;
  }
  event('done', target === null ? 'restarted, healthy' : `restarted, caught up (decided >= ${target})`);
}

function nodeOf(nodes: Readonly<Record<string, RolloutNode>>, id: string): RolloutNode {
  const n = nodes[id];
  if (!n) {
    throw new TcError(DeployCode.restartRefused, `rollout: no control address for node ${id}`, {
      hint: 'the deployment outputs do not list this node; deploy again so they do',
    });
  }
  return n;
}

function roleProbe(nodes: Readonly<Record<string, RolloutNode>>): RoleProbe {
  return async (id) => {
    const n = nodes[id];
    if (!n) return undefined;
    const p = await probeEndpoint(n, REQUEST_TIMEOUT_MS);
    const role = p.ok ? p.body?.role : undefined;
    return typeof role === 'object' && role !== null ? (role as Record<string, unknown>) : undefined;
  };
}

/** Why a node's probe failed: the pin's own TcError (TC324/TC325), else TC323 unreachable. */
function failureOf(node: RolloutNode, p: HealthProbe): TcError {
  if (isTcError(p.failure)) return p.failure;
  return unreachable(node, p.error ?? p.status ?? 'not healthy');
}

function unreachable(node: RolloutNode, why: string): TcError {
  return new TcError(
    DeployCode.restartRefused,
    `rollout: the control API of ${node.id} (${node.host}:${node.controlPort}) does not answer: ${why}`,
    {
      exit: ExitCode.failure,
      hint: `the control port must be reachable from this machine (the topology's clients.cidrs); nothing was restarted in this wave; ${rolloutHint()}`,
    },
  );
}

/** POST /admin/restart with the node's bearer token: 202 expected, anything else is TC323 (a pin failure: TC325). */
async function requestRestart(node: RolloutNode): Promise<void> {
  const res = await controlRequest(node, '/admin/restart', {
    method: 'POST',
    token: node.token,
    timeoutMs: REQUEST_TIMEOUT_MS,
  }).catch((e: unknown) => {
    throw isTcError(e) ? e : unreachable(node, (e as Error).message);
  });
  if (res.status === 202) return;
  throw new TcError(DeployCode.restartRefused, `rollout: ${node.id} refused the restart (HTTP ${res.status})`, {
    hint:
      res.status === 401
        ? "the admin token does not match the node's: redeploy so the secret store and the outputs agree"
        : 'the node software on this VM may be older than this tclouds (no /admin/restart): redeploy it',
  });
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new TcError(DeployCode.interrupted, 'rollout cancelled', {
      exit: ExitCode.interrupted,
      hint: `restarted nodes keep their new spec; ${rolloutHint()}`,
    });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
