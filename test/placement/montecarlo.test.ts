import { describe, expect, it } from 'vitest';
import { keepCurve } from '../../placement/risk.js';
import { monteCarloCurve } from '../../placement/simulate.js';
import { KEEP_NAMES, THREAT_NAMES } from '../../placement/types.js';

const TRIALS = Number(process.env.TCLOUDS_MC_TRIALS ?? 20_000);

describe(`seeded Monte Carlo (${TRIALS} trials) agrees with the exact curves`, () => {
  // 5 standard deviations per point (plus a floor for p near 0 or 1): with ~600 points compared the chance of a
  // false alarm is below 1e-3, and with fixed seeds the test is deterministic anyway.
  const bound = (p: number) => 5 * Math.sqrt(Math.max(p * (1 - p), 1e-4) / TRIALS);
  const layouts = [
    [6, 1, 1, 1, 1],
    [2, 2, 2, 2, 2],
    [4, 3, 2, 1, 1, 1, 1],
  ];
  for (const threat of THREAT_NAMES) {
    for (const keep of KEEP_NAMES) {
      it(`${threat}, ${keep}`, () => {
        let seed = 1;
        for (const layout of layouts) {
          for (const removal of [false, true]) {
            const q = { threat, keep, removal };
            const exact = keepCurve(layout, q, 15);
            const mc = monteCarloCurve(layout, q, 15, TRIALS, seed++);
            for (let n = 0; n <= 15; n++) {
              expect(
                Math.abs((mc[n] as number) - (exact[n] as number)),
                `${layout} removal=${removal} n=${n}`,
              ).toBeLessThanOrEqual(bound(exact[n] as number));
            }
          }
        }
      });
    }
  }
});
