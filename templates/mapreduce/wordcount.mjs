// Word count: how often each word occurs in the input (lower-cased; letters, digits and apostrophes).
// Run: tclouds mapreduce submit COMPONENT --job templates/mapreduce/wordcount.mjs --input book.txt
const WORD = /[\p{L}\p{N}']+/gu;

// The batch entry point, which the engine prefers when a module exports it: one call per map task with its whole
// split (whole lines). It counts in its own table and emits each word once with its count (in-mapper combining):
// no call per line, no emit or combine per word.
export function mapChunk(_key, text, emit) {
  const counts = new Map();
  const lower = text.toLowerCase();
  WORD.lastIndex = 0;
  for (let m = WORD.exec(lower); m !== null; m = WORD.exec(lower)) {
    // A holder per word: one table lookup per occurrence.
    const c = counts.get(m[0]);
    if (c === undefined) counts.set(m[0], { n: 1 });
    else c.n++;
  }
  for (const [word, c] of counts) emit(word, c.n);
}

// The same job one line at a time, as a module without `mapChunk` would run (the engine calls `map` only when there
// is no `mapChunk`; the tests check both give the same output). `exec` from a reset lastIndex rather than `matchAll`,
// which clones the regex at every call.
export function map(_key, line, emit) {
  const text = line.toLowerCase();
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) emit(m[0], 1);
}

// Runs inside each map task: folds the counts of a word into one before the shuffle (with `map`, once per word
// occurrence; with `mapChunk`, never, since each word is emitted once).
export function combine(_word, counts) {
  let n = 0;
  for (const c of counts) n += c;
  return n;
}

export function reduce(_word, counts) {
  let n = 0;
  for (const c of counts) n += c;
  return n;
}
