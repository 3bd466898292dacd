/**
 * Advice: the layout of v VMs on m PMs (each PM >= 1 VM, at most K) that maximizes P(majority kept after
 * n faults); ties broken by attacks-to-break (more is better), then by balance (spreads load; the
 * conventional choice when the risk is equal).
 *
 * Method, in this order:
 * 1. exhaustive: every layout (integer partition) when there are at most EXHAUSTIVE_MAX of them;
 * 2. rule: a proven rule (see threats.md, "Proofs"):
 *    - the layout does not matter at all (crash-pm / byzantine-pm / targeted with a PM majority,
 *      crash-vm with a VM majority): we recommend the balanced layout;
 *    - byzantine-vm + PM majority: the most unbalanced layout under K (Theorem 1, for every n, both draws);
 *    - crash-vm + PM majority: balanced (stochastic order, for every n);
 *    - targeted + VM majority: balanced (the attacker takes the largest PMs);
 * 3. search: steepest-ascent local search over moves of 1, 2, 4, ... VMs between two PMs, from several starts (balanced, most
 *    unbalanced, a few "k heavy PMs" layouts). Not guaranteed optimal; it says so.
 */

import { isTcError } from '../kernel/errors.js';
import { placementError } from './codes.js';
import {
  balancedLayout,
  capacity,
  countLayouts,
  EXHAUSTIVE_MAX,
  enumerateLayouts,
  sortedDesc,
  unbalancedLayout,
  validateSizes,
} from './layout.js';
import { removalMatters, urnModel, validateQuery } from './model.js';
import { layoutText } from './render.js';
import { modelBreak, modelCurve } from './risk.js';
import { table1Cell } from './table1.js';
import type { Advice, AdviseParams, Layout, LayoutFigures, RiskQuery, Threat } from './types.js';

const SEARCH_MAX_EVALS = 300;
const TOL = 1e-12;

type Rule = { kind: 'any' | 'balanced' | 'unbalanced'; why: string };

/** The proven rule for a case, if there is one. */
export function provenRule(q: RiskQuery): Rule | undefined {
  const { threat, keep } = q;
  if (keep === 'pm-majority' && (threat === 'crash-pm' || threat === 'byzantine-pm')) {
    return {
      kind: 'any',
      why: 'every PM is equally likely to be lost, so P(kept) depends only on m: all layouts are equal',
    };
  }
  if (keep === 'pm-majority' && isTargeted(threat)) {
    return { kind: 'any', why: 'each targeted attack takes one more PM, whatever the layout: all layouts are equal' };
  }
  if (keep === 'vm-majority' && threat === 'crash-vm') {
    return {
      kind: 'any',
      why: 'after n VM crashes exactly v-n VMs are up, whatever the layout: all layouts are equal',
    };
  }
  if (keep === 'pm-majority' && threat === 'byzantine-vm') {
    return {
      kind: 'unbalanced',
      why: 'Theorem 1 (proved for every n and k, with and without removal, also under a capacity K: moving a VM to a larger PM can only make the number of clean PMs stochastically larger)',
    };
  }
  if (keep === 'pm-majority' && threat === 'crash-vm') {
    return {
      kind: 'balanced',
      why: 'moving a VM from a larger to a smaller PM can only make the number of failed PMs stochastically smaller (C(x, r) is convex), for every n',
    };
  }
  if (keep === 'vm-majority' && isTargeted(threat)) {
    return {
      kind: 'balanced',
      why: 'the attacker takes the largest PMs, and the balanced layout minimizes the VMs on the n largest PMs for every n',
    };
  }
  return undefined;
}

function isTargeted(t: Threat): boolean {
  return t === 'targeted-pm' || t === 'targeted-vm';
}

function layoutKey(l: Layout): string {
  return sortedDesc(l).join(',');
}

function squares(l: Layout): number {
  return l.reduce((a, x) => a + x * x, 0);
}

class Evaluator {
  /** Set when every layout is provably equal (rule 'any'): ties then need no attacks-to-break. */
  allEqual = false;
  private readonly p = new Map<string, number>();
  private readonly b = new Map<string, number | null>();
  evals = 0;
  constructor(
    private readonly q: RiskQuery,
    readonly n: number,
  ) {}

