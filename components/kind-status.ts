/**
 * Status hooks that several kinds share (components/kind.ts `KindStatus`): number reading, the default quorum of a
 * replicated service.
 */
import type { Agreement, KindStatus } from './kind.js';

/** A finite number, or null for anything else (role fields come from other processes). */
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * A consensus instance number as people read it: replicas report -1 before their first decision, which reads as
 * a bug; say "none yet". Anything that is not a number (an old node, a garbled field) reads "?".
 */
export function decidedText(v: unknown): string {
  const d = num(v);
  return d === null ? '?' : d < 0 ? 'none yet' : String(d);
}

/** The value most entries agree on (ties: the smaller value), or null. */
export function mostCommon(values: readonly number[]): number | null {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: number | null = null;
  for (const [v, c] of counts) {
    const bc = best === null ? -1 : counts.get(best)!;
    if (c > bc || (c === bc && best !== null && v < best)) best = v;
  }
  return best;
}

/** The highest `lastDecided` the nodes report, with no leader or regency (kinds without a leader). */
export function lastDecidedOnly(roles: readonly Readonly<Record<string, unknown>>[]): Agreement {
  const decided = roles.flatMap((r) => num(r.lastDecided) ?? []);
  return { leader: null, regency: null, lastDecided: decided.length > 0 ? Math.max(...decided) : null };
}

/** A component of n nodes tolerating f faults needs n - f of them (f from its client configuration, else 0). */
export const replicatedServiceStatus: KindStatus = {
  unit: 'node',
  quorum(client, units) {
    const n = num(client.n) ?? units;
    const f = num(client.f) ?? 0;
    return { n, f, quorum: Math.max(1, n - f) };
  },
  keyMetric: () => '',
  agreement: lastDecidedOnly,
};
