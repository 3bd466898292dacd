/**
 * The classification core of `storage scrub` (pure: observations in, verdicts out; no I/O, no clock).
 *
 * The shell (../scrub.ts) reads every data unit's metadata and data files on every cloud and describes what it
 * found per cloud: the metadata (absent, a valid signed version, garbled, signed by another key, or the cloud did
 * not answer) and the data of the current version (the highest correctly signed one): verified, missing or
 * corrupt. This core turns that into one state per cloud and object, and says what a repair must rewrite.
 *
 * An object is at risk when fewer clouds hold a complete, verified copy than a read needs plus f spare (one value
 * for DepSky-A, f+1 blocks for DepSky-CA): the next f faults could then make it unreadable. It is lost when fewer
 * clouds than a read needs hold verified data: nothing can be repaired from it.
 */
import { compareVersions, versionString } from './names.js';
import type { Metadata, Protocol, Version } from './types.js';

/** What one cloud's `metadata` file was. */
export type MetaObservation =
  | { kind: 'absent' }
  | { kind: 'valid'; version: Version }
  /** Not a metadata file at all (not JSON, wrong shape): damaged on the cloud. */
  | { kind: 'garbled' }
  /** Well formed, but its signature does not verify with this key (or it names another data unit). */
  | { kind: 'foreign' }
  | { kind: 'error'; message: string };

/** What one cloud holds of the current version's data (its value file, or its manifest and segment blocks). */
export type DataObservation =
  | { kind: 'ok' }
  | { kind: 'missing'; what: string }
  | { kind: 'corrupt'; what: string }
  | { kind: 'error'; message: string }
  /** Nothing to check: version 0 (created, never written), or a cloud outside the version's cloud set. */
  | { kind: 'none' };

export interface CloudObservation {
  meta: MetaObservation;
  data: DataObservation;
}

/** State of one cloud's copy: `stale` is a valid metadata file of an older version. */
export type CopyState = 'ok' | 'missing' | 'stale' | 'corrupt' | 'unreachable';
export const COPY_STATES: readonly CopyState[] = ['ok', 'missing', 'stale', 'corrupt', 'unreachable'];

export interface CopyFinding {
  cloud: string;
  state: CopyState;
  /** What is wrong, for people (empty when ok). */
  detail: string;
  /** A repair must rewrite this cloud's data files (value, or manifest and blocks) of the current version. */
  rewriteData: boolean;
  /** A repair must rewrite this cloud's metadata file (after its data). */
  rewriteMeta: boolean;
}

export type ObjectState = 'ok' | 'degraded' | 'atRisk' | 'lost';

export interface ObjectVerdict {
  du: string;
  /** The current version (highest correctly signed), null when no cloud holds readable metadata. */
  version: string | null;
  protocol: Protocol | null;
  /** Clouds holding a complete, verified copy of the current version (metadata and data). */
  copies: number;
  /** Copies a read needs (1 for DepSky-A, f+1 for DepSky-CA). */
  needed: number;
  /** Clouds whose data of the current version verified (the sources a repair can rebuild from). */
  verifiedData: number;
  state: ObjectState;
  clouds: CopyFinding[];
}

/** Copies a read of `protocol` needs: the whole value from one cloud, or f+1 blocks. */
export function copiesNeeded(protocol: Protocol, f: number): number {
  return protocol === 'depsky-a' ? 1 : f + 1;
}

/** The highest version among valid metadata observations, or undefined. */
export function currentVersion(observations: readonly CloudObservation[]): Version | undefined {
  let best: Version | undefined;
  for (const o of observations)
    if (o.meta.kind === 'valid' && (best === undefined || compareVersions(o.meta.version, best) > 0))
      best = o.meta.version;
  return best;
}

function metaDetail(m: MetaObservation, current: Version): { state: CopyState; detail: string } | undefined {
  switch (m.kind) {
    case 'error':
      return { state: 'unreachable', detail: m.message };
    case 'garbled':
      return { state: 'corrupt', detail: 'metadata unreadable (damaged file)' };
    case 'foreign':
      return { state: 'corrupt', detail: 'metadata not signed by this writer key' };
    case 'absent':
      return { state: 'missing', detail: 'metadata missing' };
    case 'valid':
      if (compareVersions(m.version, current) < 0)
        return { state: 'stale', detail: `metadata of older version ${versionString(m.version)}` };
      return undefined;
  }
}

