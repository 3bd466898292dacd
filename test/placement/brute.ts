/**
 * Brute-force enumeration of every attack sequence, straight from the threat definitions (threats.md).
 * Independent of placement/: exponential, only for tiny layouts.
 */
import type { Layout, RiskQuery } from '../../placement/types.js';

const maj = (x: number) => Math.floor(x / 2) + 1;

function keptFromLost(layout: Layout, lost: boolean[], keep: RiskQuery['keep']): boolean {
  const m = layout.length;
  const v = layout.reduce((a, b) => a + b, 0);
  if (keep === 'pm-majority') return lost.filter((x) => !x).length >= maj(m);
  const clean = layout.reduce((acc, s, j) => acc + (lost[j] ? 0 : s), 0);
  return clean >= maj(v);
}

/** All sequences of length n over 0..k-1, with or without repetition; each equally likely. */
function* sequences(k: number, n: number, distinct: boolean): Generator<number[]> {
  const cur: number[] = [];
  const used = new Array<boolean>(k).fill(false);
  function* rec(): Generator<number[]> {
    if (cur.length === n) {
      yield cur;
      return;
    }
    for (let i = 0; i < k; i++) {
      if (distinct && used[i]) continue;
      used[i] = true;
      cur.push(i);
      yield* rec();
      cur.pop();
      used[i] = false;
    }
  }
  yield* rec();
}

function* subsets(k: number, n: number, start = 0, cur: number[] = []): Generator<number[]> {
  if (cur.length === n) {
    yield cur;
    return;
  }
  for (let i = start; i < k; i++) {
    cur.push(i);
    yield* subsets(k, n, i + 1, cur);
    cur.pop();
  }
}

export function bruteKeep(layout: Layout, q: RiskQuery, n: number): number {
  const m = layout.length;
  const v = layout.reduce((a, b) => a + b, 0);
  const owner: number[] = [];
  layout.forEach((s, j) => {
    for (let i = 0; i < s; i++) owner.push(j);
  });
  if (q.threat === 'targeted-pm' || q.threat === 'targeted-vm') {
    // The attacker chooses: kept only if every choice of min(n, m) distinct PMs leaves the majority.
    for (const set of subsets(m, Math.min(n, m))) {
      const lost = layout.map((_, j) => set.includes(j));
      if (!keptFromLost(layout, lost, q.keep)) return 0;
    }
    return 1;
  }
  if (q.threat === 'crash-vm') {
    if (n >= v) return q.keep === 'vm-majority' ? (0 >= maj(v) ? 1 : 0) : 0;
    let kept = 0;
    let total = 0;
    for (const set of subsets(v, n)) {
      total++;
      if (q.keep === 'vm-majority') {
        if (v - n >= maj(v)) kept++;
        continue;
      }
      const crashed = layout.map(() => 0);
      for (const x of set) {
        const j = owner[x] as number;
        crashed[j] = (crashed[j] as number) + 1;
      }
      const lost = layout.map((s, j) => crashed[j] === s);
      if (keptFromLost(layout, lost, q.keep)) kept++;
    }
    return kept / total;
  }
  const pool = q.threat === 'byzantine-vm' ? v : m;
  const toPm = (x: number) => (q.threat === 'byzantine-vm' ? (owner[x] as number) : x);
  const distinct = q.removal;
  if (distinct && n > pool) return 0;
  let kept = 0;
  let total = 0;
  for (const seq of sequences(pool, n, distinct)) {
    total++;
    const lost = layout.map(() => false);
    for (const x of seq) lost[toPm(x)] = true;
    if (keptFromLost(layout, lost, q.keep)) kept++;
  }
  return kept / total;
}
