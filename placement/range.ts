/** Attack ranges on the command line: "a..b" (inclusive) or a single "n". */
import { placementError } from './codes.js';
import { MAX_ATTACKS } from './risk.js';

export interface AttackRange {
  from: number;
  to: number;
}

export function parseAttackRange(text: string): AttackRange {
  const t = text.trim();
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(t);
  const bad = (why: string) =>
    placementError('TC105', `attack range "${text}" ${why}`, {
      hint: `use a..b with integers 0 <= a <= b <= ${MAX_ATTACKS} (e.g. --attacks 0..20), or one integer`,
    });
  if (!m) throw bad('is not a range');
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > to) throw bad('is empty (start after end)');
  if (to > MAX_ATTACKS) throw bad(`goes beyond ${MAX_ATTACKS}`);
  return { from, to };
}
