/**
 * Which clouds of a storage component lack data units, and how many objects are at risk, from one listing of
 * each bucket (pure). A data unit is one top-level entry of each cloud's bucket, so comparing the listings finds
 * the clouds that lost some (a deleted directory, an emptied bucket) without reading any object. It does not see
 * damaged copies: `tclouds storage scrub` reads and checks every copy.
 */

export interface Coverage {
  /** Per listed cloud: data units the other clouds hold and it lacks. */
  missing: Map<string, number>;
  /** Data units held by fewer clouds than a read needs plus f spare. */
  atRisk: number;
}

/**
 * `listings`: the data units each reachable cloud listed (clouds without a listing are left out: down, not
 * probed, or too large to compare). `unlisted` of the component's clouds have no listing: they are given the
 * benefit of the doubt (assumed to hold every data unit), since a down cloud is already counted as a fault and
 * may well still hold its copies. Undefined when fewer than two clouds could be compared.
 */
export function bucketCoverage(
  listings: ReadonlyMap<string, readonly string[]>,
  needed: number,
  f: number,
  unlisted = 0,
): Coverage | undefined {
  if (listings.size < 2) return undefined;
  const holders = new Map<string, number>();
  for (const names of listings.values()) for (const n of names) holders.set(n, (holders.get(n) ?? 0) + 1);
  const missing = new Map<string, number>();
  for (const [cloud, names] of listings) missing.set(cloud, holders.size - new Set(names).size);
  let atRisk = 0;
  for (const count of holders.values()) if (count + unlisted < needed + f) atRisk++;
  return { missing, atRisk };
}
