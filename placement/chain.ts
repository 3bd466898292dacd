/**
 * Exact curves by a Markov chain over the attack sequence, for 'contaminated' urn models.
 *
 * PMs with the same (units, weight) are interchangeable, so the state is the vector h of how many PMs of
 * each such group are lost. From state h, after n attacks, the next attack loses a new PM of group g with
 * probability (c_g - h_g) u_g / U ('replace') or (c_g - h_g) u_g / (U - n) ('distinct': the n picked units
 * all sit on lost PMs, so U - n units are left and the clean ones are untouched); otherwise it lands on a
 * lost PM. States whose clean weight fell below the threshold are absorbing (weight only falls), so we drop
 * them and P(kept) is the mass left. Every update adds non-negative terms: no cancellation, for any m.
 *
 * Cost: (valid states) x (groups) per attack. Valid states are few when the layout has few distinct
 * sizes (balanced: one group; most unbalanced: two), which are the layouts people ask about.
 */
import type { Model } from './model.js';

type UrnModel = Extract<Model, { kind: 'urn' }>;

export interface Groups {
  count: number[];
  units: number[];
  weight: number[];
}

export function groupPms(model: UrnModel): Groups {
  const byKey = new Map<string, number>();
  const g: Groups = { count: [], units: [], weight: [] };
  model.units.forEach((u, j) => {
    const w = model.weights[j] as number;
    const key = `${u}:${w}`;
    const at = byKey.get(key);
    if (at === undefined) {
      byKey.set(key, g.count.length);
      g.count.push(1);
      g.units.push(u);
      g.weight.push(w);
    } else g.count[at] = (g.count[at] as number) + 1;
  });
  return g;
}

/** Number of states of the chain (before dropping broken ones); Infinity when above `cap`. */
export function chainStateCount(groups: Groups, cap: number): number {
  let n = 1;
  for (const c of groups.count) {
    n *= c + 1;
    if (n > cap) return Number.POSITIVE_INFINITY;
  }
  return n;
}

/** Entries (valid states x groups) up to which moves are precomputed: 12 bytes each, so at most ~50 MB. */
const PRECOMPUTE_MAX = 4_000_000;

export class AttackChain {
  private readonly mass: Float64Array;
  private readonly valid: Uint8Array;
  private readonly hitUnits: Float64Array;
  private readonly order: Int32Array; // valid states, descending index
  /**
   * Precomputed moves (when they fit in memory): for the k-th valid state and group g, the target index
   * (-1 if none or broken) and the number of clean units of g left, so a step is a few multiply-adds per state.
   */
  private readonly moveTo: Int32Array | undefined;
  private readonly moveUnits: Float64Array | undefined;
  private readonly strides: number[];
  private readonly radix: number[];
  private readonly total: number;
  /** Attacks done so far. */
  n = 0;
  /** P(kept) after `n` attacks. */
  p = 1;

  constructor(
    private readonly model: UrnModel,
    private readonly groups: Groups,
  ) {
    const G = groups.count.length;
    this.radix = groups.count.map((c) => c + 1);
    this.strides = [];
    let size = 1;
    for (let g = 0; g < G; g++) {
      this.strides.push(size);
      size *= this.radix[g] as number;
    }
    this.total = size;
    this.mass = new Float64Array(size);
    this.valid = new Uint8Array(size);
    this.hitUnits = new Float64Array(size);
    const validIdx: number[] = [];
    let cleanWeightAll = 0;
    for (let g = 0; g < G; g++) cleanWeightAll += (groups.count[g] as number) * (groups.weight[g] as number);
    for (let idx = 0; idx < size; idx++) {
      let rem = idx;
      let lostWeight = 0;
      let hit = 0;
      for (let g = 0; g < G; g++) {
        const r = this.radix[g] as number;
        const h = rem % r;
        rem = (rem - h) / r;
        lostWeight += h * (groups.weight[g] as number);
        hit += h * (groups.units[g] as number);
      }
      this.hitUnits[idx] = hit;
      if (cleanWeightAll - lostWeight >= model.threshold) {
        this.valid[idx] = 1;
        validIdx.push(idx);
      }
    }
    this.order = Int32Array.from(validIdx.reverse());
    if (this.order.length * G <= PRECOMPUTE_MAX) {
      this.moveTo = new Int32Array(this.order.length * G).fill(-1);
      this.moveUnits = new Float64Array(this.order.length * G);
      for (let k = 0; k < this.order.length; k++) {
        const idx = this.order[k] as number;
        let rem = idx;
        for (let g = 0; g < G; g++) {
          const r = this.radix[g] as number;
          const h = rem % r;
          rem = (rem - h) / r;
          const free = (groups.count[g] as number) - h;
          const to = idx + (this.strides[g] as number);
          if (free > 0 && this.valid[to]) {
            this.moveTo[k * G + g] = to;
            this.moveUnits[k * G + g] = free * (groups.units[g] as number);
          }
        }
      }
    }
    if (this.valid[0]) this.mass[0] = 1;
    else this.p = 0;
  }

  get states(): number {
    return this.order.length;
  }

  /** Apply one more attack; returns the new P(kept). */
  step(): number {
    const U = this.model.totalUnits;
    const n = this.n;
    this.n++;
    if (this.p === 0) return 0;
    const distinct = this.model.draw === 'distinct';
    if (distinct && n >= U) {
      // Every unit has been picked: every PM is lost.
      this.mass.fill(0);
      this.p = 0;
      return 0;
    }
    const denom = distinct ? U - n : U;
    const { mass, valid, hitUnits, strides, radix } = this;
    const count = this.groups.count;
    const units = this.groups.units;
    const G = count.length;
    let p = 0;
    const { moveTo, moveUnits, order } = this;
    const shift = distinct ? n : 0;
    if (moveTo && moveUnits) {
      const inv = 1 / denom;
      for (let k = 0; k < order.length; k++) {
        const idx = order[k] as number;
        const x = mass[idx] as number;
        if (x === 0) continue;
        const xs = x * inv;
        let stayNum = (hitUnits[idx] as number) - shift;
        if (stayNum < 0) stayNum = 0;
        const stay = xs * stayNum;
        mass[idx] = stay;
        p += stay;
        const base = k * G;
        for (let g = 0; g < G; g++) {
          const to = moveTo[base + g] as number;
          if (to < 0) continue;
          const add = xs * (moveUnits[base + g] as number);
          mass[to] = (mass[to] as number) + add;
          p += add;
        }
      }
      this.p = Math.min(p, 1);
      return this.p;
    }
    for (let k = 0; k < this.order.length; k++) {
      const idx = this.order[k] as number;
      const x = mass[idx] as number;
      if (x === 0) continue;
      let stayNum = (hitUnits[idx] as number) - (distinct ? n : 0);
      if (stayNum < 0) stayNum = 0; // unreachable state (its mass is 0 anyway)
      const stay = x * (stayNum / denom);
      mass[idx] = stay;
      p += stay;
      let rem = idx;
      for (let g = 0; g < G; g++) {
        const r = radix[g] as number;
        const h = rem % r;
        rem = (rem - h) / r;
        const free = (count[g] as number) - h;
        if (free === 0) continue;
        const to = idx + (strides[g] as number);
        if (valid[to]) {
          const add = x * ((free * (units[g] as number)) / denom);
          mass[to] = (mass[to] as number) + add;
          p += add;
        }
      }
    }
    this.p = Math.min(p, 1);
    return this.p;
  }

  get size(): number {
    return this.total;
  }
}