  pKeep(l: Layout): number {
    const key = layoutKey(l);
    let x = this.p.get(key);
    if (x === undefined) {
      this.evals++;
      x = modelCurve(urnModel(l, this.q), this.n)[this.n] as number;
      this.p.set(key, x);
    }
    return x;
  }

  breakAt(l: Layout): number | null {
    const key = layoutKey(l);
    if (!this.b.has(key)) this.b.set(key, modelBreak(urnModel(l, this.q)));
    return this.b.get(key) as number | null;
  }

  figures(l: Layout): LayoutFigures {
    return { layout: sortedDesc(l), pKeep: this.pKeep(l), attacksToBreak: this.breakAt(l) };
  }

  /** Negative when a is better than b. */
  compare(a: Layout, b: Layout): number {
    const pa = this.pKeep(a);
    const pb = this.pKeep(b);
    if (Math.abs(pa - pb) > TOL) return pb - pa;
    if (this.allEqual)
      return squares(a) - squares(b) || (layoutKey(a) < layoutKey(b) ? -1 : layoutKey(a) > layoutKey(b) ? 1 : 0);
    const ba = this.breakAt(a) ?? Number.POSITIVE_INFINITY;
    const bb = this.breakAt(b) ?? Number.POSITIVE_INFINITY;
    if (ba !== bb) return ba > bb ? -1 : 1;
    const sa = squares(a);
    const sb = squares(b);
    if (sa !== sb) return sa - sb;
    return layoutKey(a) < layoutKey(b) ? -1 : layoutKey(a) > layoutKey(b) ? 1 : 0;
  }
}

function fmt(p: number): string {
  return p.toFixed(4);
}

function showLayout(l: Layout): string {
  return layoutText(sortedDesc(l));
}

/** Local search (steepest ascent over moves of 1, 2, 4, ... VMs) from several starts. */
function localSearch(ev: Evaluator, vms: number, pms: number, K: number): { best: Layout; evals: number } {
  const starts: Layout[] = [balancedLayout(vms, pms), unbalancedLayout(vms, pms, K)];
  for (const heavy of new Set([2, 3, Math.ceil(pms / 4), Math.ceil(pms / 2)])) {
    if (heavy < 2 || heavy >= pms) continue;
    const rest = vms - (pms - heavy); // VMs for the heavy PMs
    const q = Math.floor(rest / heavy);
    const r = rest % heavy;
    const l = [...Array.from({ length: heavy }, (_, i) => (i < r ? q + 1 : q)), ...Array<number>(pms - heavy).fill(1)];
    if (Math.max(...l) <= K) starts.push(l);
  }
  let best: Layout | undefined;
  const safe = (l: Layout): boolean => {
    try {
      ev.pKeep(l);
      return true;
    } catch (e) {
      if (isTcError(e) && e.code === 'TC106') return false; // too costly to evaluate exactly: skip this layout
      throw e;
    }
  };
  for (const start of starts) {
    if (ev.evals >= SEARCH_MAX_EVALS) break;
    if (!safe(start)) continue;
    let cur = sortedDesc(start);
    for (;;) {
      let bestNeighbor: Layout | undefined;
      const sizes = [...new Set(cur)];
      // Move d VMs from a PM of size a to one of size b, d = 1, 2, 4, ...: the larger steps let the search
      // cross big layouts (e.g. from [901,1,...,1]) in a few moves instead of hundreds.
      for (const a of sizes) {
        for (const b of sizes) {
          for (let d = 1; d < a && b + d <= K; d *= 2) {
            if (a === b || a - d === b) continue; // same PM size, or a mere swap of the two PMs
            const next = [...cur];
            next[next.indexOf(a)] = a - d;
            next[next.indexOf(b)] = b + d;
            if (ev.evals >= SEARCH_MAX_EVALS || !safe(next)) continue;
            if (!bestNeighbor || ev.compare(next, bestNeighbor) < 0) bestNeighbor = sortedDesc(next);
          }
        }
      }
      if (bestNeighbor && ev.compare(bestNeighbor, cur) < 0) cur = bestNeighbor;
      else break;
    }
    if (!best || ev.compare(cur, best) < 0) best = cur;
  }
  if (!best) {
    throw placementError('TC106', `no layout of ${vms} VMs on ${pms} PMs can be evaluated exactly within the budget`, {
      hint: 'use fewer attacks or fewer PMs',
    });
  }
  return { best, evals: ev.evals };
}