/** One cloud's state: an unreachable cloud first, then damage, then what is missing or old. */
function classifyCopy(cloud: string, o: CloudObservation, current: Version): CopyFinding {
  const meta = metaDetail(o.meta, current);
  const rewriteMeta = meta !== undefined && meta.state !== 'unreachable';
  const d = o.data;
  const rewriteData = d.kind === 'missing' || d.kind === 'corrupt';
  const dataDetail = d.kind === 'missing' || d.kind === 'corrupt' ? d.what : d.kind === 'error' ? d.message : '';
  const details = [meta?.detail, dataDetail].filter((x): x is string => Boolean(x));
  let state: CopyState = 'ok';
  if (meta?.state === 'unreachable' || d.kind === 'error') state = 'unreachable';
  else if (meta?.state === 'corrupt' || d.kind === 'corrupt') state = 'corrupt';
  else if (meta?.state === 'stale') state = 'stale';
  else if (meta?.state === 'missing' || d.kind === 'missing') state = 'missing';
  // Nothing can be rewritten on a cloud that does not answer.
  const reachable = state !== 'unreachable';
  return {
    cloud,
    state,
    detail: details.join('; '),
    rewriteData: reachable && rewriteData,
    rewriteMeta: reachable && (rewriteMeta || rewriteData),
  };
}

/**
 * Classify one data unit from each cloud's observation (`clouds[i]` observed as `observations[i]`). `meta` is the
 * current signed metadata (undefined when no cloud holds a valid one). Returns undefined when there is no object
 * to speak of: no cloud holds metadata of any kind (a container with only lock files, or one being removed).
 */
export function classifyObject(input: {
  du: string;
  f: number;
  clouds: readonly string[];
  observations: readonly CloudObservation[];
  meta: Metadata | undefined;
}): ObjectVerdict | undefined {
  const { du, f, clouds, observations, meta } = input;
  if (meta === undefined) {
    const damaged = observations.filter((o) => o.meta.kind === 'garbled' || o.meta.kind === 'foreign').length;
    if (damaged === 0) return undefined;
    // Damaged metadata and no valid one anywhere: nothing says what the object was, nothing can be rebuilt.
    const findings = clouds.map((cloud, i) => {
      const m = metaDetail(observations[i]!.meta, { counter: 0, writer: '' });
      return {
        cloud,
        state: m?.state ?? 'ok',
        detail: m?.detail ?? '',
        rewriteData: false,
        rewriteMeta: false,
      } satisfies CopyFinding;
    });
    return {
      du,
      version: null,
      protocol: null,
      copies: 0,
      needed: 1,
      verifiedData: 0,
      state: 'lost',
      clouds: findings,
    };
  }
  const needed = copiesNeeded(meta.protocol, f);
  const findings = clouds.map((cloud, i) => classifyCopy(cloud, observations[i]!, meta.version));
  const copies = findings.filter((c) => c.state === 'ok').length;
  const verifiedData = observations.filter((o) => o.data.kind === 'ok' || o.data.kind === 'none').length;
  let state: ObjectState = 'ok';
  if (verifiedData < needed) state = 'lost';
  else if (copies < needed + f) state = 'atRisk';
  else if (copies < clouds.length) state = 'degraded';
  return {
    du,
    version: versionString(meta.version),
    protocol: meta.protocol,
    copies,
    needed,
    verifiedData,
    state,
    clouds: findings,
  };
}

/** Whether a repair can and should run for this object: something to rewrite, and enough verified sources. */
export function repairable(v: ObjectVerdict): boolean {
  return v.state !== 'lost' && v.clouds.some((c) => c.rewriteData || c.rewriteMeta);
}

export interface CloudTally {
  cloud: string;
  ok: number;
  missing: number;
  stale: number;
  corrupt: number;
  unreachable: number;
  /** Copies rewritten by --repair (and verified after). */
  repaired: number;
}

/** Per-cloud counts over all objects (in `clouds` order). `repaired` lists, per object, the clouds fixed. */
export function tallyClouds(
  clouds: readonly string[],
  before: readonly ObjectVerdict[],
  repaired: ReadonlyMap<string, readonly string[]>,
): CloudTally[] {
  return clouds.map((cloud) => {
    const t: CloudTally = { cloud, ok: 0, missing: 0, stale: 0, corrupt: 0, unreachable: 0, repaired: 0 };
    for (const v of before) {
      const c = v.clouds.find((x) => x.cloud === cloud);
      if (c) t[c.state]++;
      if (repaired.get(v.du)?.includes(cloud)) t.repaired++;
    }
    return t;
  });
}
