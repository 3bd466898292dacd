/**
 * The fault DRAW of `tclouds chaos run`: which VMs / physical machines (PMs) the next k faults of a threat
 * model hit, for one layout (VMs per PM). Pure and seeded, so that the kept-majority rate over many seeded
 * draws can be checked against the placement advisor's exact keepProbability in a unit test: this is what
 * ties the advisor's figures to what chaos actually does to a deployment.
 *
 * The threat semantics are those of the placement paper (shared/seeds/replication-virtualized-clouds-mgc2012)
 * as the placement area defines them:
 * - crash-vm: each fault crashes a VM that has not crashed yet (always distinct). A PM is lost when all its
 *   VMs crashed.
 * - crash-pm, byzantine-pm: each fault hits a uniformly random PM (distinct ones with `removal`); all its VMs
 *   are lost (crashed, or controlled by the attacker).
 * - byzantine-vm: each fault hits a random VM (PM j with probability v_j / v; distinct VMs with `removal`)
 *   and contaminates its whole PM, with every VM on it.
 * - targeted-pm, targeted-vm: the attacker picks the worst target: the clean PM holding the most VMs
 *   (ties: the lowest index). Losing any clean PM costs the same for a PM majority; the heaviest costs most
 *   for a VM majority.
 * Kept: pm-majority needs at least floor(m/2)+1 clean PMs; vm-majority at least floor(v/2)+1 VMs that are
 * neither crashed nor on a lost PM.
 */
import { type FaultModel, majorityKept, vmOwners } from '../placement/majority.js';
import { mulberry32 } from '../placement/simulate.js';

/** A seeded uniform generator in [0, 1): the placement simulation's mulberry32, one PRNG for every seeded draw. */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** Derive an independent 32-bit seed from a user seed and labels (run number, component name): FNV-1a. */
export function deriveSeed(seed: number | string, ...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of [String(seed), ...parts.map(String)].join('\u0000')) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface DrawOutcome {
  /** PM index hit by each fault, in order (-1 when nothing was left to hit). */
  hits: number[];
  /** VM index hit by each fault for VM-level threats (crash-vm, byzantine-vm), else null. */
  vmHits: number[] | null;
  /** PMs lost (crashed or contaminated), sorted. */
  lostPms: number[];
  /** VMs lost (crashed, or on a lost PM), sorted. */
  lostVms: number[];
  /** Clean PMs and good VMs left after the faults. */
  cleanPms: number;
  goodVms: number;
  /** Whether the majority named by `keep` survived. */
  kept: boolean;
}

function pickIndex(random: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

/**
 * Draw `faults` faults of `model.threat` on `layout` (positive VM counts per PM) with `random`.
 * Deterministic for a given generator state. Faults beyond what can still be hit (e.g. more crash-vm faults
 * than VMs) hit nothing and are recorded as -1.
 */
export function drawFaults(
  layout: readonly number[],
  model: FaultModel,
  faults: number,
  random: () => number,
): DrawOutcome {
  if (!Number.isInteger(faults) || faults < 0) throw new RangeError('faults must be a non-negative integer');
  if (layout.length === 0 || layout.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new RangeError('layout must be a non-empty list of positive integers');
  }
  const owners = vmOwners(layout);
  const m = layout.length;
  const lostPms = new Set<number>();
  const crashedVms = new Set<number>();
  const hits: number[] = [];
  const vmLevel = model.threat === 'crash-vm' || model.threat === 'byzantine-vm';
  const vmHits: number[] | null = vmLevel ? [] : null;
  // Pools for draws without replacement: swap-remove keeps each pick O(1) and uniform.
  const vmPool = owners.map((_, i) => i);
  const pmPool = layout.map((_, i) => i);
  const takeFrom = (pool: number[]): number => {
    const i = pickIndex(random, pool.length);
    const picked = pool[i]!;
    pool[i] = pool[pool.length - 1]!;
    pool.pop();
    return picked;
  };

  for (let k = 0; k < faults; k++) {
    switch (model.threat) {
      case 'crash-vm': {
        // Always a VM that has not crashed yet: the pool only holds live VMs.
        if (vmPool.length === 0) {
          hits.push(-1);
          vmHits!.push(-1);
          break;
        }
        const vm = takeFrom(vmPool);
        crashedVms.add(vm);
        const pm = owners[vm]!;
        hits.push(pm);
        vmHits!.push(vm);
        break;
      }
      case 'byzantine-vm': {
        let vm: number;
        if (model.removal) {
          if (vmPool.length === 0) {
            hits.push(-1);
            vmHits!.push(-1);
            break;
          }
          vm = takeFrom(vmPool);
        } else {
          vm = pickIndex(random, owners.length);
        }
        const pm = owners[vm]!;
        lostPms.add(pm);
        hits.push(pm);
        vmHits!.push(vm);
        break;
      }
      case 'crash-pm':
      case 'byzantine-pm': {
        let pm: number;
        if (model.removal) {
          if (pmPool.length === 0) {
            hits.push(-1);
            break;
          }
          pm = takeFrom(pmPool);
        } else {
          pm = pickIndex(random, m);
        }
        lostPms.add(pm);
        hits.push(pm);
        break;
      }
      case 'targeted-pm':
      case 'targeted-vm': {
        let best = -1;
        for (let pm = 0; pm < m; pm++) {
          if (!lostPms.has(pm) && (best < 0 || layout[pm]! > layout[best]!)) best = pm;
        }
        if (best >= 0) lostPms.add(best);
        hits.push(best);
        break;
      }
    }
  }
  // crash-vm: a PM is lost once every VM on it crashed.
  if (model.threat === 'crash-vm') {
    layout.forEach((_, pm) => {
      if (owners.every((owner, vm) => owner !== pm || crashedVms.has(vm))) lostPms.add(pm);
    });
  }
  const lostVms = new Set<number>(crashedVms);
  owners.forEach((pm, vm) => {
    if (lostPms.has(pm)) lostVms.add(vm);
  });
  const verdict = majorityKept(layout, lostPms, lostVms, model.keep);
  return {
    hits,
    vmHits,
    lostPms: [...lostPms].sort((a, b) => a - b),
    lostVms: [...lostVms].sort((a, b) => a - b),
    ...verdict,
  };
}

/** Kept-majority rate over `runs` seeded draws (run r uses deriveSeed(seed, label, r)). */
export function keptRate(
  layout: readonly number[],
  model: FaultModel,
  faults: number,
  seed: number | string,
  runs: number,
  label = '',
): { kept: number; runs: number; rate: number } {
  let kept = 0;
  for (let r = 0; r < runs; r++) {
    if (drawFaults(layout, model, faults, seededRandom(deriveSeed(seed, label, r))).kept) kept++;
  }
  return { kept, runs, rate: runs === 0 ? 0 : kept / runs };
}
