import { describe, expect, it } from 'vitest';
import {
  eq1FailureProbability,
  eq2KeepProbability,
  eq3ExpectedCorrectVms,
  expectedCleanVms,
  expectedFailedPms,
} from '../../placement/equations.js';
import { countLayouts, enumerateLayouts } from '../../placement/layout.js';
import { urnModel } from '../../placement/model.js';
import { attacksToBreak, keepCurve, keepProbability, modelCurve } from '../../placement/risk.js';
import { KEEP_NAMES, type Layout, THREAT_NAMES } from '../../placement/types.js';
import { bruteKeep } from './brute.js';

const SMALL: Layout[] = [
  [1],
  [3],
  [2, 1],
  [1, 1, 1],
  [3, 1, 1],
  [2, 2, 1],
  [4, 1, 1],
  [2, 2, 2],
  [3, 2, 1, 1],
  [1, 1, 1, 1],
  [5, 1],
  [2, 2, 1, 1],
];

describe('exact curves against brute-force enumeration of every attack sequence', () => {
  for (const threat of THREAT_NAMES) {
    for (const keep of KEEP_NAMES) {
      for (const removal of [false, true]) {
        it(`${threat}, ${keep}, removal=${removal}`, () => {
          const q = { threat, keep, removal };
          for (const layout of SMALL) {
            const curve = keepCurve(layout, q, 5);
            for (let n = 0; n <= 5; n++) {
              expect(curve[n], `${layout} n=${n}`).toBeCloseTo(bruteKeep(layout, q, n), 12);
            }
          }
        });
      }
    }
  }
});

describe('the exact methods agree with each other', () => {
  const layouts: Layout[] = [
    [5, 4, 3, 2, 2, 1, 1],
    [7, 1, 1, 1, 1, 1],
    [3, 3, 3, 3],
    [6, 5, 4, 3, 2, 1],
  ];
  for (const layout of layouts) {
    it(`chain and DP give the same curve for ${layout}`, () => {
      for (const threat of ['crash-pm', 'byzantine-vm'] as const) {
        for (const keep of KEEP_NAMES) {
          for (const removal of [false, true]) {
            const model = urnModel(layout, { threat, keep, removal });
            const chain = modelCurve(model, 40, 'chain');
            const dp = modelCurve(model, 40, removal ? 'distinct-dp' : 'replace-dp');
            for (let n = 0; n <= 40; n++) expect(dp[n]).toBeCloseTo(chain[n] as number, 12);
          }
        }
      }
    });
  }
});

