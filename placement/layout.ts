/**
 * Layouts (VMs per PM): validation, the two extremes of the paper, and enumeration of all layouts as
 * integer partitions. A layout is a multiset: every figure we compute is invariant under permutation, so
 * enumeration works on non-increasing sequences only.
 */
import { placementError } from './codes.js';
import type { Layout } from './types.js';

/** Largest v and m we accept at all; larger sizes are refused before any work (TC106). */
export const MAX_VMS = 100_000;
export const MAX_PMS = 10_000;

/**
 * Most layouts compared one by one: the advisor's exhaustive method and the Table 1 evidence enumerate every
 * layout up to this count (above it, advice falls back to a proven rule or local search, the evidence refuses).
 */
export const EXHAUSTIVE_MAX = 2000;

export function validateLayout(layout: readonly unknown[], what = 'layout'): Layout {
  if (!Array.isArray(layout) || layout.length === 0) {
    throw placementError('TC101', `${what} is empty`, { hint: 'give VMs per PM, e.g. --layout 6,1,1,1,1' });
  }
  layout.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1) {
      throw placementError(
        'TC100',
        `${what} entry ${i + 1} is ${JSON.stringify(x)}: every PM holds a whole number >= 1 of VMs`,
        {
          hint: 'drop PMs that hold no VM; use integers, e.g. --layout 6,1,1,1,1',
        },
      );
    }
  });
  const nums = layout as number[];
  const v = nums.reduce((a, b) => a + b, 0);
  if (nums.length > MAX_PMS || v > MAX_VMS) {
    throw placementError(
      'TC106',
      `${what} too large: ${nums.length} PMs and ${v} VMs (limits ${MAX_PMS} PMs, ${MAX_VMS} VMs)`,
    );
  }
  return [...nums];
}

/** Parse "6,1,1,1,1" (spaces allowed). */
export function parseLayout(text: string): Layout {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 1 && parts[0] === '')
    throw placementError('TC101', 'layout is empty', { hint: 'e.g. --layout 6,1,1,1,1' });
  const nums = parts.map((p, i) => {
    if (!/^[+-]?\d+(\.\d+)?$/.test(p)) {
      throw placementError('TC100', `layout entry ${i + 1} is "${p}": every PM holds a whole number >= 1 of VMs`, {
        hint: 'use comma-separated positive integers, e.g. --layout 6,1,1,1,1',
      });
    }
    return Number(p);
  });
  return validateLayout(nums);
}

export function validateSizes(vms: number, pms: number): void {
  for (const [name, x] of [
    ['--vms', vms],
    ['--pms', pms],
  ] as const) {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1) {
      throw placementError('TC107', `${name} must be a positive integer, got ${String(x)}`);
    }
  }
  if (pms > vms) {
    throw placementError('TC102', `${pms} PMs but only ${vms} VMs: every PM must hold at least one VM`, {
      hint: 'use at most as many PMs as VMs (a PM without a VM takes no part in either majority)',
    });
  }
  if (pms > MAX_PMS || vms > MAX_VMS) {
    throw placementError('TC106', `too large: ${pms} PMs, ${vms} VMs (limits ${MAX_PMS} PMs, ${MAX_VMS} VMs)`);
  }
}

function validateCap(vms: number, pms: number, maxPerPm: number | undefined): number {
  if (maxPerPm === undefined) return vms - pms + 1;
  if (!Number.isInteger(maxPerPm) || maxPerPm < 1 || maxPerPm * pms < vms) {
    throw placementError('TC108', `no layout of ${vms} VMs on ${pms} PMs fits --max-per-pm ${maxPerPm}`, {
      hint: `--max-per-pm must be at least ceil(v/m) = ${Math.ceil(vms / pms)}`,
    });
  }
  return Math.min(maxPerPm, vms - pms + 1);
}

/** As even as possible: v mod m PMs get one VM more. Non-increasing. */
export function balancedLayout(vms: number, pms: number): Layout {
  validateSizes(vms, pms);
  const q = Math.floor(vms / pms);
  const r = vms % pms;
  return Array.from({ length: pms }, (_, i) => (i < r ? q + 1 : q));
}

/**
 * As uneven as possible: the paper's m-1 PMs with one VM and one PM with the rest; with a capacity K the
 * greedy fill (K, K, ..., r, 1, ..., 1), which majorizes every other layout that respects K.
 */
export function unbalancedLayout(vms: number, pms: number, maxPerPm?: number): Layout {
  validateSizes(vms, pms);
  const k = validateCap(vms, pms, maxPerPm);
  const out: number[] = [];
  let left = vms;
  for (let i = 0; i < pms; i++) {
    const rest = pms - i - 1; // PMs after this one, each needs at least 1
    const take = Math.min(k, left - rest);
    out.push(take);
    left -= take;
  }
  return out;
}

/** Capacity in force (K, or v-m+1 when uncapped); validates K. */
export function capacity(vms: number, pms: number, maxPerPm?: number): number {
  return validateCap(vms, pms, maxPerPm);
}

/** Number of partitions of v into exactly m parts each in [1, K]; stops counting above `limit`. */
export function countLayouts(vms: number, pms: number, maxPerPm: number, limit = Number.MAX_SAFE_INTEGER): number {
  // Subtract 1 from every part: multisets of parts in [1, K-1] with at most m parts summing to v-m.
  const n = vms - pms;
  const kMax = Math.min(maxPerPm - 1, n);
  const cMax = Math.min(pms, n);
  // dp[c][s]: multisets of c parts summing to s. In-place over parts (unbounded multiplicity).
  const dp: Float64Array[] = Array.from({ length: cMax + 1 }, () => new Float64Array(n + 1));
  (dp[0] as Float64Array)[0] = 1;
  for (let part = 1; part <= kMax; part++) {
    for (let c = 1; c <= cMax; c++) {
      const row = dp[c] as Float64Array;
      const prev = dp[c - 1] as Float64Array;
      for (let s = part; s <= n; s++) row[s] = Math.min(limit + 1, (row[s] as number) + (prev[s - part] as number));
    }
  }
  let total = 0;
  for (let c = 0; c <= cMax; c++) total = Math.min(limit + 1, total + ((dp[c] as Float64Array)[n] as number));
  return total;
}

/** All layouts (non-increasing) of v VMs on m PMs with parts in [1, K]. Call countLayouts first. */
export function* enumerateLayouts(vms: number, pms: number, maxPerPm: number): Generator<Layout> {
  const cur: number[] = [];
  function* rec(left: number, slots: number, maxPart: number): Generator<Layout> {
    if (slots === 0) {
      if (left === 0) yield [...cur];
      return;
    }
    const hi = Math.min(maxPart, left - (slots - 1));
    const lo = Math.ceil(left / slots);
    for (let x = hi; x >= lo; x--) {
      cur.push(x);
      yield* rec(left - x, slots - 1, x);
      cur.pop();
    }
  }
  yield* rec(vms, pms, maxPerPm);
}

export function sortedDesc(layout: readonly number[]): Layout {
  return [...layout].sort((a, b) => b - a);
}

export function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
