/**
 * `tclouds chaos run`: draw faults the way the configured threat model says, on each component's real
 * layout (its nodes per fault domain), report whether the component kept its majority, next to the
 * placement advisor's predicted probability for the same layout and threat.
 *
 * The draw is pure and seeded (chaos/draw.ts); `planChaosRuns` maps it onto node ids. With `apply`, each
 * run is injected for real on the local target: the lost VMs (a crashed VM, or every VM of the component on
 * a contaminated or crashed PM) are killed and held down, the component's quorum is observed through the
 * same health polling as `tclouds status`, then the nodes are restarted and the next run waits until every
 * node answers again. Byzantine threats (byzantine-vm, byzantine-pm) on a component whose kind has misbehaviour
 * modes (kinds registry; SMR) are injected as real misbehaviour: the contaminated VMs keep running but are switched
 * into a mode (chaos/byzantine.ts; the modes rotate by run, so several runs exercise each), the quorum is observed
 * (status counts a misbehaving node as a fault), then they are set back to correct. Kinds without modes, and the
 * crash threats, get kills.
 */

import { kindOf } from '../components/kinds.js';
import { buildStatus } from '../dashboard/status-model.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import type { KeepProbability } from '../placement/keep-probability.js';
import type { FaultModel } from '../placement/majority.js';
import type { ComponentOutput, DeploymentOutputs, NodeOutput } from '../runtime/node-spec.js';
import type { Deployment } from '../stacks/deployment.js';
import { killOrPause, requireLocal, resume } from './actions.js';
import { healMisbehaviour, setMisbehaviour } from './byzantine.js';
import { ChaosCode } from './codes.js';
import { deriveSeed, drawFaults, seededRandom } from './draw.js';

export interface FaultDomainNodes {
  cloud: string;
  domain: number;
  nodes: string[];
}

/** A component's nodes grouped by fault domain (cloud, PM), in a stable order: the layout the draw uses. */
export function componentDomains(comp: ComponentOutput): FaultDomainNodes[] {
  const map = new Map<string, FaultDomainNodes>();
  for (const n of comp.nodes) {
    const key = `${n.cloud}\u0000${String(n.domain).padStart(6, '0')}`;
    const d = map.get(key) ?? { cloud: n.cloud, domain: n.domain, nodes: [] };
    d.nodes.push(n.id);
    map.set(key, d);
  }
  return [...map.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, d]) => ({ ...d, nodes: d.nodes.sort() }));
}

export interface RunRecord {
  run: number;
  /** Fault domains hit, in order, as `cloud/pm` (`-` when nothing was left to hit). */
  hits: string[];
  lostNodes: string[];
  /** How the lost nodes were injected: `kill`, or the misbehaviour mode they were switched into. */
  injected: string;
  /** The threat model's verdict: majority kept (PM or VM majority, per `keep`). */
  kept: boolean;
  /** Applied runs: what the deployment showed (quorum kept), and the nodes up. */
  observed?: { quorumKept: boolean; up: number; quorum: number; n: number };
}

export interface ComponentRunReport {
  component: string;
  kind: string;
  domains: FaultDomainNodes[];
  layout: number[];
  /** The advisor's exact P(majority kept after `faults` faults); null without the advisor. */
  predicted: number | null;
  runs: RunRecord[];
  keptRate: number;
  /** Applied runs: share of runs whose quorum held. */
  observedRate: number | null;
}

export interface ChaosRunReport {
  stack: string;
  model: FaultModel;
  faults: number;
  seed: string;
  runs: number;
  applied: boolean;
  components: ComponentRunReport[];
}

export interface ChaosRunOptions {
  model: FaultModel;
  faults: number;
  seed: number | string;
  runs: number;
  components?: string[];
}

/**
 * How run `run` injects its lost nodes into a component of `kind`: a Byzantine threat on a kind with misbehaviour
 * modes uses them (rotating by run), anything else kills.
 */
export function injectionOf(kind: string, model: FaultModel, run: number): string {
  const modes = kindOf(kind)?.chaos.faultModes ?? [];
  const byzantine = model.threat === 'byzantine-vm' || model.threat === 'byzantine-pm';
  return byzantine && modes.length > 0 ? modes[run % modes.length]! : 'kill';
}

/** Pure: every run's draw per component, mapped onto node ids. */
export function planChaosRuns(
  outputs: DeploymentOutputs,
  opts: ChaosRunOptions,
  keepProbability: KeepProbability | null,
): ChaosRunReport {
  const names = Object.keys(outputs.components)
    .sort()
    .filter((c) => outputs.components[c]!.nodes.length > 0)
    .filter((c) => !opts.components || opts.components.includes(c));
  const components = names.map((name): ComponentRunReport => {
    const comp = outputs.components[name]!;
    const domains = componentDomains(comp);
    const layout = domains.map((d) => d.nodes.length);
    const vmNodes = domains.flatMap((d) => d.nodes);
    const runs: RunRecord[] = [];
    for (let r = 0; r < opts.runs; r++) {
      const out = drawFaults(layout, opts.model, opts.faults, seededRandom(deriveSeed(opts.seed, name, r)));
      runs.push({
        run: r,
        hits: out.hits.map((pm) => (pm < 0 ? '-' : `${domains[pm]!.cloud}/${domains[pm]!.domain}`)),
        lostNodes: out.lostVms.map((vm) => vmNodes[vm]!),
        injected: injectionOf(comp.kind, opts.model, r),
        kept: out.kept,
      });
    }
    const predicted = keepProbability
      ? Math.min(1, Math.max(0, keepProbability(layout, opts.model, opts.faults)))
      : null;
    return {
      component: name,
      kind: comp.kind,
      domains,
      layout,
      predicted,
      runs,
      keptRate: runs.length === 0 ? 0 : runs.filter((x) => x.kept).length / runs.length,
      observedRate: null,
    };
  });
  return {
    stack: outputs.stack,
    model: opts.model,
    faults: opts.faults,
    seed: String(opts.seed),
    runs: opts.runs,
    applied: false,
    components,
  };
}

