// Word count: how often each word occurs in the input (lower-cased; letters, digits and apostrophes).
// Run: tclouds mapreduce submit COMPONENT --job templates/mapreduce/wordcount.mjs --input book.txt
const WORD = /[\p{L}\p{N}']+/gu;

// map runs once per line: `exec` from a reset lastIndex rather than `matchAll`, which clones the regex at every call
// (a fifth of this map's time).
export function map(_key, line, emit) {
  const text = line.toLowerCase();
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) emit(m[0], 1);
}

// Runs inside each map task: folds the 1s of a word into one count before the shuffle.
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
