/**
 * Exact P(majority kept after n faults) for any layout and the six threats: dispatch to the cheapest exact
 * method (chain.ts, dp.ts, or the closed forms for targeted attacks and crash-vm + VM majority), and refuse
 * work that would exceed the budget with TC106 instead of hanging.
 */
import { AttackChain, chainStateCount, groupPms } from './chain.js';
import { placementError } from './codes.js';
import { distinctCost, distinctCurve, replaceCost, replaceCurve } from './dp.js';
import { type Model, urnModel } from './model.js';
import type { Layout, RiskQuery } from './types.js';

type UrnModel = Extract<Model, { kind: 'urn' }>;

/** Largest attack count a curve may ask for. */
export const MAX_ATTACKS = 1_000_000;
/** Operations (multiply-adds) one computation may take: a few seconds at worst on a slow core. */
export const OPS_BUDGET = 4e9;
const CHAIN_MAX_STATES = 2_000_000;
/**
 * "Below 1/2" with a margin for rounding: a curve point that is exactly 1/2 (it happens, e.g. with two equal
 * outcomes) must not count as broken because the sum came out as 0.49999999999999994.
 */
const HALF = 0.5 - 1e-12;

export type Method = 'chain' | 'replace-dp' | 'distinct-dp' | 'targeted' | 'vm-count';

function tooLarge(what: string, ops: number): never {
  throw placementError(
    'TC106',
    `${what} would take about ${ops.toExponential(1)} operations (budget ${OPS_BUDGET.toExponential(0)})`,
    {
      hint: 'use fewer attacks, fewer PMs or a layout with fewer distinct PM sizes',
    },
  );
}

function checkAttacks(n: number, what = 'attacks'): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_ATTACKS) {
    throw placementError('TC105', `${what} must be an integer in 0..${MAX_ATTACKS}, got ${String(n)}`);
  }
}

/** Pick the method for an urn model and a horizon of N attacks. */
export function chooseMethod(model: UrnModel, N: number): { method: Method; ops: number } {
  const groups = groupPms(model);
  const states = chainStateCount(groups, CHAIN_MAX_STATES);
  const chainOps = states * (groups.count.length + 2) * Math.max(1, N);
  const dpOps = model.draw === 'replace' ? replaceCost(model, N) : distinctCost(model, N);
  const statusOk = model.status === 'contaminated';
  if (statusOk && chainOps <= dpOps) return { method: 'chain', ops: chainOps };
  return { method: model.draw === 'replace' ? 'replace-dp' : 'distinct-dp', ops: dpOps };
}

function targetedKept(model: Extract<Model, { kind: 'targeted' }>, n: number): number {
  const sizes = model.sizesDesc;
  const m = sizes.length;
  const lost = Math.min(n, m);
  if (model.keep === 'pm-majority') return m - lost >= model.threshold ? 1 : 0;
  let gone = 0;
  for (let i = 0; i < lost; i++) gone += sizes[i] as number;
  return model.totalVms - gone >= model.threshold ? 1 : 0;
}

/** Exact curve for n = 0..N of an already built model. */
export function modelCurve(model: Model, N: number, force?: 'chain' | 'replace-dp' | 'distinct-dp'): number[] {
  checkAttacks(N, 'the largest attack count');
  if (model.kind === 'targeted') return Array.from({ length: N + 1 }, (_, n) => targetedKept(model, n));
  if (model.kind === 'vm-count') {
    return Array.from({ length: N + 1 }, (_, n) =>
      model.totalVms - Math.min(n, model.totalVms) >= model.threshold ? 1 : 0,
    );
  }
  const chosen = chooseMethod(model, N);
  // `force` is for tests and the benchmark, which check the methods against each other.
  const method = force ?? chosen.method;
  const ops = force === undefined ? chosen.ops : 0;
  if (ops > OPS_BUDGET) tooLarge(`the exact curve for ${model.units.length} PMs up to ${N} attacks`, ops);
  if (method === 'chain') {
    const chain = new AttackChain(model, groupPms(model));
    const curve = [chain.p];
    for (let n = 1; n <= N; n++) curve.push(chain.step());
    return curve;
  }
  return method === 'replace-dp' ? replaceCurve(model, N) : distinctCurve(model, N);
}

/**
 * Upper bound of attacks needed to break: with 'distinct' draws every PM is lost after U attacks; with
 * 'replace' draws each PM is hit with probability >= 1/U per attack, so losing enough of them takes at most
 * U * H_m attacks in expectation and (Markov) fewer than 3x that with probability > 1/2.
 */
function breakHorizon(model: UrnModel): number {
  if (model.draw === 'distinct') return model.totalUnits;
  const m = model.units.length;
  return Math.ceil(3 * model.totalUnits * (Math.log(m) + 1)) + 64;
}

/** Smallest n with P(kept after n) < 1/2, or null if the curve never gets there. */
export function modelBreak(model: Model): number | null {
  if (model.kind === 'targeted') {
    for (let n = 0; n <= model.sizesDesc.length; n++) if (targetedKept(model, n) === 0) return n;
    return null;
  }
  if (model.kind === 'vm-count') {
    // v - n >= T fails first at n = v - T + 1.
    return Math.max(0, model.totalVms - model.threshold + 1);
  }
  const horizon = breakHorizon(model);
  const { method } = chooseMethod(model, Math.min(horizon, 4 * model.units.length + 16));
  if (method === 'chain') {
    const groups = groupPms(model);
    const chain = new AttackChain(model, groups);
    const perStep = chain.states * (groups.count.length + 2);
    if (chain.p < HALF) return 0;
    let ops = 0;
    for (let n = 1; n <= horizon; n++) {
      if (chain.step() < HALF) return n;
      ops += perStep;
      if (ops > OPS_BUDGET) tooLarge('finding the attacks to break', ops);
    }
    return null;
  }
  let N = Math.min(horizon, Math.max(16, 2 * model.units.length));
  for (;;) {
    const ops = model.draw === 'replace' ? replaceCost(model, N) : distinctCost(model, N);
    if (ops > OPS_BUDGET) tooLarge(`finding the attacks to break (curve up to ${N} attacks)`, ops);
    const curve = model.draw === 'replace' ? replaceCurve(model, N) : distinctCurve(model, N);
    const at = curve.findIndex((p) => p < HALF);
    if (at >= 0) return at;
    if (N >= horizon) return null;
    N = Math.min(horizon, N * 2);
  }
}

export function keepCurve(layout: Layout, q: RiskQuery, maxAttacks: number): number[] {
  const model = urnModel(layout, q);
  return modelCurve(model, maxAttacks);
}

export function keepProbability(layout: Layout, q: RiskQuery, attacks: number): number {
  checkAttacks(attacks);
  const curve = keepCurve(layout, q, attacks);
  return curve[attacks] as number;
}

export function attacksToBreak(layout: Layout, q: RiskQuery): number | null {
  return modelBreak(urnModel(layout, q));
}
