/**
 * From a threat and a majority goal to one urn model. See threats.md for the definitions; in short:
 *
 * Every PM j has `units` u_j that attacks pick (its VMs for VM-level faults, 1 for PM-level faults) and a
 * `weight` w_j that counts towards the majority (1 for a PM majority, v_j for a VM majority).
 * - draw 'replace': attack i picks unit-owner j with probability u_j / U, independently (the paper's
 *   "without removal"); draw 'distinct': attack i picks a unit not picked before, uniformly (`removal`).
 * - status 'contaminated': a PM is lost as soon as one of its units is picked (Byzantine, PM crash);
 *   status 'exhausted': a PM is lost when all its units are picked (crash-vm: its last VM crashed).
 * The majority is kept while the summed weight of the PMs not lost is >= threshold.
 *
 * crash-pm and byzantine-pm give the same model (a random PM is lost), and so do targeted-pm and
 * targeted-vm (the attacker takes the most valuable PM left). crash-vm + vm-majority does not depend
 * on PMs at all: after n crashes v - n VMs are up.
 */
import { placementError } from './codes.js';
import { sortedDesc, sum, validateLayout } from './layout.js';
import { KEEP_NAMES, type Keep, type Layout, type RiskQuery, THREAT_NAMES, type Threat } from './types.js';

export type Draw = 'replace' | 'distinct';
export type Status = 'contaminated' | 'exhausted';

export type Model =
  | {
      kind: 'urn';
      units: number[];
      weights: number[];
      draw: Draw;
      status: Status;
      threshold: number;
      totalUnits: number;
    }
  | { kind: 'targeted'; sizesDesc: number[]; keep: Keep; threshold: number; totalVms: number }
  | { kind: 'vm-count'; totalVms: number; threshold: number };

/** floor(x/2)+1: the smallest strict majority of x. */
export function majority(x: number): number {
  return Math.floor(x / 2) + 1;
}

export function validateQuery(q: RiskQuery): RiskQuery {
  if (!(THREAT_NAMES as readonly string[]).includes(q.threat)) {
    throw placementError('TC103', `unknown threat "${String(q.threat)}"`, {
      hint: `use one of ${THREAT_NAMES.join(', ')}`,
    });
  }
  if (!(KEEP_NAMES as readonly string[]).includes(q.keep)) {
    throw placementError('TC104', `unknown majority "${String(q.keep)}"`, {
      hint: `use one of ${KEEP_NAMES.join(', ')}`,
    });
  }
  return { threat: q.threat, keep: q.keep, removal: Boolean(q.removal) };
}

/** Does `removal` change anything for this threat? (crash-vm is always distinct; targeted picks distinct.) */
export function removalMatters(threat: Threat): boolean {
  return threat === 'crash-pm' || threat === 'byzantine-pm' || threat === 'byzantine-vm';
}

/**
 * The model of one layout under one threat and majority goal: an urn for random faults, or one of the two closed
 * forms (targeted attacks, VM crashes against a VM majority). risk.ts computes curves and attacks-to-break from it.
 */
export function urnModel(layoutIn: readonly number[], qIn: RiskQuery): Model {
  const layout: Layout = validateLayout(layoutIn);
  const q = validateQuery(qIn);
  const m = layout.length;
  const v = sum(layout);
  const threshold = q.keep === 'pm-majority' ? majority(m) : majority(v);
  const weights = q.keep === 'pm-majority' ? layout.map(() => 1) : [...layout];
  switch (q.threat) {
    case 'targeted-pm':
    case 'targeted-vm':
      return { kind: 'targeted', sizesDesc: sortedDesc(layout), keep: q.keep, threshold, totalVms: v };
    case 'crash-vm':
      if (q.keep === 'vm-majority') return { kind: 'vm-count', totalVms: v, threshold };
      return {
        kind: 'urn',
        units: [...layout],
        weights,
        draw: 'distinct',
        status: 'exhausted',
        threshold,
        totalUnits: v,
      };
    case 'crash-pm':
    case 'byzantine-pm':
      return {
        kind: 'urn',
        units: layout.map(() => 1),
        weights,
        draw: q.removal ? 'distinct' : 'replace',
        status: 'contaminated',
        threshold,
        totalUnits: m,
      };
    case 'byzantine-vm':
      return {
        kind: 'urn',
        units: [...layout],
        weights,
        draw: q.removal ? 'distinct' : 'replace',
        status: 'contaminated',
        threshold,
        totalUnits: v,
      };
  }
}
