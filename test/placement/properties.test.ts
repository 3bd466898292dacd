import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { urnModel } from '../../placement/model.js';
import { attacksToBreak, keepCurve, keepProbability, modelCurve } from '../../placement/risk.js';
import { KEEP_NAMES, THREAT_NAMES } from '../../placement/types.js';

const layoutArb = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 });
const queryArb = fc.record({
  threat: fc.constantFrom(...THREAT_NAMES),
  keep: fc.constantFrom(...KEEP_NAMES),
  removal: fc.boolean(),
});

describe('invariants (fast-check)', () => {
  it('curves are probabilities, start at 1 and never increase with more faults', () => {
    fc.assert(
      fc.property(layoutArb, queryArb, fc.integer({ min: 0, max: 40 }), (layout, q, N) => {
        const c = keepCurve(layout, q, N);
        expect(c).toHaveLength(N + 1);
        expect(c[0]).toBe(1);
        for (let n = 0; n <= N; n++) {
          expect(c[n]).toBeGreaterThanOrEqual(0);
          expect(c[n]).toBeLessThanOrEqual(1);
          if (n > 0) expect(c[n]).toBeLessThanOrEqual((c[n - 1] as number) + 1e-12);
        }
      }),
      { numRuns: 200, seed: 42 },
    );
  });

  it('every figure is invariant under permutation of the PMs', () => {
    fc.assert(
      fc.property(
        layoutArb.chain((l) =>
          fc.tuple(fc.constant(l), fc.shuffledSubarray(l, { minLength: l.length, maxLength: l.length })),
        ),
        queryArb,
        ([layout, perm], q) => {
          const a = keepCurve(layout, q, 15);
          const b = keepCurve(perm, q, 15);
          for (let n = 0; n <= 15; n++) expect(b[n]).toBeCloseTo(a[n] as number, 12);
          expect(attacksToBreak(perm, q)).toBe(attacksToBreak(layout, q));
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it('keepProbability(n) is point n of keepCurve, and attacksToBreak is the first point below 1/2', () => {
    fc.assert(
      fc.property(layoutArb, queryArb, (layout, q) => {
        const b = attacksToBreak(layout, q);
        expect(b).not.toBeNull();
        const c = keepCurve(layout, q, b as number);
        expect(c[b as number]).toBeLessThan(0.5);
        for (let n = 0; n < (b as number); n++) expect(c[n]).toBeGreaterThanOrEqual(0.5 - 1e-12);
        expect(keepProbability(layout, q, b as number)).toBe(c[b as number]);
      }),
      { numRuns: 150, seed: 3 },
    );
  });

  it('removal never helps the defender when faults hit a random PM or VM (paper, Figure 2)', () => {
    fc.assert(
      fc.property(
        layoutArb,
        fc.constantFrom('crash-pm' as const, 'byzantine-vm' as const),
        fc.constantFrom(...KEEP_NAMES),
        (layout, threat, keep) => {
          const a = keepCurve(layout, { threat, keep, removal: false }, 20);
          const b = keepCurve(layout, { threat, keep, removal: true }, 20);
          for (let n = 0; n <= 20; n++) expect(b[n]).toBeLessThanOrEqual((a[n] as number) + 1e-12);
        },
      ),
      { numRuns: 100, seed: 11 },
    );
  });

  it('chain and DP agree on random layouts', () => {
    fc.assert(
      fc.property(
        layoutArb,
        fc.constantFrom('crash-pm' as const, 'byzantine-vm' as const),
        fc.constantFrom(...KEEP_NAMES),
        fc.boolean(),
        (layout, threat, keep, removal) => {
          const model = urnModel(layout, { threat, keep, removal });
          const a = modelCurve(model, 25, 'chain');
          const b = modelCurve(model, 25, removal ? 'distinct-dp' : 'replace-dp');
          for (let n = 0; n <= 25; n++) expect(b[n]).toBeCloseTo(a[n] as number, 12);
        },
      ),
      { numRuns: 150, seed: 5 },
    );
  });
});
