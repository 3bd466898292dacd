/** Human renderings of the advisor's values (pure strings; the commands print them). */

import type { TableEvidence } from './evidence.js';
import { TABLE1_ROW } from './table1.js';
import type { Advice, LayoutFigures } from './types.js';

export function pct(p: number): string {
  if (p === 0 || p === 1) return `${p * 100}%`;
  if (p < 0.0001) return `${p.toExponential(2)}`;
  return `${(p * 100).toFixed(2)}%`;
}

export function bar(p: number, width = 30): string {
  const n = Math.round(p * width);
  return `${'#'.repeat(n)}${'.'.repeat(width - n)}`;
}

export function layoutText(l: readonly number[]): string {
  if (l.length > 12) {
    // Run-length form for long layouts: 30,1x20
    const runs: string[] = [];
    let i = 0;
    while (i < l.length) {
      let j = i;
      while (j < l.length && l[j] === l[i]) j++;
      runs.push(j - i > 1 ? `${l[i]}x${j - i}` : String(l[i]));
      i = j;
    }
    return `[${runs.join(',')}]`;
  }
  return `[${l.join(',')}]`;
}

function figuresRow(name: string, f: LayoutFigures): string[] {
  return [name, layoutText(f.layout), pct(f.pKeep), f.attacksToBreak === null ? 'never' : String(f.attacksToBreak)];
}

export function adviceRows(a: Advice): string[][] {
  return [
    figuresRow('recommended', a.recommended),
    figuresRow('balanced', a.balanced),
    figuresRow('unbalanced', a.unbalanced),
  ];
}

export function evidenceRows(t: TableEvidence): string[][] {
  return t.cells.map((c) => [
    TABLE1_ROW[c.threat],
    c.keep === 'pm-majority' ? 'PM majority' : 'VM majority',
    c.table1,
    c.exact,
    c.agrees ? 'yes' : 'NO',
    `${c.attacksToBreak.balanced ?? '-'}/${c.attacksToBreak.unbalanced ?? '-'}/${c.attacksToBreak.best ?? '-'}`,
    c.summary,
  ]);
}
