// Reduce-side join of two tables on their first column. Input lines are `<table>,<key>,<rest>` where table is
// `users` or `orders`, e.g. `users,42,Alice` and `orders,42,book`. The output, per key, is every
// [user, order] pair. Run: tclouds mapreduce submit COMPONENT --job join.mjs --input users.csv --input orders.csv
export function map(_key, line, emit) {
  const [table, key, ...rest] = line.split(',');
  if (!key || (table !== 'users' && table !== 'orders')) return;
  emit(key, [table, rest.join(',')]);
}

export function reduce(_key, rows) {
  const users = rows
    .filter((r) => r[0] === 'users')
    .map((r) => r[1])
    .sort();
  const orders = rows
    .filter((r) => r[0] === 'orders')
    .map((r) => r[1])
    .sort();
  const pairs = [];
  for (const u of users) for (const o of orders) pairs.push([u, o]);
  return pairs.length > 0 ? pairs : undefined;
}
