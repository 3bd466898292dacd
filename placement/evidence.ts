/**
 * Exact evidence for each of the 12 cells of the paper's Table 1, for one (v, m): all layouts are compared
 * on their whole curves (n = 0..horizon). A cell is
 * - irrelevant: every layout has the same curve;
 * - balanced / unbalanced: that extreme is at least as good as every layout at every n (and something differs);
 * - mixed: which layout is best depends on n, or an intermediate layout wins somewhere.
 */
import { placementError } from './codes.js';
import {
  balancedLayout,
  countLayouts,
  EXHAUSTIVE_MAX,
  enumerateLayouts,
  unbalancedLayout,
  validateSizes,
} from './layout.js';
import { urnModel } from './model.js';
import { modelBreak, modelCurve } from './risk.js';
import { TABLE1 } from './table1.js';
import { KEEP_NAMES, type Keep, type Layout, type Table1Cell, THREAT_NAMES, type Threat } from './types.js';

const TOL = 1e-12;

export interface Counterexample {
  attacks: number;
  layout: Layout;
  pKeep: number;
  balanced: number;
  unbalanced: number;
}

export interface CellEvidence {
  threat: Threat;
  keep: Keep;
  table1: Table1Cell;
  exact: Table1Cell | 'mixed';
  agrees: boolean;
  /** Attacks to break of the balanced and most unbalanced layouts, and the best over all layouts. */
  attacksToBreak: { balanced: number | null; unbalanced: number | null; best: number | null; bestLayout: Layout };
  /** Where the Table 1 choice is beaten (or, for "irrelevant", where layouts differ most): up to 3. */
  counterexamples: Counterexample[];
  /** First n at which a layout other than both extremes beats both, if any. */
  intermediate: Counterexample | null;
  summary: string;
}

export interface TableEvidence {
  vms: number;
  pms: number;
  removal: boolean;
  layouts: number;
  horizon: number;
  cells: CellEvidence[];
}

const show = (l: Layout) => `[${l.join(',')}]`;
const key = (l: Layout) => l.join(',');

function classify(curves: number[][], bi: number, ui: number, H: number): Table1Cell | 'mixed' {
  let allEqual = true;
  let balBest = true;
  let unbBest = true;
  for (let n = 0; n <= H; n++) {
    let max = -1;
    let min = 2;
    for (const c of curves) {
      max = Math.max(max, c[n] as number);
      min = Math.min(min, c[n] as number);
    }
    if (max - min > TOL) allEqual = false;
    if ((curves[bi] as number[])[n]! < max - TOL) balBest = false;
    if ((curves[ui] as number[])[n]! < max - TOL) unbBest = false;
  }
  if (allEqual) return 'irrelevant';
  if (balBest && !unbBest) return 'balanced';
  if (unbBest && !balBest) return 'unbalanced';
  return 'mixed';
}

