/**
 * The paper's Figures 2-5, recomputed exactly (the paper used Eq. 2 for the curves without removal and Monte
 * Carlo for those with removal). All are byzantine-vm faults and a PM majority.
 *
 * Layout choices (the paper gives probabilities, not always VM counts):
 * - "balanced" gives every PM the same number of VMs (2 each);
 * - "unbalanced (60%)" puts 60% of the VMs on one PM and one VM on each other PM: [1.5(m-1), 1, ..., 1]
 *   (m = 5: [6,1,1,1,1], v = 10 as in the paper; m = 21: [30, 1 x 20], v = 50);
 * - Figure 4 uses odd m from 3 to 51 (so that 1.5(m-1) is whole); Figure 5 uses m = 11 and v = 110, one PM
 *   holding k/11 of the VMs (10k) and the other ten 11-k each, k = 1 (balanced) .. 10 (about 91%).
 */
import { placementError } from './codes.js';
import { attacksToBreak, keepCurve } from './risk.js';
import type { Layout, RiskQuery } from './types.js';

export interface Series {
  label: string;
  points: { x: number; y: number }[];
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  /** y is a probability in [0,1] (curves) or a count (attacks to break). */
  yKind: 'probability' | 'count';
  series: Series[];
}

const BVM = (removal: boolean): RiskQuery => ({ threat: 'byzantine-vm', keep: 'pm-majority', removal });

export function balancedOf(m: number, each = 2): Layout {
  return Array<number>(m).fill(each);
}

export function unbalanced60(m: number): Layout {
  return [Math.round(1.5 * (m - 1)), ...Array<number>(m - 1).fill(1)];
}

export function curveSeries(label: string, layout: Layout, q: RiskQuery, from: number, to: number): Series {
  const curve = keepCurve(layout, q, to);
  const points: Series['points'] = [];
  for (let n = from; n <= to; n++) points.push({ x: n, y: curve[n] as number });
  return { label, points };
}

function curvesFigure(n: 2 | 3, m: number, maxAttacks: number): Chart {
  const bal = balancedOf(m);
  const unb = unbalanced60(m);
  return {
    title: `Figure ${n}: probability of conserving the PM majority, ${m} PMs (byzantine-vm)`,
    xLabel: 'attacks',
    yLabel: 'P(PM majority kept)',
    yKind: 'probability',
    series: [
      curveSeries(`balanced [${m}x2] without removal`, bal, BVM(false), 0, maxAttacks),
      curveSeries(`unbalanced (60%) [${unb[0]},1x${m - 1}] without removal`, unb, BVM(false), 0, maxAttacks),
      curveSeries(`balanced [${m}x2] with removal`, bal, BVM(true), 0, maxAttacks),
      curveSeries(`unbalanced (60%) [${unb[0]},1x${m - 1}] with removal`, unb, BVM(true), 0, maxAttacks),
    ],
  };
}

export function paperFigure(n: number): Chart {
  switch (n) {
    case 2:
      return curvesFigure(2, 5, 20);
    case 3:
      return curvesFigure(3, 21, 100);
    case 4: {
      const ms = Array.from({ length: 25 }, (_, i) => 3 + 2 * i);
      const pts = (f: (m: number) => Layout) =>
        ms.map((m) => ({ x: m, y: attacksToBreak(f(m), BVM(false)) ?? Number.NaN }));
      return {
        title: 'Figure 4: attacks until the PM majority is lost with probability > 1/2, by number of PMs',
        xLabel: 'PMs',
        yLabel: 'attacks to break',
        yKind: 'count',
        series: [
          { label: 'balanced (2 VMs per PM)', points: pts((m) => balancedOf(m)) },
          { label: 'unbalanced (60%)', points: pts(unbalanced60) },
        ],
      };
    }
    case 5: {
      const points = Array.from({ length: 10 }, (_, i) => {
        const k = i + 1;
        const layout = [10 * k, ...Array<number>(10).fill(11 - k)];
        return { x: k / 11, y: attacksToBreak(layout, BVM(false)) ?? Number.NaN };
      });
      return {
        title: 'Figure 5: attacks until the PM majority is lost with probability > 1/2, by unbalance factor (11 PMs)',
        xLabel: 'share of VMs on the largest PM',
        yLabel: 'attacks to break',
        yKind: 'count',
        series: [{ label: '11 PMs, 110 VMs, without removal', points }],
      };
    }
    default:
      throw placementError('TC109', `there is no Figure ${n} to reproduce`, { hint: 'use --figure 2, 3, 4 or 5' });
  }
}
