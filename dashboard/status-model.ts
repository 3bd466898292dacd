/**
 * The status model: what `tclouds status` shows, computed from the deployment outputs, the placement
 * section of the topology and one round of probes (per-node /health + /metrics results or errors, local
 * bucket scans). Pure: no I/O, no clock (the caller passes `now`), so the dashboard, the static table and
 * `--json` are three renderings of the same value, and tests feed it recorded health data. What is particular to a
 * component kind (its quorum, the figure shown per node, the leader) comes from the kinds registry.
 */

import type { KindStatus } from '../components/kind.js';
import { replicatedServiceStatus } from '../components/kind-status.js';
import { kindOf } from '../components/kinds.js';
import type { KeepProbability } from '../placement/keep-probability.js';
import { type FaultModel, majorityKept } from '../placement/majority.js';
import type { DeploymentOutputs, NodeOutput } from '../runtime/node-spec.js';
import type { BucketProbe, NodeProbe } from '../stacks/deployment.js';
import { bucketCoverage } from './bucket-coverage.js';

export const STATUS_VERSION = 1;

/** 'up' states count towards quorums; the others do not. */
export type NodeState = 'ok' | 'degraded' | 'starting' | 'stopping' | 'paused' | 'unresponsive' | 'down';

export interface NodeStatus {
  id: string;
  component: string;
  role: string;
  index: number;
  cloud: string;
  domain: number;
  address: string;
  state: NodeState;
  up: boolean;
  uptimeSeconds: number | null;
  pid: number | null;
  partitionedFrom: string[];
  /** The one figure that matters for this node's kind, e.g. `leader 0 · regency 0 · decided 41`. */
  keyMetric: string;
  /** Role fields of /health (SMR: leader, regency, lastDecided, checkpoint, clientsServed). */
  roleInfo: Record<string, unknown>;
  isLeader: boolean;
  error: string | null;
  /**
   * The misbehaviour mode an up node reports (`fault` in its /health role fields, set by `tclouds chaos byzantine`),
   * or null when it behaves correctly. Such a node answers, but counts as a fault.
   */
  misbehaving: string | null;
}

export interface CloudUsage {
  cloud: string;
  bucket: string;
  reachable: boolean | null;
  objects: number | null;
  bytes: number | null;
  /** Storage: data units the other clouds hold and this one lacks (null when the listings were not compared). */
  missingObjects: number | null;
}

export type Verdict = 'ok' | 'degraded' | 'lost';

export interface ComponentStatus {
  name: string;
  kind: string;
  /** Units the quorum counts: replicas for SMR and node components, clouds for storage. */
  unit: 'node' | 'cloud';
  n: number;
  f: number;
  quorum: number;
  up: number;
  /** Up nodes that misbehave on purpose (chaos byzantine): each counts as a fault, like a down one. */
  misbehaving: number;
  /** Faults this component still tolerates right now (0 when at or below its quorum margin). */
  faultsLeft: number;
  /**
   * Fault domains (hosts) it can still lose, the fullest first, and keep a quorum; null when its units are clouds.
   * Below faultsLeft when nodes share a host: an appliance box is one domain, so one box failure loses them all.
   */
  domainFaultsLeft: number | null;
  quorumLost: boolean;
  verdict: Verdict;
  verdictLine: string;
  /** SMR: the leader most up replicas agree on, or null. */
  leader: number | null;
  regency: number | null;
  lastDecided: number | null;
  nodes: NodeStatus[];
  clouds: CloudUsage[];
  /**
   * Storage: data units held by fewer clouds than a read needs plus f spare (null when the bucket listings were
   * not compared: cloud targets, or fewer than two clouds listed). Clouds that lack data units count as faults.
   */
  atRisk: number | null;
}

export interface DomainStatus {
  cloud: string;
  domain: number;
  vms: number;
  up: number;
  nodes: string[];
}

export interface PlacementComponentStatus {
  component: string;
  domains: DomainStatus[];
  /** VMs per fault domain as deployed (the advisor's layout), in `domains` order. */
  layout: number[];
  /** Up VMs per fault domain that still has one. */
  healthyLayout: number[];
  /** Whether the configured majority holds right now (domains with no up VM count as lost). */
  majorityNow: boolean;
  /** Advisor: P(keep the majority) after the next k faults, from the healthy layout; null without advisor. */
  next: { faults: number; pKeep: number | null }[];
}

export interface PlacementStatus extends FaultModel {
  advisor: boolean;
  components: PlacementComponentStatus[];
}

export interface StatusReport {
  version: typeof STATUS_VERSION;
  stack: string;
  target: DeploymentOutputs['target'];
  generatedAt: string;
  components: ComponentStatus[];
  placement: PlacementStatus;
  summary: {
    components: number;
    nodes: number;
    up: number;
    quorumLost: string[];
    degraded: string[];
    /** Ids of the nodes that misbehave on purpose. */
    misbehaving: string[];
  };
}

