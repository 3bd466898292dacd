import { describe, expect, it } from 'vitest';
import { advise } from '../../placement/advise.js';
import { tableEvidence } from '../../placement/evidence.js';
import { balancedLayout, countLayouts, enumerateLayouts, unbalancedLayout } from '../../placement/layout.js';
import { keepProbability } from '../../placement/risk.js';
import { KEEP_NAMES, THREAT_NAMES } from '../../placement/types.js';

describe('advise', () => {
  it('recommends the paper layout for byzantine-vm + PM majority and reports Table 1 and the extremes', () => {
    const a = advise({ vms: 10, pms: 5, threat: 'byzantine-vm', keep: 'pm-majority', removal: false, attacks: 5 });
    expect(a.recommended.layout).toEqual([6, 1, 1, 1, 1]);
    expect(a.recommended.pKeep).toBeCloseTo(0.4408, 12);
    expect(a.balanced).toEqual({ layout: [2, 2, 2, 2, 2], pKeep: expect.closeTo(0.0976, 12), attacksToBreak: 4 });
    expect(a.unbalanced.layout).toEqual([6, 1, 1, 1, 1]);
    expect(a.table1).toBe('unbalanced');
    expect(a.method).toBe('exhaustive');
    expect(a.attacks).toBe(5);
    expect(a.notes.some((n) => n.startsWith('agrees with Table 1'))).toBe(true);
  });

  it('the recommended layout is the best of all layouts (exhaustive), for all 12 cases', () => {
    for (const threat of THREAT_NAMES) {
      for (const keep of KEEP_NAMES) {
        for (const removal of [false, true]) {
          const q = { threat, keep, removal };
          const a = advise({ vms: 11, pms: 4, ...q, attacks: 3 });
          for (const l of enumerateLayouts(11, 4, 8)) {
            expect(keepProbability(l, q, 3)).toBeLessThanOrEqual(a.recommended.pKeep + 1e-12);
          }
        }
      }
    }
  });

  it('every proven rule agrees with the exhaustive search (all cases, several sizes and n)', () => {
    for (const threat of THREAT_NAMES) {
      for (const keep of KEEP_NAMES) {
        for (const removal of [false, true]) {
          for (const [v, m, n] of [
            [9, 4, 2],
            [12, 5, 3],
            [13, 4, 5],
          ] as const) {
            const a = advise({ vms: v, pms: m, threat, keep, removal, attacks: n });
            expect(a.notes.some((x) => x.includes('contradicts the rule'))).toBe(false);
          }
        }
      }
    }
  });

  it('says plainly where Table 1 is contradicted: "irrelevant" cells whose probability depends on the layout', () => {
    const a = advise({ vms: 10, pms: 5, threat: 'crash-pm', keep: 'vm-majority', removal: false, attacks: 4 });
    expect(a.table1).toBe('irrelevant');
    expect(a.recommended.layout).toEqual([6, 1, 1, 1, 1]);
    expect(a.notes.find((n) => n.startsWith('disagrees with Table 1'))).toMatch(/0\.2320.*0\.4096/);
  });

  it('finds and reports intermediate layouts that beat both extremes', () => {
    // byzantine-vm + VM majority, 12 VMs on 4 PMs after 2 faults: an intermediate layout wins (see README).
    let found = false;
    for (const [v, m] of [
      [12, 4],
      [10, 5],
      [14, 5],
    ] as const) {
      for (let n = 1; n <= 6 && !found; n++) {
        const a = advise({ vms: v, pms: m, threat: 'crash-pm', keep: 'vm-majority', removal: false, attacks: n });
        const note = a.notes.find((x) => x.startsWith('an intermediate layout beats both extremes'));
        if (note) {
          found = true;
          expect(a.recommended.layout).not.toEqual(a.balanced.layout);
          expect(a.recommended.layout).not.toEqual(a.unbalanced.layout);
          expect(a.recommended.pKeep).toBeGreaterThan(Math.max(a.balanced.pKeep, a.unbalanced.pKeep));
        }
      }
    }
    expect(found).toBe(true);
  });

  it('respects --max-per-pm', () => {
    const a = advise({
      vms: 12,
      pms: 4,
      threat: 'byzantine-vm',
      keep: 'pm-majority',
      removal: false,
      attacks: 3,
      maxPerPm: 5,
    });
    expect(Math.max(...a.recommended.layout)).toBeLessThanOrEqual(5);
    expect(a.unbalanced.layout).toEqual([5, 5, 1, 1]);
    expect(a.recommended.layout).toEqual([5, 5, 1, 1]);
    expect(unbalancedLayout(12, 4, 5)).toEqual([5, 5, 1, 1]);
    expect(balancedLayout(10, 4)).toEqual([3, 3, 2, 2]);
    expect(countLayouts(12, 4, 5)).toBe([...enumerateLayouts(12, 4, 5)].length);
  });

  it('uses a proven rule when there are too many layouts, and says which', () => {
    const a = advise({
      vms: 3000,
      pms: 1000,
      threat: 'byzantine-vm',
      keep: 'pm-majority',
      removal: false,
      attacks: 600,
    });
    expect(a.method).toBe('rule');
    expect(a.recommended.layout[0]).toBe(2001);
    expect(a.notes.some((n) => n.includes('Theorem 1'))).toBe(true);
    const b = advise({ vms: 200, pms: 40, threat: 'crash-vm', keep: 'pm-majority', removal: false });
    expect(b.method).toBe('rule');
    expect(b.recommended.layout).toEqual(Array(40).fill(5));
  });

  it('local search finds the exhaustive optimum on cases with no proven rule', () => {
    for (const [threat, v, m, n] of [
      ['crash-pm', 12, 4, 2],
      ['crash-pm', 14, 5, 3],
      ['byzantine-vm', 14, 5, 2],
      ['byzantine-pm', 16, 6, 3],
    ] as const) {
      const q = { threat, keep: 'vm-majority' as const, removal: false, attacks: n, vms: v, pms: m };
      const ex = advise(q);
      const se = advise(q, { method: 'search' });
      expect(ex.method).toBe('exhaustive');
      expect(se.method).toBe('search');
      expect(se.recommended.pKeep).toBeCloseTo(ex.recommended.pKeep, 12);
      expect(se.notes.some((x) => x.includes('not guaranteed'))).toBe(true);
    }
    const big = advise({ vms: 60, pms: 12, threat: 'byzantine-vm', keep: 'vm-majority', removal: false });
    expect(big.method).toBe('search');
    expect(big.recommended.pKeep).toBeGreaterThanOrEqual(Math.max(big.balanced.pKeep, big.unbalanced.pKeep) - 1e-12);
  });
});

describe('Table 1 evidence', () => {
  it("for the paper's m = 5, v = 10: the crash-pm / byzantine-pm VM-majority cells are not irrelevant", () => {
    const t = tableEvidence(10, 5, false);
    expect(t.cells).toHaveLength(12);
    const disagree = t.cells.filter((c) => !c.agrees).map((c) => `${c.threat}/${c.keep}`);
    expect(disagree).toEqual(['crash-pm/vm-majority', 'byzantine-pm/vm-majority']);
    const c = t.cells.find((x) => x.threat === 'crash-pm' && x.keep === 'vm-majority');
    expect(c?.exact).toBe('mixed');
    expect(c?.counterexamples.length).toBeGreaterThan(0);
  });
});
