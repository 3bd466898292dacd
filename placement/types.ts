/**
 * Shared types of the placement advisor. Kept free of runtime imports (the schema module pulls zod), so the
 * placement commands and the dashboard load only plain math. The compile-time checks at the bottom keep these
 * literal unions identical to the ones in topology/schema.ts.
 */
import type { Keep as SchemaKeep, Threat as SchemaThreat } from '../topology/schema.js';

export const THREAT_NAMES = [
  'crash-pm',
  'crash-vm',
  'byzantine-pm',
  'byzantine-vm',
  'targeted-pm',
  'targeted-vm',
] as const;
export const KEEP_NAMES = ['pm-majority', 'vm-majority'] as const;

export type Threat = (typeof THREAT_NAMES)[number];
export type Keep = (typeof KEEP_NAMES)[number];
/** VMs per PM, each an integer >= 1. The order does not matter to any figure (permutation invariance). */
export type Layout = number[];

export interface RiskQuery {
  threat: Threat;
  keep: Keep;
  /** Attacks hit distinct VMs (byzantine-vm) or distinct PMs (crash-pm, byzantine-pm). See threats.md. */
  removal: boolean;
}

export interface LayoutFigures {
  layout: Layout;
  /** P(majority kept) after `Advice.attacks` faults. */
  pKeep: number;
  /** Smallest n with P(kept after n) < 1/2; null when not reached within the search horizon. */
  attacksToBreak: number | null;
}

export type Table1Cell = 'balanced' | 'unbalanced' | 'irrelevant';

export interface Advice {
  recommended: LayoutFigures;
  balanced: LayoutFigures;
  unbalanced: LayoutFigures;
  table1: Table1Cell;
  method: 'exhaustive' | 'rule' | 'search';
  notes: string[];
  /** Added to the contract: the number of faults n at which pKeep is evaluated (given, or the default). */
  attacks: number;
}

export interface AdviseParams extends RiskQuery {
  vms: number;
  pms: number;
  /** Faults to survive; default: the attacks-to-break of the balanced layout (see advise.ts). */
  attacks?: number;
  /** Capacity: no PM may hold more than this many VMs. */
  maxPerPm?: number;
}

// Compile-time proof that our unions equal the schema's (a mismatch fails `tsc`).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const threatsMatch: Same<Threat, SchemaThreat> = true;
const keepsMatch: Same<Keep, SchemaKeep> = true;
void threatsMatch;
void keepsMatch;
