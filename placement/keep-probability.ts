/**
 * The advisor's exact keepProbability(layout, model, attacks), loaded on demand: status and chaos need it only for
 * their figures, and a command that does not show them should not pay for loading the advisor.
 */
import type { FaultModel } from './majority.js';

export type KeepProbability = (layout: number[], model: FaultModel, attacks: number) => number;

let cached: Promise<KeepProbability | null> | undefined;

/** The advisor's exact keepProbability, or null when the placement module cannot be loaded. */
export function loadKeepProbability(): Promise<KeepProbability | null> {
  cached ??= import('./index.js').then(
    (mod) => (layout: number[], model: FaultModel, attacks: number) => mod.keepProbability(layout, model, attacks),
    () => null,
  );
  return cached;
}
