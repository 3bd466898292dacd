/**
 * The paper's Table 1 (Araujo, Barbosa, Casimiro, MGC 2012): the recommended distribution of VMs by PMs
 * per fault and majority. The paper derives "irrelevant" from expected counts (Eq. 3) and some cells from
 * Monte Carlo; `placement table` puts our exact figures beside each cell (evidence.ts).
 */
import type { Keep, Table1Cell, Threat } from './types.js';

export const TABLE1: Record<Threat, Record<Keep, Table1Cell>> = {
  'crash-pm': { 'pm-majority': 'irrelevant', 'vm-majority': 'irrelevant' },
  'crash-vm': { 'pm-majority': 'balanced', 'vm-majority': 'irrelevant' },
  'byzantine-pm': { 'pm-majority': 'irrelevant', 'vm-majority': 'irrelevant' },
  'byzantine-vm': { 'pm-majority': 'unbalanced', 'vm-majority': 'balanced' },
  'targeted-pm': { 'pm-majority': 'irrelevant', 'vm-majority': 'balanced' },
  'targeted-vm': { 'pm-majority': 'irrelevant', 'vm-majority': 'balanced' },
};

/** The paper's row labels, for rendering. */
export const TABLE1_ROW: Record<Threat, string> = {
  'crash-pm': 'Crash-Stop on PMs',
  'crash-vm': 'Crash-Stop on VMs',
  'byzantine-pm': 'Lim. Byzantine PMs',
  'byzantine-vm': 'Lim. Byzantine VMs',
  'targeted-pm': 'Unlim. Byzantine PMs',
  'targeted-vm': 'Unlim. Byzantine VMs',
};

export function table1Cell(threat: Threat, keep: Keep): Table1Cell {
  return TABLE1[threat][keep];
}