/** `opts.method` forces a method (tests and the benchmark compare them); normal callers leave it out. */
export function advise(p: AdviseParams, opts: { method?: Advice['method'] } = {}): Advice {
  validateSizes(p.vms, p.pms);
  const q = validateQuery(p);
  const { vms, pms } = p;
  const K = capacity(vms, pms, p.maxPerPm);
  if (p.attacks !== undefined && (!Number.isInteger(p.attacks) || p.attacks < 0)) {
    throw placementError('TC105', `attacks must be a non-negative integer, got ${String(p.attacks)}`);
  }
  const balanced = balancedLayout(vms, pms);
  const unbalanced = unbalancedLayout(vms, pms, K);
  const notes: string[] = [];
  let n = p.attacks;
  if (n === undefined) {
    const b = modelBreak(urnModel(balanced, q));
    const survives = (b ?? pms + 1) - 1;
    // Figures after zero faults say nothing (every layout keeps its majority), so evaluate at least one; but
    // then say that the balanced layout does not survive it, rather than claim it does.
    n = Math.max(1, survives);
    notes.push(
      survives >= 1
        ? `no --attacks given: figures are after n = ${n} fault${n === 1 ? '' : 's'}, the most the balanced layout survives with probability >= 1/2 (its attacks-to-break minus one)`
        : 'no --attacks given: figures are after n = 1 fault, which even the balanced layout survives with probability < 1/2',
    );
  }
  const ev = new Evaluator(q, n);
  const rule = provenRule(q);
  ev.allEqual = rule?.kind === 'any';
  const count = vms - pms <= 300 ? countLayouts(vms, pms, K, EXHAUSTIVE_MAX) : Number.POSITIVE_INFINITY;
  let method: Advice['method'];
  let best: Layout;
  const forced = opts.method;
  if (forced === 'rule' && !rule) throw placementError('TC106', `no proven rule for ${q.threat} with a ${q.keep}`);
  if ((forced === undefined && count <= EXHAUSTIVE_MAX) || forced === 'exhaustive') {
    method = 'exhaustive';
    let top: Layout | undefined;
    const all = [...enumerateLayouts(vms, pms, K)];
    // pKeep for all, then the tie-breaks only among the best.
    const pmax = Math.max(...all.map((l) => ev.pKeep(l)));
    for (const l of all) {
      if (Math.abs(ev.pKeep(l) - pmax) > TOL) continue;
      if (!top || ev.compare(l, top) < 0) top = l;
    }
    best = top as Layout;
    notes.push(
      `exhaustive: compared all ${all.length} layouts of ${vms} VMs on ${pms} PMs${p.maxPerPm ? ` with at most ${K} per PM` : ''}`,
    );
    if (rule) {
      // The proven rule must give the same figure as the exhaustive search; say so, or say plainly that it did not.
      const ruleLayout = rule.kind === 'unbalanced' ? unbalanced : balanced;
      notes.push(
        Math.abs(ev.pKeep(ruleLayout) - ev.pKeep(best)) <= TOL
          ? `agrees with the proven rule: ${rule.why}`
          : `the proven rule's layout ${showLayout(ruleLayout)} scores ${fmt(ev.pKeep(ruleLayout))}, below ${fmt(ev.pKeep(best))}: this contradicts the rule (${rule.why}); please report it`,
      );
    }
  } else if (rule && forced !== 'search') {
    method = 'rule';
    best = rule.kind === 'unbalanced' ? unbalanced : balanced;
    notes.push(`rule: ${rule.why}${rule.kind === 'any' ? '; balanced is recommended because it spreads load' : ''}`);
  } else {
    method = 'search';
    const r = localSearch(ev, vms, pms, K);
    best = r.best;
    notes.push(
      `search: ${count > 1e15 ? 'too many' : `${count >= EXHAUSTIVE_MAX ? `more than ${EXHAUSTIVE_MAX}` : count}`} layouts for an exhaustive comparison and no proven rule for this case; local search (moves of 1, 2, 4, ... VMs between two PMs) over ${
        r.evals
      } exact evaluations; the result is a local optimum, not guaranteed global`,
    );
  }
  const recommended = ev.figures(best);
  const bal = ev.figures(balanced);
  const unb = ev.figures(unbalanced);
  const table1 = table1Cell(q.threat, q.keep);
  notes.push(...compareWithTable1(table1, recommended, bal, unb, n));
  if (q.removal && !removalMatters(q.threat)) {
    notes.push(
      q.threat === 'crash-vm'
        ? '--removal changes nothing for crash-vm: a crash always hits a VM that has not crashed yet'
        : '--removal changes nothing for targeted threats: the attacker always picks a new target',
    );
  }
  if (p.maxPerPm !== undefined && K < vms - pms + 1) {
    notes.push(`capacity: at most ${K} VMs per PM, so the most unbalanced layout allowed is ${showLayout(unbalanced)}`);
  }
  return { recommended, balanced: bal, unbalanced: unb, table1, method, notes, attacks: n };
}