export function tableEvidence(vms: number, pms: number, removal: boolean): TableEvidence {
  validateSizes(vms, pms);
  const count = vms - pms <= 300 ? countLayouts(vms, pms, vms - pms + 1, EXHAUSTIVE_MAX) : Number.POSITIVE_INFINITY;
  if (count > EXHAUSTIVE_MAX) {
    throw placementError('TC106', `${vms} VMs on ${pms} PMs have more than ${EXHAUSTIVE_MAX} layouts to compare`, {
      hint: "the table compares every layout; use fewer VMs (e.g. --vms 10 --pms 5, the paper's case)",
    });
  }
  const layouts = [...enumerateLayouts(vms, pms, vms - pms + 1)];
  const bal = balancedLayout(vms, pms);
  const unb = unbalancedLayout(vms, pms);
  const bi = layouts.findIndex((l) => key(l) === key(bal));
  const ui = layouts.findIndex((l) => key(l) === key(unb));
  const cells: CellEvidence[] = [];
  // One horizon for the whole table: past the last attacks-to-break of every layout and case.
  let horizon = 0;
  const breaks = new Map<string, (number | null)[]>();
  for (const threat of THREAT_NAMES) {
    for (const keep of KEEP_NAMES) {
      const q = { threat, keep, removal };
      const b = layouts.map((l) => modelBreak(urnModel(l, q)));
      breaks.set(`${threat}/${keep}`, b);
      for (const x of b) if (x !== null) horizon = Math.max(horizon, x);
    }
  }
  horizon = Math.min(Math.max(horizon + 2, 2 * pms), 4 * vms + 8);
  for (const threat of THREAT_NAMES) {
    for (const keep of KEEP_NAMES) {
      const q = { threat, keep, removal };
      const curves = layouts.map((l) => modelCurve(urnModel(l, q), horizon));
      const exact = classify(curves, bi, ui, horizon);
      const table1 = TABLE1[threat][keep];
      const b = breaks.get(`${threat}/${keep}`) as (number | null)[];
      let bestIdx = 0;
      b.forEach((x, i) => {
        if ((x ?? Number.POSITIVE_INFINITY) > (b[bestIdx] ?? Number.POSITIVE_INFINITY)) bestIdx = i;
      });
      const named = table1 === 'unbalanced' ? ui : bi;
      const gaps: { n: number; gap: number; arg: number }[] = [];
      let intermediate: Counterexample | null = null;
      for (let n = 0; n <= horizon; n++) {
        let arg = named;
        let max = (curves[named] as number[])[n] as number;
        let min = max;
        curves.forEach((c, i) => {
          const y = c[n] as number;
          min = Math.min(min, y);
          if (y > max + TOL) {
            max = y;
            arg = i;
          }
        });
        const balY = (curves[bi] as number[])[n] as number;
        const unbY = (curves[ui] as number[])[n] as number;
        const gap = table1 === 'irrelevant' ? max - min : max - ((curves[named] as number[])[n] as number);
        if (gap > TOL) gaps.push({ n, gap, arg: table1 === 'irrelevant' ? argmax(curves, n) : arg });
        if (!intermediate) {
          const top = argmax(curves, n);
          const y = (curves[top] as number[])[n] as number;
          if (top !== bi && top !== ui && y > Math.max(balY, unbY) + TOL) {
            intermediate = { attacks: n, layout: layouts[top] as Layout, pKeep: y, balanced: balY, unbalanced: unbY };
          }
        }
      }
      gaps.sort((a, c) => c.gap - a.gap || a.n - c.n);
      const counterexamples = gaps.slice(0, 3).map(({ n, arg }) => ({
        attacks: n,
        layout: layouts[arg] as Layout,
        pKeep: (curves[arg] as number[])[n] as number,
        balanced: (curves[bi] as number[])[n] as number,
        unbalanced: (curves[ui] as number[])[n] as number,
      }));
      const agrees = exact === table1;
      cells.push({
        threat,
        keep,
        table1,
        exact,
        agrees,
        attacksToBreak: {
          balanced: b[bi] ?? null,
          unbalanced: b[ui] ?? null,
          best: b[bestIdx] ?? null,
          bestLayout: layouts[bestIdx] as Layout,
        },
        counterexamples,
        intermediate,
        summary: summarize(table1, exact, counterexamples, intermediate),
      });
    }
  }
  return { vms, pms, removal, layouts: layouts.length, horizon, cells };
}

function argmax(curves: number[][], n: number): number {
  let best = 0;
  curves.forEach((c, i) => {
    if ((c[n] as number) > ((curves[best] as number[])[n] as number) + TOL) best = i;
  });
  return best;
}

function summarize(
  table1: Table1Cell,
  exact: Table1Cell | 'mixed',
  ce: Counterexample[],
  inter: Counterexample | null,
): string {
  const first = ce[0];
  const parts: string[] = [];
  if (exact === table1) parts.push(`agrees: ${exact}`);
  else if (first) {
    parts.push(
      table1 === 'irrelevant'
        ? `layout matters: after ${first.attacks} faults P(kept) is ${first.balanced.toFixed(4)} balanced vs ${first.unbalanced.toFixed(4)} unbalanced, best ${show(first.layout)} ${first.pKeep.toFixed(4)}`
        : `${table1} is beaten: after ${first.attacks} faults ${show(first.layout)} keeps ${first.pKeep.toFixed(4)} vs ${table1} ${(table1 === 'balanced' ? first.balanced : first.unbalanced).toFixed(4)}`,
    );
  } else parts.push(`exact: ${exact}`);
  if (inter) {
    parts.push(
      `intermediate ${show(inter.layout)} beats both extremes after ${inter.attacks} faults (${inter.pKeep.toFixed(4)} vs ${inter.balanced.toFixed(4)} / ${inter.unbalanced.toFixed(4)})`,
    );
  }
  return parts.join('; ');
}
