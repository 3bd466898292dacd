// Inverted index: for each word, the sorted list of documents it occurs in. Input lines are
// `<document id>\t<text>`. Run: tclouds mapreduce submit COMPONENT --job inverted-index.mjs --input docs.tsv
const WORD = /[\p{L}\p{N}']+/gu;

export function map(_key, line, emit) {
  const tab = line.indexOf('\t');
  if (tab < 0) return;
  const doc = line.slice(0, tab);
  const seen = new Set();
  for (const m of line
    .slice(tab + 1)
    .toLowerCase()
    .matchAll(WORD)) {
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