export interface StatusInput {
  outputs: DeploymentOutputs;
  placement: FaultModel;
  probes: Record<string, NodeProbe>;
  buckets: BucketProbe[];
  now: Date;
  /** How many next faults the placement panel predicts (1..nextFaults). */
  nextFaults?: number;
  keepProbability?: KeepProbability | null;
}

/** The status hooks of a kind named in an outputs file; kinds this build does not know get the default. */
function statusOf(kind: string): KindStatus {
  return kindOf(kind)?.status ?? replicatedServiceStatus;
}

function nodeState(probe: NodeProbe | undefined): NodeState {
  if (!probe) return 'down';
  if (probe.paused) return 'paused';
  if (probe.health) return probe.health.status;
  return probe.error === 'timeout' ? 'unresponsive' : 'down';
}

export function isUp(state: NodeState): boolean {
  return state === 'ok' || state === 'degraded';
}

export function formatUptime(seconds: number | null): string {
  if (seconds === null) return '-';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function nodeStatus(component: string, kind: string, node: NodeOutput, probe: NodeProbe | undefined): NodeStatus {
  const state = nodeState(probe);
  const up = isUp(state);
  const role = probe?.health?.role ?? {};
  const fault = role.fault;
  return {
    id: node.id,
    component,
    role: node.role,
    index: node.index,
    cloud: node.cloud,
    domain: node.domain,
    address: `${node.host}:${node.controlPort}`,
    state,
    up,
    uptimeSeconds: probe?.health ? probe.health.uptimeSeconds : null,
    pid: probe?.health ? probe.health.pid : null,
    partitionedFrom: probe?.health?.partitionedFrom ?? [],
    keyMetric: up ? statusOf(kind).keyMetric(role) : '',
    roleInfo: role,
    isLeader: false,
    error: probe?.error ?? null,
    misbehaving: up && typeof fault === 'string' && fault !== 'none' ? fault : null,
  };
}

/** Quorum size and f of a component from its client (TIA) configuration and its unit count (kinds registry). */
export function quorumOf(
  kind: string,
  client: Record<string, unknown>,
  units: number,
): { n: number; f: number; quorum: number } {
  return statusOf(kind).quorum(client, units);
}

/**
 * Fault domains (a cloud's host, or the cloud itself) the component can lose, the fullest first, and keep a quorum
 * of correct units. Null when its units are clouds: then a fault is a domain already.
 */
function domainFaultsLeft(correctPerDomain: readonly number[] | null, quorum: number): number | null {
  if (correctPerDomain === null) return null;
  const sorted = [...correctPerDomain].filter((k) => k > 0).sort((a, b) => b - a);
  let left = sorted.reduce((a, b) => a + b, 0);
  let k = 0;
  for (const size of sorted) {
    if (left - size < quorum) break;
    left -= size;
    k++;
  }
  return k;
}

function verdictOf(c: {
  n: number;
  f: number;
  quorum: number;
  up: number;
  misbehaving: number;
  unit: string;
  correctPerDomain: readonly number[] | null;
  /** Storage: reachable clouds that lack data units (each counts as a fault) and objects at risk. */
  lacking?: number;
  atRisk?: number | null;
}): {
  faultsLeft: number;
  domainFaultsLeft: number | null;
  quorumLost: boolean;
  verdict: Verdict;
  verdictLine: string;
} {
  // A misbehaving node is up but cannot be counted on: it is a fault as much as a down one.
  const correct = c.up - c.misbehaving;
  // A cloud that lacks data units still answers (no quorum is lost), but it no longer holds every object: it uses
  // up one fault of the budget, as a lost copy does.
  const lacking = c.lacking ?? 0;
  const down = c.n - correct + lacking;
  const quorumLost = correct < c.quorum;
  const faultsLeft = Math.max(0, Math.min(c.f - down, correct - lacking - c.quorum));
  const domainsLeft = quorumLost ? 0 : domainFaultsLeft(c.correctPerDomain, c.quorum);
  const lying = c.misbehaving > 0 ? ` (${c.misbehaving} misbehaving)` : '';
  const lack = lacking > 0 ? ` (${lacking} lacking data units)` : '';
  const risk = c.atRisk ? `, ${c.atRisk} object${c.atRisk === 1 ? '' : 's'} at risk` : '';
  const units = `${c.up}/${c.n} ${c.unit}s up${lying}${lack}, quorum ${c.quorum}${risk}`;
  if (quorumLost) {
    return { faultsLeft: 0, domainFaultsLeft: 0, quorumLost, verdict: 'lost', verdictLine: `QUORUM LOST: ${units}` };
  }
  // Node counts alone overstate what survives when nodes share a host (an appliance box, colocated replicas):
  // one host failure takes all of its nodes at once. The verdict counts both and is ok only if both hold.
  const domainShort = domainsLeft !== null && c.f > 0 && domainsLeft === 0;
  const verdict: Verdict = faultsLeft >= c.f && down === 0 && !domainShort && !c.atRisk ? 'ok' : 'degraded';
  const plural = (k: number, what: string) => `${k} more ${what}${k === 1 ? '' : 's'}`;
  const tolerates =
    domainsLeft === null || domainsLeft >= faultsLeft
      ? `tolerates ${plural(faultsLeft, 'fault')} (f=${c.f})`
      : `tolerates ${plural(faultsLeft, `${c.unit} fault`)} (f=${c.f}) but ${
          domainsLeft === 0 ? 'not the loss of a host' : plural(domainsLeft, 'host fault')
        }: ${c.correctPerDomain ? Math.max(...c.correctPerDomain) : 0} of its nodes share a host`;
  return {
    faultsLeft,
    domainFaultsLeft: domainsLeft,
    quorumLost,
    verdict,
    verdictLine: `${verdict === 'ok' ? 'ok' : 'degraded'}: ${tolerates}, ${units}`,
  };
}

function placementOf(
  name: string,
  nodes: NodeStatus[],
  model: FaultModel,
  nextFaults: number,
  keepProbability: KeepProbability | null | undefined,
): PlacementComponentStatus {
  const byDomain = new Map<string, DomainStatus>();
  for (const n of nodes) {
    const key = `${n.cloud}\u0000${String(n.domain).padStart(6, '0')}`;
    const d = byDomain.get(key) ?? { cloud: n.cloud, domain: n.domain, vms: 0, up: 0, nodes: [] };
    d.vms++;
    // The threat model counts a Byzantine VM as lost, like a crashed one.
    if (n.up && !n.misbehaving) d.up++;
    d.nodes.push(n.id);
    byDomain.set(key, d);
  }
  const domains = [...byDomain.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
  const layout = domains.map((d) => d.vms);
  const healthyLayout = domains.map((d) => d.up).filter((u) => u > 0);
  // Right now: a domain with no up VM is lost; down VMs are lost VMs.
  const lostPms = new Set(domains.flatMap((d, i) => (d.up === 0 ? [i] : [])));
  const lostVms = new Set<number>();
  let vm = 0;
  for (const d of domains) {
    for (let i = 0; i < d.vms; i++, vm++) if (i >= d.up) lostVms.add(vm);
  }
  const majorityNow = layout.length > 0 && majorityKept(layout, lostPms, lostVms, model.keep).kept;
  const next = Array.from({ length: nextFaults }, (_, i) => {
    const faults = i + 1;
    if (!keepProbability) return { faults, pKeep: null };
    if (!majorityNow || healthyLayout.length === 0) return { faults, pKeep: 0 };
    const p = keepProbability(healthyLayout, model, faults);
    return { faults, pKeep: Math.min(1, Math.max(0, p)) };
  });
  return { component: name, domains, layout, healthyLayout, majorityNow, next };
}

/** A required role (a trusted single point) that is down or lies takes the whole component down with it. */
function requiredDown<V extends ReturnType<typeof verdictOf>>(v: V, down: readonly NodeStatus[]): V {
  if (down.length === 0) return v;
  const what = down.map((n) => `${n.role} ${n.id} ${n.up ? 'misbehaving' : 'down'}`).join(', ');
  return { ...v, faultsLeft: 0, domainFaultsLeft: 0, quorumLost: true, verdict: 'lost', verdictLine: `LOST: ${what}` };
}

/** Correct nodes per fault domain (cloud and host), in no particular order. */
function correctByDomain(nodes: readonly NodeStatus[]): number[] {
  const counts = new Map<string, number>();
  for (const n of nodes) {
    const key = `${n.cloud}\u0000${n.domain}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.values()];
}

/** For each node, the peers of its component it cannot exchange messages with: it refuses them or they refuse it. */
function cutOffPeers(nodes: readonly NodeStatus[]): Map<string, Set<string>> {
  const ids = new Set(nodes.map((n) => n.id));
  const cut = new Map<string, Set<string>>(nodes.map((n) => [n.id, new Set<string>()]));
  for (const n of nodes) {
    for (const peer of n.partitionedFrom) {
      if (!ids.has(peer) || peer === n.id) continue;
      cut.get(n.id)!.add(peer);
      cut.get(peer)!.add(n.id);
    }
  }
  return cut;
}

/** Storage: set each cloud's missingObjects from the bucket listings; the objects at risk, or null. */
function markLacking(
  clouds: CloudUsage[],
  buckets: readonly BucketProbe[],
  needed: number | undefined,
  f: number,
): number | null {
  if (needed === undefined) return null;
  const listings = new Map<string, readonly string[]>();
  for (const c of clouds) {
    const probe = buckets.find((p) => p.cloud === c.cloud && p.name === c.bucket);
    if (probe?.reachable && probe.containers) listings.set(c.cloud, probe.containers);
  }
  const coverage = bucketCoverage(listings, needed, f, clouds.length - listings.size);
  if (!coverage) return null;
  for (const c of clouds) c.missingObjects = coverage.missing.get(c.cloud) ?? null;
  return coverage.atRisk;
}

export function buildStatus(input: StatusInput): StatusReport {
  const { outputs, probes, buckets } = input;
  const nextFaults = input.nextFaults ?? 3;
  const components: ComponentStatus[] = [];
  const placement: PlacementComponentStatus[] = [];
  const names = Object.keys(outputs.components).sort();
  for (const name of names) {
    const comp = outputs.components[name]!;
    const nodes = [...comp.nodes]
      .sort((a, b) => (a.role === b.role ? a.index - b.index : a.role < b.role ? -1 : 1))
      .map((node) => nodeStatus(name, comp.kind, node, probes[node.id]));
    const clouds: CloudUsage[] = comp.buckets.map((b) => {
      const probe = buckets.find((p) => p.cloud === b.cloud && p.name === b.name);
      return {
        cloud: b.cloud,
        bucket: b.name,
        reachable: probe ? probe.reachable : null,
        objects: probe?.objects ?? null,
        bytes: probe?.bytes ?? null,
        missingObjects: null,
      };
    });
    const hooks = statusOf(comp.kind);
    const unit = hooks.unit;
    const counted = hooks.quorumRoles ? nodes.filter((n) => hooks.quorumRoles?.includes(n.role)) : nodes;
    const units = unit === 'cloud' ? clouds.length : counted.length;
    const q = hooks.quorum(comp.client, units);
    const atRisk = markLacking(clouds, buckets, hooks.copiesNeeded?.(comp.client), q.f);
    const lacking = clouds.filter((c) => (c.missingObjects ?? 0) > 0).length;
    // A node cut off by a partition from so many peers that it and those it still reaches are fewer than a
    // quorum cannot take part in one: it counts as a fault, though its process answers /health. A cut counts
    // whichever side refuses: the node its peers refuse, or the peers it refuses.
    const cutOff = cutOffPeers(counted);
    const inQuorum = (n: (typeof nodes)[number]): boolean =>
      n.up && counted.length - (cutOff.get(n.id)?.size ?? 0) >= q.quorum;
    const up = unit === 'cloud' ? clouds.filter((c) => c.reachable !== false).length : counted.filter(inQuorum).length;
    const misbehaving = unit === 'cloud' ? 0 : counted.filter((n) => inQuorum(n) && n.misbehaving !== null).length;
    const correctPerDomain =
      unit === 'cloud' ? null : correctByDomain(counted.filter((n) => inQuorum(n) && !n.misbehaving));
    const required = nodes.filter((n) => hooks.requiredRoles?.includes(n.role) && (!n.up || n.misbehaving !== null));
    // The leader as most up replicas see it (kinds that have one); mark that replica.
    const { leader, regency, lastDecided } = hooks.agreement(nodes.filter((n) => n.up).map((n) => n.roleInfo));
    if (leader !== null) for (const n of nodes) n.isLeader = n.role === hooks.leaderRole && n.index === leader;
    components.push({
      name,
      kind: comp.kind,
      unit,
      ...q,
      up,
      misbehaving,
      ...requiredDown(verdictOf({ ...q, up, misbehaving, unit, correctPerDomain, lacking, atRisk }), required),
      leader,
      regency,
      lastDecided,
      nodes,
      clouds,
      atRisk,
    });
    if (nodes.length > 0) placement.push(placementOf(name, nodes, input.placement, nextFaults, input.keepProbability));
  }
  const allNodes = components.flatMap((c) => c.nodes);
  return {
    version: STATUS_VERSION,
    stack: outputs.stack,
    target: outputs.target,
    generatedAt: input.now.toISOString(),
    components,
    placement: { ...input.placement, advisor: Boolean(input.keepProbability), components: placement },
    summary: {
      components: components.length,
      nodes: allNodes.length,
      up: allNodes.filter((n) => n.up).length,
      quorumLost: components.filter((c) => c.quorumLost).map((c) => c.name),
      degraded: components.filter((c) => c.verdict === 'degraded').map((c) => c.name),
      misbehaving: allNodes.filter((n) => n.misbehaving !== null).map((n) => n.id),
    },
  };
}
