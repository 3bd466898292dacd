/**
 * Rolling updates on the local target: a deploy that changes the spec of running nodes restarts them in waves, so
 * a quorum-based component never has more than `maxUnavailable` (default one, never more than its f) of its nodes
 * down for the update, and the next node goes down only after the previous one is healthy and has caught up:
 * decided at least what its group had decided when it stopped. Storage gateways serve one cloud each and go one at
 * a time. Nodes that are new or not running start at once: starting them takes nothing down.
 *
 * `rolloutWaves` is pure; the waiting is done with the node's GET /health (the role fields the status model reads).
 */
import { kindOf } from '../../components/kinds.js';
import type { Plan } from '../../components/plan-types.js';
import { TcError } from '../../kernel/errors.js';
import { DeployCode } from '../codes.js';
import type { RealizeContext } from '../realizer.js';
import { sleep } from './control.js';
import { aborted } from './design.js';
import { probeHealth } from './health.js';
import type { LocalState } from './state.js';

type NodeState = LocalState['nodes'][string];

/** Default of `deploy --max-unavailable`: one node of a component down at a time. */
export const DEFAULT_MAX_UNAVAILABLE = 1;

/** How long a restarted node may take to decide what its group had decided when it stopped. */
export const CATCH_UP_TIMEOUT_MS = Number(process.env.TCLOUDS_CATCH_UP_TIMEOUT_MS ?? 60_000);

/** Between two looks at a restarting node's progress. */
const CATCH_UP_POLL_MS = 100;

/** Timeout of one /health probe while rolling. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * The waves in which `rolling` nodes (running nodes whose spec changed) restart: per component, chunks of at most
 * min(maxUnavailable, f) nodes (at least one), one node per wave for kinds whose quorum counts clouds (storage
 * gateways); wave i restarts chunk i of every component, since components do not share a quorum.
 */
export function rolloutWaves(plan: Plan, rolling: readonly string[], maxUnavailable: number): string[][] {
  const byComponent = new Map<string, string[][]>();
  for (const [name, c] of Object.entries(plan.components)) {
    const ids = c.nodes.map((n) => n.id).filter((id) => rolling.includes(id));
    if (ids.length === 0) continue;
    const perCloud = kindOf(c.kind)?.status.unit === 'cloud';
    const size = perCloud ? 1 : Math.max(1, Math.min(maxUnavailable, c.f));
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += size) chunks.push(ids.slice(i, i + size));
    byComponent.set(name, chunks);
  }
  const waves: string[][] = [];
  for (const chunks of byComponent.values()) {
    chunks.forEach((chunk, i) => {
      waves[i] = [...(waves[i] ?? []), ...chunk];
    });
  }
  return waves;
}

/**
 * What the rest of each wave node's component has decided now (the kind's agreement over the up nodes that stay
 * up), or null when the kind reports no decisions (storage, MapReduce workers): then healthy is caught up.
 */
export async function catchUpTargets(
  plan: Plan,
  nodes: Readonly<Record<string, NodeState>>,
  wave: readonly string[],
): Promise<Map<string, number | null>> {
  const targets = new Map<string, number | null>();
  for (const id of wave) {
    const node = nodes[id];
    const component = node ? plan.components[node.component] : undefined;
    const status = component ? kindOf(component.kind)?.status : undefined;
    if (!node || !component || !status) {
      targets.set(id, null);
      continue;
    }
    const others = component.nodes.filter((n) => !wave.includes(n.id) && n.role === node.role);
    const roles = await Promise.all(others.map((n) => roleFields(nodes[n.id])));
    const up = roles.filter((r): r is Record<string, unknown> => r !== undefined);
    targets.set(id, status.agreement(up).lastDecided);
  }
  return targets;
}

/** Wait until a restarted node reports `lastDecided` >= target; TC318 when it does not in time. */
export async function waitCaughtUp(ctx: RealizeContext, id: string, node: NodeState, target: number | null) {
  if (target === null || target < 0) return;
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
  let seen: unknown = 'no answer';
  while (Date.now() < deadline) {
    aborted(ctx);
    const role = await roleFields(node);
    seen = role?.lastDecided ?? seen;
    if (typeof seen === 'number' && seen >= target) return;
    await sleep(CATCH_UP_POLL_MS);
  }
  throw new TcError(
    DeployCode.rolloutStopped,
    `rollout stopped: ${id} restarted but has not caught up (decided ${seen}, its group had decided ${target})`,
    { hint: rolloutHint() },
  );
}

/** What a user does after a stopped rollout: the nodes not yet restarted still run, and serve. */
export function rolloutHint(): string {
  return (
    'the nodes not yet restarted run their previous spec and the group keeps serving; fix the cause and run ' +
    '`tclouds deploy` again to resume (restarted nodes stay as they are), or restore the previous topology and ' +
    'deploy it to roll back'
  );
}

async function roleFields(node: NodeState | undefined): Promise<Record<string, unknown> | undefined> {
  if (!node) return undefined;
  const probe = await probeHealth(node.host, node.controlPort, PROBE_TIMEOUT_MS);
  const role = probe.ok ? probe.body?.role : undefined;
  return typeof role === 'object' && role !== null ? (role as Record<string, unknown>) : undefined;
}
