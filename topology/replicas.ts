/**
 * How many nodes (or clouds) a component needs and how they are spread over its clouds.
 *
 * One source of truth: the semantic checks (semantics.ts), the component plans and the placement
 * advisor all count replicas with these functions, so a rule and the deployment it guards cannot drift.
 */
import type { Component } from './schema.js';

/** Smallest group that tolerates f faults: 3f+1 for Byzantine faults, 2f+1 for crash faults. */
export function quorumGroupSize(faults: 'byzantine' | 'crash', f: number): number {
  return faults === 'byzantine' ? 3 * f + 1 : 2 * f + 1;
}

/**
 * Number of replicas (nodes, or clouds for storage) of a component:
 * - storage: one per listed cloud (DepSky writes to every cloud; n = clouds.length);
 * - smr: `replicas` when given, else 3f+1 (byzantine) or 2f+1 (crash);
 * - log: 3f+1 (the log is a Byzantine-tolerant replicated service);
 * - workflow: 3f+1 (byzantine) or 2f+1 (crash);
 * - mapreduce: the worker count.
 */
export function replicaCount(c: Component): number {
  switch (c.kind) {
    case 'storage':
      return c.clouds.length;
    case 'smr':
      return c.replicas ?? quorumGroupSize(c.faults, c.f);
    case 'log':
      return quorumGroupSize('byzantine', c.f);
    case 'workflow':
      return quorumGroupSize(c.faults, c.f);
    case 'mapreduce':
      return c.workers;
  }
}

/**
 * Spread `count` replicas over `clouds`: round-robin in list order, so the split is as even as possible
 * and the same input always gives the same result (the first `count % clouds.length` clouds get one more).
 * Only clouds that receive at least one replica appear in the result; keys follow the list order.
 * A cloud listed twice counts once per listing (the semantic checks reject such lists, TC022).
 */
export function spreadOverClouds(count: number, clouds: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  if (clouds.length === 0 || count <= 0) return out;
  for (let i = 0; i < count; i++) {
    const cloud = clouds[i % clouds.length] as string;
    out[cloud] = (out[cloud] ?? 0) + 1;
  }
  return out;
}

/** Components whose correctness rests on a replica group with at most f faulty members. */
export function restsOnReplicaGroup(c: Component): c is Exclude<Component, { kind: 'mapreduce' }> {
  return c.kind !== 'mapreduce';
}
