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

/** The state of one draw: what is lost so far, and the pools that draws without replacement take from. */
class FaultDraw {
  readonly owners: number[];
  readonly lostPms = new Set<number>();
  readonly crashedVms = new Set<number>();
  readonly hits: number[] = [];
  readonly vmHits: number[] | null;
  // Pools for draws without replacement: swap-remove keeps each pick O(1) and uniform.
  private readonly vmPool: number[];
  private readonly pmPool: number[];

  constructor(
    readonly layout: readonly number[],
    readonly model: FaultModel,
    private readonly random: () => number,
  ) {
    this.owners = vmOwners(layout);
    this.vmHits = model.threat === 'crash-vm' || model.threat === 'byzantine-vm' ? [] : null;
    this.vmPool = this.owners.map((_, i) => i);
    this.pmPool = layout.map((_, i) => i);
  }

  private take(pool: number[]): number {
    const i = pickIndex(this.random, pool.length);
    const picked = pool[i]!;
    pool[i] = pool[pool.length - 1]!;
    pool.pop();
    return picked;
  }

  /** Nothing left to hit. */
  private miss(): void {
    this.hits.push(-1);
    this.vmHits?.push(-1);
  }

  /** The next fault of the threat. */
  fault(): void {
    switch (this.model.threat) {
      case 'crash-vm':
        this.crashVm();
        break;
      case 'byzantine-vm':
        this.byzantineVm();
        break;
      case 'crash-pm':
      case 'byzantine-pm':
        this.randomPm();
        break;
      case 'targeted-pm':
      case 'targeted-vm':
        this.heaviestPm();
        break;
    }
  }

  /** Always a VM that has not crashed yet: the pool only holds live VMs. */
  private crashVm(): void {
    if (this.vmPool.length === 0) {
      this.miss();
      return;
    }
    const vm = this.take(this.vmPool);
    this.crashedVms.add(vm);
    this.hits.push(this.owners[vm]!);
    this.vmHits!.push(vm);
  }

  /** A random VM (distinct with removal) contaminates its whole PM. */
  private byzantineVm(): void {
    let vm: number;
    if (this.model.removal) {
      if (this.vmPool.length === 0) {
        this.miss();
        return;
      }
      vm = this.take(this.vmPool);
    } else {
      vm = pickIndex(this.random, this.owners.length);
    }
    const pm = this.owners[vm]!;
    this.lostPms.add(pm);
    this.hits.push(pm);
    this.vmHits!.push(vm);
  }

  private randomPm(): void {
    let pm: number;
    if (this.model.removal) {
      if (this.pmPool.length === 0) {
        this.miss();
        return;
      }
      pm = this.take(this.pmPool);
    } else {
      pm = pickIndex(this.random, this.layout.length);
    }
    this.lostPms.add(pm);
    this.hits.push(pm);
  }

  /** The attacker's pick: the clean PM holding the most VMs (ties: the lowest index). */
  private heaviestPm(): void {
    let best = -1;
    for (let pm = 0; pm < this.layout.length; pm++) {
      if (!this.lostPms.has(pm) && (best < 0 || this.layout[pm]! > this.layout[best]!)) best = pm;
    }
    if (best >= 0) this.lostPms.add(best);
    this.hits.push(best);
  }

  outcome(): DrawOutcome {
    const { layout, owners, lostPms } = this;
    // crash-vm: a PM is lost once every VM on it crashed.
    if (this.model.threat === 'crash-vm') {
      layout.forEach((_, pm) => {
        if (owners.every((owner, vm) => owner !== pm || this.crashedVms.has(vm))) lostPms.add(pm);
      });
    }
    const lostVms = new Set<number>(this.crashedVms);
    owners.forEach((pm, vm) => {
      if (lostPms.has(pm)) lostVms.add(vm);
    });
    const verdict = majorityKept(layout, lostPms, lostVms, this.model.keep);
    return {
      hits: this.hits,
      vmHits: this.vmHits,
      lostPms: [...lostPms].sort((a, b) => a - b),
      lostVms: [...lostVms].sort((a, b) => a - b),
      ...verdict,
    };
  }
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
  const draw = new FaultDraw(layout, model, random);
  for (let k = 0; k < faults; k++) draw.fault();
  return draw.outcome();
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
