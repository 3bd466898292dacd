import { describe, expect, it } from 'vitest';
import { paperFigure } from '../../placement/figures.js';
import { balancedLayout, countLayouts, enumerateLayouts, unbalancedLayout } from '../../placement/layout.js';
import { keepCurve, keepProbability } from '../../placement/risk.js';
import type { RiskQuery } from '../../placement/types.js';

const BVM: RiskQuery = { threat: 'byzantine-vm', keep: 'pm-majority', removal: false };

describe("the paper's own statements", () => {
  it('m = 5, v = 10, after 5 attacks: unbalanced (60%) keeps the PM majority with > 40%, balanced < 10%', () => {
    const unb = keepProbability([6, 1, 1, 1, 1], BVM, 5);
    const bal = keepProbability([2, 2, 2, 2, 2], BVM, 5);
    expect(unb).toBeGreaterThan(0.4);
    expect(bal).toBeLessThan(0.1);
    // Exact values: 0.4408 and 305/3125.
    expect(unb).toBeCloseTo(0.4408, 12);
    expect(bal).toBeCloseTo(305 / 3125, 12);
  });

  it('Figure 2: removal makes it easier for the attacker (curves with removal lie below)', () => {
    for (const layout of [
      [6, 1, 1, 1, 1],
      [2, 2, 2, 2, 2],
    ]) {
      const without = keepCurve(layout, BVM, 20);
      const withRemoval = keepCurve(layout, { ...BVM, removal: true }, 20);
      for (let n = 0; n <= 20; n++) expect(withRemoval[n]).toBeLessThanOrEqual((without[n] as number) + 1e-12);
    }
  });

  it('Figure 3 (m = 21): balanced is nearly lost a little after 20 attacks, unbalanced (60%) takes more than 60', () => {
    const bal = keepCurve(Array(21).fill(2), BVM, 100);
    const unb = keepCurve([30, ...Array(20).fill(1)], BVM, 100);
    expect(bal[25]).toBeLessThan(0.01);
    expect(unb[50]).toBeGreaterThan(0.01);
    expect(unb[60]).toBeGreaterThan(bal[25] as number);
  });

  it('Figure 4: attacks to break grow about linearly in m, with a much higher slope when unbalanced', () => {
    const [bal, unb] = paperFigure(4).series;
    if (!bal || !unb) throw new Error('Figure 4 has two series');
    const slope = (pts: { x: number; y: number }[]) =>
      ((pts.at(-1)?.y ?? 0) - (pts[0]?.y ?? 0)) / ((pts.at(-1)?.x ?? 0) - (pts[0]?.x ?? 0));
    expect(slope(unb.points)).toBeGreaterThan(2 * slope(bal.points));
    for (const s of [bal, unb])
      for (let i = 1; i < s.points.length; i++) expect(s.points[i]!.y).toBeGreaterThanOrEqual(s.points[i - 1]!.y);
  });

  it('Figure 5: attacks to break grow with the unbalance factor', () => {
    const pts = paperFigure(5).series[0]!.points;
    expect(pts).toHaveLength(10);
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.y).toBeGreaterThanOrEqual(pts[i - 1]!.y);
    expect(pts.at(-1)!.y).toBeGreaterThan(4 * pts[0]!.y);
  });
});

/** For every layout of v on m (parts <= K) and every n, `best` is at least as good as the layout. */
function assertOptimal(best: number[], q: RiskQuery, v: number, m: number, K: number, N: number): void {
  const ref = keepCurve(best, q, N);
  for (const layout of enumerateLayouts(v, m, K)) {
    const c = keepCurve(layout, q, N);
    for (let n = 0; n <= N; n++)
      expect(c[n], `${layout} vs ${best} at n=${n}`).toBeLessThanOrEqual((ref[n] as number) + 1e-12);
  }
}

describe('Theorem 1 and the other proven rules, checked over every layout', () => {
  const sizes: [number, number][] = [
    [6, 3],
    [8, 4],
    [10, 5],
    [11, 4],
    [12, 6],
    [13, 7],
  ];
  it('Theorem 1: the most unbalanced layout maximizes P(PM majority) for every n (with replacement)', () => {
    for (const [v, m] of sizes) assertOptimal(unbalancedLayout(v, m), BVM, v, m, v, 3 * v);
  });
  it('Theorem 1 also holds with removal (distinct VMs), and under a capacity K for the greedy layout', () => {
    for (const [v, m] of sizes) assertOptimal(unbalancedLayout(v, m), { ...BVM, removal: true }, v, m, v, v);
    for (const [v, m, K] of [
      [10, 5, 3],
      [12, 4, 5],
      [13, 5, 4],
    ] as const) {
      expect(countLayouts(v, m, K)).toBeGreaterThan(1);
      for (const removal of [false, true])
        assertOptimal(unbalancedLayout(v, m, K), { ...BVM, removal }, v, m, K, 2 * v);
    }
  });
  it('crash-vm + PM majority: balanced is optimal for every n', () => {
    for (const [v, m] of sizes)
      assertOptimal(balancedLayout(v, m), { threat: 'crash-vm', keep: 'pm-majority', removal: false }, v, m, v, v);
  });
  it('targeted + VM majority: balanced is optimal for every n', () => {
    for (const [v, m] of sizes)
      assertOptimal(balancedLayout(v, m), { threat: 'targeted-vm', keep: 'vm-majority', removal: false }, v, m, v, m);
  });
});
