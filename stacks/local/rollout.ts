/**
 * Rolling updates on the local target: a deploy that changes the spec of running nodes restarts them in waves
 * (the rule and its order are stacks/rollout-plan.ts, shared with the cloud targets), so a quorum-based component
 * never has more than `maxUnavailable` (default one, never more than its f) of its nodes down for the update, and
 * the next node goes down only after the previous one is healthy and has caught up. Nodes that are new or not
 * running start at once: starting them takes nothing down.
 *
 * This module gives the shared rule its local I/O: a node's GET /health on its loopback control port.
 */
import type { Plan } from '../../components/plan-types.js';
import type { RealizeContext } from '../realizer.js';
import { catchUpTargets as planCatchUpTargets, type RoleProbe, waitCaughtUp as waitGate } from '../rollout-plan.js';
import { sleep } from './control.js';
import { aborted } from './design.js';
import { probeHealth } from './health.js';
import type { LocalState } from './state.js';

export { DEFAULT_MAX_UNAVAILABLE, rolloutHint, rolloutWaves } from '../rollout-plan.js';

type NodeState = LocalState['nodes'][string];

/** How long a restarted node may take to decide what its group had decided when it stopped. */
export const CATCH_UP_TIMEOUT_MS = Number(process.env.TCLOUDS_CATCH_UP_TIMEOUT_MS ?? 60_000);

/** Between two looks at a restarting node's progress. */
const CATCH_UP_POLL_MS = 100;

/** Timeout of one /health probe while rolling. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * What the rest of each wave node's component has decided now (the kind's agreement over the up nodes that stay
 * up), or null when the kind reports no decisions (storage, MapReduce workers): then healthy is caught up.
 */
export function catchUpTargets(
  plan: Plan,
  nodes: Readonly<Record<string, NodeState>>,
  wave: readonly string[],
): Promise<Map<string, number | null>> {
  return planCatchUpTargets(plan, wave, localProbe(nodes));
}

/** Wait until a restarted node reports `lastDecided` >= target; TC318 when it does not in time. */
export async function waitCaughtUp(ctx: RealizeContext, id: string, node: NodeState, target: number | null) {
  await waitGate(id, target, localProbe({ [id]: node }), {
    timeoutMs: CATCH_UP_TIMEOUT_MS,
    pollMs: CATCH_UP_POLL_MS,
    now: Date.now,
    sleep,
    checkAborted: () => aborted(ctx),
  });
}

function localProbe(nodes: Readonly<Record<string, NodeState>>): RoleProbe {
  return async (id) => {
    const node = nodes[id];
    if (!node) return undefined;
    const probe = await probeHealth(node.host, node.controlPort, PROBE_TIMEOUT_MS);
    const role = probe.ok ? probe.body?.role : undefined;
    return typeof role === 'object' && role !== null ? (role as Record<string, unknown>) : undefined;
  };
}