describe('closed forms', () => {
  it('Eq. 2 (derived inclusion-exclusion) matches the DP for the PM majority without removal', () => {
    for (const layout of [
      [6, 1, 1, 1, 1],
      [2, 2, 2, 2, 2],
      [4, 3, 2, 1, 1, 1, 1],
      [30, ...Array(20).fill(1)],
    ]) {
      const curve = keepCurve(layout, { threat: 'byzantine-vm', keep: 'pm-majority', removal: false }, 30);
      // The alternating sum loses digits as m grows (already ~1e-9 at m = 21): why the advisor never uses it.
      const digits = layout.length > 10 ? 7 : 11;
      for (const n of [0, 1, 3, 5, 10, 20, 30])
        expect(eq2KeepProbability(layout, n)).toBeCloseTo(curve[n] as number, digits);
      const crash = keepCurve(layout, { threat: 'crash-pm', keep: 'pm-majority', removal: false }, 10);
      expect(eq2KeepProbability(layout, 10, { uniform: true })).toBeCloseTo(crash[10] as number, digits);
    }
  });

  it('the printed coefficients of Eq. 2 (k/(k-1), ...) give a different, wrong number', () => {
    // m = 5, k = 3, n = 5, balanced: S_3 - (3/2) S_4 is not P(X >= 3); the right coefficient of S_4 is C(3,2) = 3.
    const sj = (j: number) => [0, 0, 0, 10 * (2 / 5) ** 5, 5 * (1 / 5) ** 5, 0][j] as number;
    const printed = sj(3) - (3 / 2) * sj(4);
    const derived = sj(3) - 3 * sj(4) + 6 * sj(5);
    expect(derived).toBeCloseTo(0.0976, 12);
    expect(derived).toBeCloseTo(
      keepProbability([2, 2, 2, 2, 2], { threat: 'byzantine-vm', keep: 'pm-majority', removal: false }, 5),
      12,
    );
    expect(Math.abs(printed - derived)).toBeGreaterThan(0.001);
  });

  it('Eq. 1 is the hypergeometric probability that all VMs of a PM crashed, and sums to the expected failed PMs', () => {
    // v = 10, v_i = 3, n = 5: C(7,2)/C(10,5) = 21/252
    expect(eq1FailureProbability(3, 10, 5)).toBeCloseTo(21 / 252, 14);
    expect(eq1FailureProbability(3, 10, 2)).toBe(0);
    expect(eq1FailureProbability(3, 10, 10)).toBe(1);
    const layout = [4, 3, 2, 1];
    const q = { threat: 'crash-vm', keep: 'pm-majority', removal: false } as const;
    const direct = layout.reduce((a, vi) => a + eq1FailureProbability(vi, 10, 6), 0);
    expect(expectedFailedPms(layout, q, 6)).toBeCloseTo(direct, 14);
  });

  it('m = 1000, v = 3000 stays accurate (matches the classical occupancy law for the balanced layout)', () => {
    // Balanced: every PM equally likely; P(at most 499 distinct PMs hit after n) from the occupancy chain.
    const m = 1000;
    const n = 700;
    let dist = new Float64Array(m + 1);
    dist[0] = 1;
    for (let i = 0; i < n; i++) {
      const next = new Float64Array(m + 1);
      for (let h = 0; h <= m; h++) {
        const x = dist[h] as number;
        if (!x) continue;
        next[h] = (next[h] as number) + (x * h) / m;
        if (h < m) next[h + 1] = (next[h + 1] as number) + (x * (m - h)) / m;
      }
      dist = next;
    }
    let p = 0;
    for (let h = 0; h <= 499; h++) p += dist[h] as number;
    const curve = keepCurve(Array(m).fill(3), { threat: 'byzantine-vm', keep: 'pm-majority', removal: false }, n);
    expect(curve[n]).toBeCloseTo(p, 12);
    expect(curve[n]).toBeGreaterThan(0);
    expect(curve[n]).toBeLessThan(1);
  });

  it('Eq. 3: with PM faults the expected correct VMs are P[Y=1] v, whatever the layout', () => {
    const q = { threat: 'crash-pm', keep: 'vm-majority', removal: false } as const;
    for (const layout of [
      [6, 1, 1, 1, 1],
      [2, 2, 2, 2, 2],
    ]) {
      for (const n of [0, 1, 4, 9]) {
        const pUp = (1 - 1 / 5) ** n;
        expect(expectedCleanVms(layout, q, n)).toBeCloseTo(eq3ExpectedCorrectVms(layout, pUp), 12);
        expect(eq3ExpectedCorrectVms(layout, pUp)).toBeCloseTo(10 * pUp, 12);
      }
    }
    // ... while the probability of keeping the VM majority does depend on the layout (Table 1 says irrelevant).
    expect(keepProbability([6, 1, 1, 1, 1], q, 4)).not.toBeCloseTo(keepProbability([2, 2, 2, 2, 2], q, 4), 3);
  });

  it('expected failed PMs match first principles (byzantine-vm, [3,1], 2 attacks)', () => {
    const q = { threat: 'byzantine-vm', keep: 'pm-majority', removal: false } as const;
    expect(expectedFailedPms([3, 1], q, 2)).toBeCloseTo(1 - (1 / 4) ** 2 + (1 - (3 / 4) ** 2), 14);
    // With removal (distinct VMs): the 1-VM PM survives 2 picks of 4 with probability C(3,2)/C(4,2) = 1/2.
    expect(expectedFailedPms([3, 1], { ...q, removal: true }, 2)).toBeCloseTo(1 + 0.5, 14);
  });

  it('layout counting matches enumeration', () => {
    for (let v = 1; v <= 18; v++) {
      for (let m = 1; m <= v; m++) {
        for (const K of [v, Math.ceil(v / m) + 1, Math.ceil(v / m)]) {
          const all = [...enumerateLayouts(v, m, K)];
          expect(countLayouts(v, m, K)).toBe(all.length);
          for (const l of all) expect(l.reduce((a, b) => a + b, 0)).toBe(v);
        }
      }
    }
  });

  it('a curve point of exactly 1/2 is not "below 1/2"', () => {
    // [2,1,1], byzantine-vm, VM majority (3 of 4): the first attack hits the 2-VM PM with probability 1/2.
    const q = { threat: 'byzantine-vm', keep: 'vm-majority', removal: false } as const;
    expect(keepCurve([2, 1, 1], q, 2)).toEqual([1, 0.5, 0.125]);
    expect(attacksToBreak([2, 1, 1], q)).toBe(2);
  });

  it('targeted threats: 0/1 curves, the attacker takes the largest PMs', () => {
    const q = { threat: 'targeted-vm', keep: 'vm-majority', removal: false } as const;
    expect(keepCurve([4, 3, 2, 1], q, 4)).toEqual([1, 1, 0, 0, 0]);
    expect(attacksToBreak([3, 3, 2, 2], q)).toBe(2);
    expect(attacksToBreak([2, 2, 2, 2, 2], q)).toBe(3);
    expect(attacksToBreak([2, 2, 2, 2, 2], { ...q, keep: 'pm-majority' })).toBe(3);
  });
});
