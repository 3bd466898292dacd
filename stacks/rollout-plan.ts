/**
 * The rule of a rolling update, the same on every target: nodes whose spec changed restart in waves, so a
 * quorum-based component never has more than `maxUnavailable` (default one, never more than its f) of its nodes
 * down, and the next node goes down only after the previous one is healthy and has caught up: decided at least what
 * the rest of its group had decided when it stopped. Storage gateways serve one cloud each and go one at a time.
 *
 * The local target applies it by rewriting spec files and restarting processes (stacks/local/rollout.ts); the cloud
 * targets by asking each VM's node to restart through its control API after `pulumi up` (stacks/pulumi/rollout.ts).
 * Both give this module a `RoleProbe` (a node's GET /health role fields) and a way to wait; the order, the catch-up
 * target and the verdict are computed here, without I/O of its own.
 */
import { kindOf } from '../components/kinds.js';
import type { Plan } from '../components/plan-types.js';
import { TcError } from '../kernel/errors.js';
import { DeployCode } from './codes.js';

/** Default of `deploy --max-unavailable`: one node of a component down at a time. */
export const DEFAULT_MAX_UNAVAILABLE = 1;

/** A node's role fields from GET /health (`lastDecided`...), or undefined when it does not answer. */
export type RoleProbe = (id: string) => Promise<Record<string, unknown> | undefined>;

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

/** The nodes a wave node is compared with: the same component and role, not restarting in this wave. */
export function catchUpPeers(plan: Plan, wave: readonly string[], id: string): string[] {
  for (const c of Object.values(plan.components)) {
    const node = c.nodes.find((n) => n.id === id);
    if (node) return c.nodes.filter((n) => !wave.includes(n.id) && n.role === node.role).map((n) => n.id);
  }
  return [];
}

/**
 * What a restarted node must have decided: the kind's agreement over its peers that answered, or null when the
 * kind reports no decisions (storage, MapReduce workers): then healthy is caught up.
 */
export function catchUpTarget(plan: Plan, id: string, peerRoles: readonly Record<string, unknown>[]): number | null {
  const component = Object.values(plan.components).find((c) => c.nodes.some((n) => n.id === id));
  const status = component ? kindOf(component.kind)?.status : undefined;
  if (!status) return null;
  return status.agreement([...peerRoles]).lastDecided;
}

/** Whether a node's role fields show it has caught up with `target`. */
export function caughtUp(target: number | null, role: Record<string, unknown> | undefined): boolean {
  if (target === null || target < 0) return true;
  const seen = role?.lastDecided;
  return typeof seen === 'number' && seen >= target;
}

/** The catch-up target of every node of a wave, read from its peers before the wave goes down. */
export async function catchUpTargets(
  plan: Plan,
  wave: readonly string[],
  probe: RoleProbe,
): Promise<Map<string, number | null>> {
  const targets = new Map<string, number | null>();
  for (const id of wave) {
    const roles = await Promise.all(catchUpPeers(plan, wave, id).map((p) => probe(p)));
    const up = roles.filter((r): r is Record<string, unknown> => r !== undefined);
    targets.set(id, catchUpTarget(plan, id, up));
  }
  return targets;
}

/** How the health gate waits: the deadline, the pause between looks, and a check for Ctrl-C. */
export interface GateTiming {
  timeoutMs: number;
  pollMs: number;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Throws when the operation was cancelled. */
  checkAborted(): void;
}

/** Wait until a restarted node reports `lastDecided` >= target; TC318 when it does not in time. */
export async function waitCaughtUp(
  id: string,
  target: number | null,
  probe: RoleProbe,
  timing: GateTiming,
): Promise<void> {
  if (target === null || target < 0) return;
  const deadline = timing.now() + timing.timeoutMs;
  let seen: unknown = 'no answer';
  while (timing.now() < deadline) {
    timing.checkAborted();
    const role = await probe(id);
    seen = role?.lastDecided ?? seen;
    if (caughtUp(target, role)) return;
    await timing.sleep(timing.pollMs);
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
