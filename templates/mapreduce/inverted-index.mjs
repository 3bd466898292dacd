// Inverted index: for each word, the sorted list of documents it occurs in. Input lines are
// `<document id>\t<text>`. Run: tclouds mapreduce submit COMPONENT --job inverted-index.mjs --input docs.tsv
const WORD = /[\p{L}\p{N}']+/gu;

export function map(_key, line, emit) {
  const tab = line.indexOf('\t');
  if (tab < 0) return;
  const doc = line.slice(0, tab);
  const seen = new Set();
  const text = line.slice(tab + 1).toLowerCase();
  // exec from a reset lastIndex: matchAll would clone the regex for every line.
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null; m = WORD.exec(text)) {
    if (seen.has(m[0])) continue;
    seen.add(m[0]);
    emit(m[0], doc);
  }
}

// Outputs must not depend on the order values arrive in: sort and deduplicate. (No combiner: it would copy the
// growing list of documents at every emit.)
export function reduce(_word, docs) {
  return [...new Set(docs.flat())].sort();
}
