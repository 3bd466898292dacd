/**
 * `storage scrub`: check every copy of every data unit of a component, and with `repair` rewrite the missing,
 * stale or corrupt ones from verified copies at the same version (scrub-repair.ts). The shell around the pure
 * core protocol/scrub.ts: list the data units on every cloud, read and verify each one's files on every cloud
 * (scrub-observe.ts), classify, repair, and check the repaired clouds again.
 *
 * A scrub only reads and copies what the writer signed: it needs the verification key, never the signing key.
 * Run it while no writer writes to the component: a write racing a repair can leave a cloud one version behind
 * (readers still pick the highest signed version; the next scrub repairs it).
 */
import type { KeyObject } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { StorageCode } from './codes.js';
import type { CallOptions, CloudDriver } from './drivers/types.js';
import { checkDataUnitName, compareVersions, containerOf, duOfContainer } from './protocol/names.js';
import {
  type CloudTally,
  classifyObject,
  type ObjectState,
  type ObjectVerdict,
  repairable,
  tallyClouds,
} from './protocol/scrub.js';
import type { Metadata } from './protocol/types.js';
import { type DataRead, type MetaRead, metaJudge, readData, readMeta } from './scrub-observe.js';
import { repairObject } from './scrub-repair.js';

/** Data units checked at once (each reads its files on all clouds in parallel). */
export const SCRUB_CONCURRENCY = 16;