function same(a: LayoutFigures, b: LayoutFigures): boolean {
  return layoutKey(a.layout) === layoutKey(b.layout);
}

/** Plain statements of where the exact figures and the paper's Table 1 disagree (or agree). */
export function compareWithTable1(
  cell: Advice['table1'],
  rec: LayoutFigures,
  bal: LayoutFigures,
  unb: LayoutFigures,
  n: number,
): string[] {
  const notes: string[] = [];
  const diff = Math.abs(bal.pKeep - unb.pKeep) > TOL || Math.abs(rec.pKeep - bal.pKeep) > TOL;
  const after = `after ${n} fault${n === 1 ? '' : 's'}`;
  const figs = `balanced ${showLayout(bal.layout)} keeps it with ${fmt(bal.pKeep)}, most unbalanced ${showLayout(unb.layout)} with ${fmt(unb.pKeep)}`;
  if (cell === 'irrelevant') {
    if (diff) {
      notes.push(
        `disagrees with Table 1 ("irrelevant", which compares expected counts): the probability of keeping the majority depends on the layout ${after}: ${figs}`,
      );
    } else if (bal.attacksToBreak !== unb.attacksToBreak) {
      notes.push(
        `Table 1 says irrelevant; P(kept) is equal ${after} but the attacks to break differ (${bal.attacksToBreak} vs ${unb.attacksToBreak})`,
      );
    } else notes.push(`agrees with Table 1 ("irrelevant") ${after}: ${figs}`);
  } else {
    const named = cell === 'balanced' ? bal : unb;
    if (rec.pKeep > named.pKeep + TOL) {
      notes.push(
        `disagrees with Table 1 ("${cell}") ${after}: ${showLayout(rec.layout)} keeps the majority with ${fmt(rec.pKeep)}, the ${cell} layout only with ${fmt(named.pKeep)}`,
      );
    } else if (!diff) {
      notes.push(
        `Table 1 says ${cell}; ${after} the layouts compared keep the majority with the same probability ${fmt(bal.pKeep)}; attacks to break: balanced ${bal.attacksToBreak}, most unbalanced ${unb.attacksToBreak}, recommended ${rec.attacksToBreak}`,
      );
    } else notes.push(`agrees with Table 1 ("${cell}") ${after}: ${figs}`);
  }
  if (!same(rec, bal) && !same(rec, unb) && rec.pKeep > Math.max(bal.pKeep, unb.pKeep) + TOL) {
    notes.push(
      `an intermediate layout beats both extremes ${after}: ${showLayout(rec.layout)} keeps the majority with ${fmt(rec.pKeep)} (balanced ${fmt(bal.pKeep)}, most unbalanced ${fmt(unb.pKeep)})`,
    );
  }
  return notes;
}
