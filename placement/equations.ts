/**
 * The paper's closed forms, and our derivation of its Eq. 2 (garbled in print).
 *
 * Eq. 1: a PM with v_i VMs fails when all its VMs are among the n crashed ones (n distinct of v):
 *   P_fi(n) = C(v_i, v_i) C(v - v_i, n - v_i) / C(v, n) = n (n-1) ... (n - v_i + 1) / (v (v-1) ... (v - v_i + 1)).
 * Expected failed PMs = sum_i P_fi(n) (linearity); for other threats, sum_i P(PM i lost after n).
 * Eq. 3: if PMs are up with the same probability P[Y=1] and VMs do not fail themselves,
 *   E[Z] = sum_i v_i P[Y_i = 1] = P[Y = 1] v, whatever the layout.
 *
 * Eq. 2 (Johnson & Kotz, Urn Models, Eq. 3.5). Let X be the number of urns (PMs) with no black ball after
 * n draws with replacement, urn j drawn with probability p_j, and A_j the event "urn j never drawn". For a
 * set A of j urns, P(all of A empty) = (1 - sum_{a in A} p_a)^n; call S_j the sum of these over all j-sets.
 * The standard identity for "at least k of m events" (Feller, vol. 1, IV.3) then gives
 *   P(X >= k) = sum_{j=k}^{m} (-1)^{j-k} C(j-1, k-1) S_j,   S_j = sum_{|A|=j} (1 - sum_{a in A} p_a)^n.
 * (The printed version has coefficients k/(k-1), (k+1)/(k-1), ...; the right ones are C(j-1, k-1):
 * 1, k, k(k+1)/2, ...) The alternating sum cancels catastrophically for large m, so the advisor never uses
 * it: eq2KeepProbability exists as an independent check of the DP for small m (tests).
 */
import { placementError } from './codes.js';
import { validateLayout } from './layout.js';
import { majority } from './model.js';
import type { Layout, RiskQuery } from './types.js';

/** Eq. 1: probability that a PM with `vi` of `v` VMs has lost all of them after `n` distinct VM crashes. */
export function eq1FailureProbability(vi: number, v: number, n: number): number {
  if (n < vi) return 0;
  if (n >= v) return 1;
  let p = 1;
  for (let k = 0; k < vi; k++) p *= (n - k) / (v - k);
  return p;
}

/** Probability that none of `u` specific units of `U` is among `n` distinct picks: C(U-u, n)/C(U, n). */
function untouchedDistinct(u: number, U: number, n: number): number {
  if (n > U - u) return 0;
  let p = 1;
  for (let k = 0; k < u; k++) p *= (U - n - k) / (U - k);
  return p;
}

/** P(PM i is lost after n faults) for each PM, by threat (threats.md). Targeted: the n largest are lost. */
export function lostProbabilities(layoutIn: Layout, q: RiskQuery, n: number): number[] {
  const layout = validateLayout(layoutIn);
  const m = layout.length;
  const v = layout.reduce((a, b) => a + b, 0);
  switch (q.threat) {
    case 'crash-vm':
      return layout.map((vi) => eq1FailureProbability(vi, v, n));
    case 'crash-pm':
    case 'byzantine-pm':
      return layout.map(() => (q.removal ? Math.min(n, m) / m : 1 - (1 - 1 / m) ** n));
    case 'byzantine-vm':
      return layout.map((vi) => (q.removal ? 1 - untouchedDistinct(vi, v, n) : 1 - (1 - vi / v) ** n));
    case 'targeted-pm':
    case 'targeted-vm': {
      const order = layout.map((vi, i) => [vi, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      const out = layout.map(() => 0);
      order.slice(0, Math.min(n, m)).forEach(([, i]) => {
        out[i] = 1;
      });
      return out;
    }
  }
}

/** Expected number of lost PMs after n faults (Eq. 1 summed, for crash-vm). */
export function expectedFailedPms(layout: Layout, q: RiskQuery, n: number): number {
  return lostProbabilities(layout, q, n).reduce((a, b) => a + b, 0);
}

/**
 * Expected number of correct VMs after n faults: VMs on PMs not lost, or for crash-vm the VMs not crashed
 * (v - n, whatever the layout).
 */
export function expectedCleanVms(layout: Layout, q: RiskQuery, n: number): number {
  const v = layout.reduce((a, b) => a + b, 0);
  if (q.threat === 'crash-vm') return Math.max(0, v - n);
  const lost = lostProbabilities(layout, q, n);
  return layout.reduce((acc, vi, i) => acc + vi * (1 - (lost[i] as number)), 0);
}

/** Eq. 3: E[Z] = P[Y=1] v, for PMs that are each up with probability `pUp`. */
export function eq3ExpectedCorrectVms(layout: Layout, pUp: number): number {
  return validateLayout(layout).reduce((acc, vi) => acc + vi * pUp, 0);
}

/**
 * Eq. 2 as derived above: P(at least k PMs untouched after n draws with replacement), urn j drawn with
 * probability v_j / v (byzantine-vm) or 1/m (`uniform`, for crash-pm / byzantine-pm). Default k = floor(m/2)+1.
 * Reference only (alternating sum; exponential in nothing but unstable for large m): limited to m <= 40.
 */
export function eq2KeepProbability(layoutIn: Layout, n: number, opts: { k?: number; uniform?: boolean } = {}): number {
  const layout = validateLayout(layoutIn);
  const m = layout.length;
  if (m > 40) throw placementError('TC106', 'Eq. 2 (inclusion-exclusion) is only evaluated for m <= 40 PMs');
  const k = opts.k ?? majority(m);
  const units = opts.uniform ? layout.map(() => 1) : layout;
  const U = units.reduce((a, b) => a + b, 0);
  // cnt[j][w]: number of j-sets of urns with total units w (exact integers below 2^53 for m <= 40).
  const cnt: number[][] = Array.from({ length: m + 1 }, () => new Array<number>(U + 1).fill(0));
  (cnt[0] as number[])[0] = 1;
  for (const u of units) {
    for (let j = m; j >= 1; j--) {
      const row = cnt[j] as number[];
      const prev = cnt[j - 1] as number[];
      for (let w = U; w >= u; w--) row[w] = (row[w] as number) + (prev[w - u] as number);
    }
  }
  let binom = 1; // C(j-1, k-1), starting at j = k
  let total = 0;
  for (let j = k; j <= m; j++) {
    if (j > k) binom = (binom * (j - 1)) / (j - k);
    let S = 0;
    const row = cnt[j] as number[];
    for (let w = 0; w <= U; w++) if (row[w]) S += (row[w] as number) * (1 - w / U) ** n;
    total += ((j - k) % 2 === 0 ? 1 : -1) * binom * S;
  }
  return total;
}
