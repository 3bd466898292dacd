/**
 * The placement advisor as chaos and status use it: keepProbability(layout, model, attacks) from
 * placement/index.ts. Loaded lazily (dynamic import), so commands pay for it only when they need figures.
 */
import type { FaultModel } from './draw.js';

export type KeepProbability = (layout: number[], model: FaultModel, attacks: number) => number;

let cached: Promise<KeepProbability | null> | undefined;

/** The advisor's exact keepProbability, or null when the placement module cannot be loaded. */
export function loadKeepProbability(): Promise<KeepProbability | null> {
  cached ??= import('../placement/index.js').then(
    (mod) => (layout: number[], model: FaultModel, attacks: number) => mod.keepProbability(layout, model, attacks),
    () => null,
  );
  return cached;
}