/** Most runs one `chaos run` applies for real: each restarts nodes and waits for them (seconds), unlike a dry run. */
export const MAX_APPLIED_RUNS = 50;

/**
 * The runs a `chaos run` asks for, checked against the deployment: every named component exists, at least one
 * component has nodes, and applied runs are on the local target and few enough to finish.
 */
export function prepareChaosRuns(
  dep: Deployment,
  opts: ChaosRunOptions & { apply: boolean },
  keepProbability: KeepProbability | null,
): ChaosRunReport {
  for (const c of opts.components ?? []) {
    if (!dep.outputs.components[c]) {
      throw new TcError(ChaosCode.unknownTarget, `no component "${c}" in stack ${dep.outputs.stack}`, {
        exit: ExitCode.notFound,
        hint: `components: ${Object.keys(dep.outputs.components).join(', ')}`,
      });
    }
  }
  const report = planChaosRuns(dep.outputs, opts, keepProbability);
  if (report.components.length === 0) {
    throw new TcError(ChaosCode.unknownTarget, 'no component with nodes to inject faults into', {
      exit: ExitCode.notFound,
      hint: 'client-resident storage has no nodes; chaos corrupt damages its cloud copies instead',
    });
  }
  if (opts.apply) {
    requireLocal(dep);
    if (opts.runs > MAX_APPLIED_RUNS) {
      throw new TcError(ChaosCode.badArgs, `${opts.runs} applied runs would take long; use --dry-run for many runs`, {
        exit: ExitCode.usage,
        hint: 'applied runs restart nodes between runs (seconds each); --dry-run draws thousands per second',
      });
    }
  }
  return report;
}

export interface ApplyOptions {
  /** Time the deployment gets to notice the faults before the quorum is observed. */
  settleMs?: number;
  /** How long to wait for restarted nodes to answer again before the next run. */
  recoverTimeoutMs?: number;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Apply every planned run for real (local target), filling in `observed`. Always restarts what it killed. */
export async function applyChaosRuns(
  dep: Deployment,
  report: ChaosRunReport,
  opts: ApplyOptions = {},
): Promise<ChaosRunReport> {
  const { StatusPoller } = await import('../stacks/deployment.js');
  const poller = new StatusPoller(dep, { timeoutMs: 400 });
  const byId = new Map<string, NodeOutput>(
    Object.values(dep.outputs.components).flatMap((c) => c.nodes.map((n) => [n.id, n] as const)),
  );
  for (const comp of report.components) {
    for (const run of comp.runs) {
      opts.signal?.throwIfAborted();
      const targets = run.lostNodes.map((id) => byId.get(id)!);
      const how = run.injected === 'kill' ? 'kill' : `misbehave (${run.injected})`;
      opts.onProgress?.(
        `${comp.component} run ${run.run + 1}/${comp.runs.length}: hits ${run.hits.join(' ')} -> ${how} ${run.lostNodes.join(', ') || 'nothing'}`,
      );
      try {
        if (targets.length > 0) await inject(dep, run.injected, targets);
        await sleep(opts.settleMs ?? 1500);
        const round = await poller.poll();
        const status = buildStatus({ outputs: dep.outputs, placement: report.model, ...round, now: new Date() });
        const c = status.components.find((x) => x.name === comp.component)!;
        run.observed = { quorumKept: !c.quorumLost, up: c.up, quorum: c.quorum, n: c.n };
      } finally {
        if (targets.length > 0) await undo(dep, run.injected, targets);
        await waitAllUp(poller, dep, comp.component, opts.recoverTimeoutMs ?? 20_000);
      }
    }
    comp.observedRate = comp.runs.filter((r) => r.observed?.quorumKept).length / Math.max(1, comp.runs.length);
  }
  return { ...report, applied: true };
}

/** Kill the targets, or switch them into a misbehaviour mode; a target that did not take it fails the run. */
async function inject(dep: Deployment, injected: string, targets: NodeOutput[]): Promise<void> {
  const results =
    injected === 'kill' ? await killOrPause(dep, 'kill', targets) : await setMisbehaviour(dep, targets, injected);
  const bad = results.filter((r) => !r.ok);
  if (bad.length > 0) {
    throw new TcError(
      ChaosCode.actionFailed,
      `could not ${injected === 'kill' ? 'kill' : `switch to ${injected}`}: ${bad.map((r) => `${r.node}: ${r.message}`).join('; ')}`,
    );
  }
}

async function undo(dep: Deployment, injected: string, targets: NodeOutput[]): Promise<void> {
  if (injected === 'kill') await resume(dep, targets);
  else await healMisbehaviour(dep, targets);
}

/** Poll until every node of the component answers /health with an up state (or the timeout passes). */
export async function waitAllUp(
  poller: { poll(): Promise<{ probes: Record<string, { health?: { status: string } }> }> },
  dep: Deployment,
  component: string,
  timeoutMs: number,
): Promise<boolean> {
  const ids = dep.outputs.components[component]!.nodes.map((n) => n.id);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { probes } = await poller.poll();
    if (ids.every((id) => ['ok', 'degraded'].includes(probes[id]?.health?.status ?? ''))) return true;
    await sleep(250);
  }
  return false;
}
