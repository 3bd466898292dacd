/**
 * Exact curves by dynamic programming over the PMs, for layouts whose chain (chain.ts) would have too many
 * states (many distinct PM sizes). Both programs add only non-negative terms, so there is no cancellation
 * however large m is (the paper's Eq. 2, an alternating inclusion-exclusion sum, loses all its digits for
 * large m; see equations.ts).
 *
 * replaceCurve ('replace' draws, 'contaminated' PMs): exponential generating functions. For a set S of PMs
 * with total probability P_S, alpha_S[k][z] is the probability that k draws conditioned to land in S leave
 * clean weight z (capped at the threshold T, which stands for ">= T"). Adding PM j (probability p) splits
 * the k draws binomially, i in S and k-i in j with r = P_S/(P_S+p):
 *   alpha'[k][z] = B_r(k,k) alpha[k][z - w_j] + sum_{i<k} B_r(k,i) alpha[i][z]
 * (no draw on j keeps it clean). After all PMs P_S = 1 and alpha[n][T] = P(kept after n). The EGF identity
 * n! [x^n] prod_j (z^{w_j} + e^{p_j x} - 1) is the same computation in normalized form.
 *
 * distinctCurve ('distinct' draws, either status): ordinary generating functions with hypergeometric
 * normalization. beta[r][z] is the probability that a uniform r-subset of the units seen so far leaves clean
 * weight z; adding a PM with u units, t of the r picked units fall on it with probability
 * C(V0, r-t) C(u, t) / C(V0+u, r) (computed from log-factorials, always in [0, 1]).
 */
import type { Model } from './model.js';

type UrnModel = Extract<Model, { kind: 'urn' }>;

/** Rough operation counts, used to pick the cheaper method and to refuse unbounded work (TC106). */
export function replaceCost(model: UrnModel, N: number): number {
  const Z = model.threshold + 1;
  return model.units.length * (N + 1) * (N + 2) * 0.5 * (Z + 1);
}

export function distinctCost(model: UrnModel, N: number): number {
  const Z = model.threshold + 1;
  let V0 = 0;
  let cost = 0;
  for (const u of model.units) {
    V0 += u;
    cost += (Math.min(N, V0) + 1) * (Math.min(u, N) + 1) * Z;
  }
  return cost;
}

export function replaceCurve(model: UrnModel, N: number): number[] {
  const T = model.threshold;
  const Z = T + 1;
  const U = model.totalUnits;
  const m = model.units.length;
  let alpha = new Float64Array((N + 1) * Z);
  let next = new Float64Array((N + 1) * Z);
  const row = new Float64Array(N + 1); // binomial row B_r(k, .)
  const newRow = new Float64Array(N + 1);
  // First PM alone: all draws on it; clean only with zero draws.
  const w0 = model.weights[0] as number;
  alpha[Math.min(w0, T)] = 1;
  for (let k = 1; k <= N; k++) alpha[k * Z] = 1;
  let P = (model.units[0] as number) / U;
  for (let j = 1; j < m; j++) {
    const p = (model.units[j] as number) / U;
    const w = model.weights[j] as number;
    const r = P / (P + p);
    const s = 1 - r;
    next.fill(0);
    row.fill(0);
    row[0] = 1; // k = 0
    for (let k = 0; k <= N; k++) {
      if (k > 0) {
        // Pascal step: B(k,i) = r B(k-1,i-1) + s B(k-1,i)
        newRow[0] = s * (row[0] as number);
        for (let i = 1; i <= k; i++) newRow[i] = r * (row[i - 1] as number) + s * (row[i] as number);
        row.set(newRow.subarray(0, k + 1));
      }
      const out = k * Z;
      // i = k: no draw on PM j, it stays clean.
      const bkk = row[k] as number;
      if (bkk > 0) {
        const src = k * Z;
        for (let z = 0; z < Z; z++) {
          const x = alpha[src + z] as number;
          if (x === 0) continue;
          const to = out + Math.min(z + w, T);
          next[to] = (next[to] as number) + bkk * x;
        }
      }
      for (let i = 0; i < k; i++) {
        const b = row[i] as number;
        if (b === 0) continue;
        const src = i * Z;
        for (let z = 0; z < Z; z++) next[out + z] = (next[out + z] as number) + b * (alpha[src + z] as number);
      }
    }
    [alpha, next] = [next, alpha];
    P += p;
  }
  const curve: number[] = [];
  for (let k = 0; k <= N; k++) curve.push(Math.min(1, alpha[k * Z + T] as number));
  return curve;
}

function logFactorials(n: number): Float64Array {
  const lf = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) lf[i] = (lf[i - 1] as number) + Math.log(i);
  return lf;
}

export function distinctCurve(model: UrnModel, N: number): number[] {
  const T = model.threshold;
  const Z = T + 1;
  const U = model.totalUnits;
  const R = Math.min(N, U);
  const lf = logFactorials(U);
  const lc = (a: number, b: number) => (lf[a] as number) - (lf[b] as number) - (lf[a - b] as number);
  let beta = new Float64Array((R + 1) * Z);
  let next = new Float64Array((R + 1) * Z);
  beta[0] = 1; // no PM yet: zero units, zero clean weight
  let V0 = 0;
  const exhausted = model.status === 'exhausted';
  for (let j = 0; j < model.units.length; j++) {
    const u = model.units[j] as number;
    const w = model.weights[j] as number;
    const V1 = V0 + u;
    next.fill(0);
    const rMax = Math.min(R, V1);
    for (let r = 0; r <= rMax; r++) {
      const tLo = Math.max(0, r - V0);
      const tHi = Math.min(u, r);
      const lTotal = lc(V1, r);
      for (let t = tLo; t <= tHi; t++) {
        const weight = Math.exp(lc(V0, r - t) + lc(u, t) - lTotal);
        if (weight === 0) continue;
        const clean = exhausted ? t < u : t === 0;
        const src = (r - t) * Z;
        const out = r * Z;
        if (clean) {
          for (let z = 0; z < Z; z++) {
            const x = beta[src + z] as number;
            if (x === 0) continue;
            const to = out + Math.min(z + w, T);
            next[to] = (next[to] as number) + weight * x;
          }
        } else {
          for (let z = 0; z < Z; z++) next[out + z] = (next[out + z] as number) + weight * (beta[src + z] as number);
        }
      }
    }
    [beta, next] = [next, beta];
    V0 = V1;
  }
  const curve: number[] = [];
  for (let n = 0; n <= N; n++) curve.push(n <= R ? Math.min(1, beta[n * Z + T] as number) : 0);
  return curve;
}
