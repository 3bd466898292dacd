/**
 * Seeded Monte Carlo of the six threats, written straight from the definitions in threats.md and sharing
 * no code with the exact methods. It is an independent check for the tests and the benchmark only: no
 * answer of the advisor ever comes from simulation.
 */
import { majority } from './model.js';
import type { Layout, RiskQuery } from './types.js';

/** mulberry32: small, fast, seedable PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Simulated P(kept after n) for n = 0..maxAttacks from `trials` independent attack sequences.
 * Each sequence runs until the majority is lost, and counts for every n before that.
 */
export function monteCarloCurve(
  layout: Layout,
  q: RiskQuery,
  maxAttacks: number,
  trials: number,
  seed: number,
): number[] {
  const rnd = mulberry32(seed);
  const m = layout.length;
  const v = layout.reduce((a, b) => a + b, 0);
  const tPm = majority(m);
  const tVm = majority(v);
  const owner = new Int32Array(v); // VM index -> PM
  {
    let k = 0;
    layout.forEach((size, j) => {
      for (let i = 0; i < size; i++) owner[k++] = j;
    });
  }
  const sizesDesc = layout.map((s, j) => [s, j] as const).sort((a, b) => b[0] - a[0]);
  const keptUntil = new Float64Array(maxAttacks + 2); // keptUntil[n]: trials still kept after n attacks
  const lost = new Uint8Array(m);
  const crashed = new Int32Array(m);
  const pool = new Int32Array(Math.max(v, m));
  const keep = q.keep;
  for (let trial = 0; trial < trials; trial++) {
    lost.fill(0);
    crashed.fill(0);
    let cleanPms = m;
    let cleanVms = v;
    let left = 0; // size of the not-yet-picked pool (distinct draws)
    const poolSize = q.threat === 'byzantine-vm' || q.threat === 'crash-vm' ? v : m;
    for (let i = 0; i < poolSize; i++) pool[i] = i;
    left = poolSize;
    let n = 0;
    const kept = () => {
      if (q.threat === 'crash-vm' && keep === 'vm-majority') return v - n >= tVm;
      return keep === 'pm-majority' ? cleanPms >= tPm : cleanVms >= tVm;
    };
    const lose = (j: number) => {
      if (lost[j]) return;
      lost[j] = 1;
      cleanPms--;
      cleanVms -= layout[j] as number;
    };
    const pickDistinct = (): number => {
      const i = Math.floor(rnd() * left);
      const x = pool[i] as number;
      pool[i] = pool[left - 1] as number;
      left--;
      return x;
    };
    while (n <= maxAttacks && kept()) {
      keptUntil[n] = (keptUntil[n] as number) + 1;
      if (n === maxAttacks) break;
      n++;
      switch (q.threat) {
        case 'crash-pm':
        case 'byzantine-pm':
          if (q.removal) {
            if (left > 0) lose(pickDistinct());
          } else lose(Math.floor(rnd() * m));
          break;
        case 'byzantine-vm':
          if (q.removal) {
            if (left > 0) lose(owner[pickDistinct()] as number);
          } else lose(owner[Math.floor(rnd() * v)] as number);
          break;
        case 'crash-vm': {
          if (left === 0) break;
          const j = owner[pickDistinct()] as number;
          crashed[j] = (crashed[j] as number) + 1;
          if (crashed[j] === layout[j]) lose(j);
          break;
        }
        case 'targeted-pm':
        case 'targeted-vm': {
          // The attacker takes the clean PM holding the most VMs.
          const next = sizesDesc.find(([, j]) => !lost[j]);
          if (next) lose(next[1]);
          break;
        }
      }
    }
  }
  return Array.from({ length: maxAttacks + 1 }, (_, n) => (keptUntil[n] as number) / trials);
}
