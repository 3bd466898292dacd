// Word count: how often each word occurs in the input (lower-cased; letters, digits and apostrophes).
// Run: tclouds mapreduce submit COMPONENT --job templates/mapreduce/wordcount.mjs --input book.txt
const WORD = /[\p{L}\p{N}']+/gu;

export function map(_key, line, emit) {
  for (const m of line.toLowerCase().matchAll(WORD)) emit(m[0], 1);
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