export interface ScrubOptions {
  /** The component's clouds, in topology order. */
  drivers: readonly CloudDriver[];
  f: number;
  verifyKey: KeyObject;
  repair: boolean;
  concurrency?: number;
  /** Data units done of those found. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** One data unit with at least one copy that is not ok (before any repair), and what the repair did. */
export interface ScrubFinding extends ObjectVerdict {
  /** Clouds whose copy --repair rewrote and that verified afterwards. */
  repaired: string[];
  repairFailed: { cloud: string; reason: string }[];
  /** The object's state after the repair (the same as `state` without --repair). */
  stateAfter: ObjectState;
}

export interface ScrubReport {
  repair: boolean;
  /** Data units checked. */
  objects: number;
  /** Objects per state, before any repair. */
  states: Record<ObjectState, number>;
  /** Objects still not ok when the scrub ended (after the repair, if any). */
  unresolved: number;
  /** Per cloud: copies per state (before repair) and copies repaired. */
  clouds: CloudTally[];
  /** Clouds whose listing of data units failed (their copies could not all be found). */
  unlisted: { cloud: string; reason: string }[];
  findings: ScrubFinding[];
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Data unit names found on any cloud, sorted; clouds whose listing failed are reported. */
async function listDataUnits(
  drivers: readonly CloudDriver[],
  o: CallOptions,
): Promise<{ names: string[]; unlisted: ScrubReport['unlisted'] }> {
  const results = await Promise.allSettled(drivers.map((d) => d.listContainers(o)));
  const names = new Set<string>();
  const unlisted: ScrubReport['unlisted'] = [];
  results.forEach((r, i) => {
    if (r.status === 'rejected') unlisted.push({ cloud: drivers[i]!.cloud, reason: message(r.reason) });
    else
      for (const c of r.value) {
        const du = duOfContainer(c);
        // Anything that is not a data unit's container (a gateway's own files, stray objects) is not ours to judge.
        if (du !== undefined && checkDataUnitName(du) === undefined && containerOf(du) === c) names.add(du);
      }
  });
  if (unlisted.length > drivers.length - 1) {
    throw new TcError(StorageCode.noQuorum, `no cloud of the component could be listed (${unlisted[0]?.reason})`, {
      exit: ExitCode.unavailable,
      hint: 'check that the clouds are reachable and retry',
    });
  }
  return { names: [...names].sort(), unlisted };
}

function highest(metas: readonly MetaRead[]): { meta: Metadata; bytes: Uint8Array } | undefined {
  let best: { meta: Metadata; bytes: Uint8Array } | undefined;
  for (const m of metas) {
    if (!m.meta || !m.bytes) continue;
    if (!best || compareVersions(m.meta.version, best.meta.version) > 0) best = { meta: m.meta, bytes: m.bytes };
  }
  return best;
}

interface Observed {
  verdict: ObjectVerdict;
  data: DataRead[];
  current?: { meta: Metadata; bytes: Uint8Array };
}

/** Read one data unit on every cloud and classify it; undefined when no cloud holds metadata for it. */
async function observe(o: ScrubOptions, du: string, call: CallOptions): Promise<Observed | undefined> {
  const container = containerOf(du);
  const judge = metaJudge(du, o.verifyKey);
  const metas = await Promise.all(o.drivers.map((d) => readMeta(d, container, judge, call)));
  const current = highest(metas);
  const data: DataRead[] = current
    ? await Promise.all(o.drivers.map((d) => readData(d, container, current.meta, call)))
    : o.drivers.map(() => ({ obs: { kind: 'none' } }));
  const verdict = classifyObject({
    du,
    f: o.f,
    clouds: o.drivers.map((d) => d.cloud),
    observations: metas.map((m, i) => ({ meta: m.obs, data: data[i]!.obs })),
    meta: current?.meta,
  });
  return verdict ? { verdict, data, ...(current ? { current } : {}) } : undefined;
}

/** Check one data unit, repair it when asked and possible, and check it again after a repair. */
async function scrubOne(o: ScrubOptions, du: string, call: CallOptions): Promise<ScrubFinding | undefined> {
  const seen = await observe(o, du, call);
  if (!seen) return undefined;
  const v = seen.verdict;
  const finding: ScrubFinding = { ...v, repaired: [], repairFailed: [], stateAfter: v.state };
  if (!o.repair || !repairable(v) || !seen.current) return finding;
  const outcome = await repairObject({
    drivers: o.drivers,
    f: o.f,
    container: containerOf(du),
    meta: seen.current.meta,
    metaBytes: seen.current.bytes,
    findings: v.clouds,
    data: seen.data,
    o: call,
  });
  finding.repairFailed = outcome.failed;
  // Trust nothing the repair did until it reads back as verified copies.
  const after = await observe(o, du, call);
  if (after) {
    finding.stateAfter = after.verdict.state;
    finding.repaired = outcome.rewritten.filter((c) => after.verdict.clouds.find((x) => x.cloud === c)?.state === 'ok');
    for (const c of outcome.rewritten)
      if (!finding.repaired.includes(c))
        finding.repairFailed.push({ cloud: c, reason: 'did not verify after rewrite' });
  }
  return finding;
}

/** Scrub every data unit of the component (SCRUB_CONCURRENCY at a time). */
export async function scrub(o: ScrubOptions): Promise<ScrubReport> {
  const call: CallOptions = o.signal ? { signal: o.signal } : {};
  const { names, unlisted } = await listDataUnits(o.drivers, call);
  const results: (ScrubFinding | undefined)[] = new Array(names.length);
  let next = 0;
  let done = 0;
  o.onProgress?.(0, names.length);
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      results[i] = await scrubOne(o, names[i]!, call);
      o.onProgress?.(++done, names.length);
    }
  };
  const width = Math.max(1, Math.min(o.concurrency ?? SCRUB_CONCURRENCY, names.length));
  await Promise.all(Array.from({ length: width }, worker));
  const checked = results.filter((r): r is ScrubFinding => r !== undefined);
  const states: Record<ObjectState, number> = { ok: 0, degraded: 0, atRisk: 0, lost: 0 };
  for (const r of checked) states[r.state]++;
  const repaired = new Map(checked.map((r) => [r.du, r.repaired]));
  const findings = checked.filter((r) => r.state !== 'ok' || r.clouds.some((c) => c.state !== 'ok'));
  return {
    repair: o.repair,
    objects: checked.length,
    states,
    unresolved: findings.filter((r) => r.stateAfter !== 'ok').length,
    clouds: tallyClouds(
      o.drivers.map((d) => d.cloud),
      checked,
      repaired,
    ),
    unlisted,
    findings,
  };
}
