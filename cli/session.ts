/**
 * What plan/deploy/destroy/outputs share around a realizer call: loading the topology and the plan, the
 * RealizeContext (with Ctrl-C wired to its AbortSignal), the confirmation prompt, and where progress goes:
 * - `--json`: newline-delimited JSON on stdout, one `{"event":{...}}` per line, then one `{"summary":{...}}`
 *   (or `{"error":{...}}`) line;
 * - a TTY: the Ink view (dashboard/deploy-progress.tsx, imported lazily);
 * - otherwise: one plain line per finished row.
 */

import { compilePlan } from '../components/plan.js';
import type { Plan } from '../components/plan-types.js';
import { formatRow, ProgressModel } from '../dashboard/deploy-progress-model.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { DeployCode } from '../stacks/codes.js';
import { planProviders } from '../stacks/pulumi/model.js';
import type { DeployEvent, RealizeContext, Target } from '../stacks/realizer.js';
import { TARGETS } from '../stacks/realizer.js';
import { type LoadedTopology, loadTopology, stackDir } from '../topology/load.js';
import { type Interrupt, onInterrupt } from './interrupt.js';
import { jsonText } from './json-numbers.js';
import { confirm } from './prompt.js';

export interface LoadedPlan {
  loaded: LoadedTopology;
  plan: Plan;
  stackDir: string;
}

export async function loadPlan(file: string): Promise<LoadedPlan> {
  const loaded = await loadTopology(file);
  return { loaded, plan: compilePlan(loaded), stackDir: stackDir(loaded) };
}

export function parseTarget(t: string): Target {
  if ((TARGETS as readonly string[]).includes(t)) return t as Target;
  throw new TcError(DeployCode.badTarget, `unknown target "${t}"`, {
    exit: ExitCode.usage,
    hint: `use one of ${TARGETS.join(', ')}`,
  });
}

/**
 * The target a plan or deploy realizes: `clouds` is every aws/azure/gcp cloud of the topology as one deployment,
 * and for a topology of one provider it is that provider's target (one stack, whichever word was used); `aws`,
 * `azure`, `gcp` must have clouds, and may not leave out the other providers of a topology that spans several
 * (their nodes' specs would name peers with no address).
 */
export function realizedTarget(plan: Plan, target: Target): Target {
  if (target === 'local') return target;
  const providers = planProviders(plan);
  if (target === 'clouds') {
    if (providers.length === 1) return providers[0]!;
    if (providers.length > 1) return target;
    throw new TcError(
      DeployCode.badTarget,
      'the topology has no aws, azure or gcp cloud: --target clouds has nothing to realize',
      {
        exit: ExitCode.usage,
        hint: 'use --target local to run it on this machine, or add a cloud with `provider: aws`, `azure` or `gcp`',
      },
    );
  }
  checkTargetHasClouds(plan, target);
  if (providers.length > 1) {
    throw new TcError(
      DeployCode.spansProviders,
      `the topology's clouds span ${providers.join(', ')}: --target ${target} alone would leave its nodes' peers on the other providers without an address`,
      {
        exit: ExitCode.usage,
        hint: `deploy them together: --target clouds (one deployment, one Pulumi stack, of every ${providers.join(', ')} cloud); a stack deployed with --target ${target} before goes first: \`tclouds destroy --target ${target}\` keeps its buckets, and the clouds deploy adopts them`,
      },
    );
  }
  return target;
}

/** The deployment `destroy` and `outputs` address: `clouds` of a single-provider topology is that provider's. */
export function deployedTarget(plan: Plan, target: Target): Target {
  if (target !== 'clouds') return target;
  const providers = planProviders(plan);
  return providers.length === 1 ? providers[0]! : target;
}

/** For cloud targets: the plan must have at least one cloud of that provider. */
export function checkTargetHasClouds(plan: Plan, target: Target): void {
  if (target === 'local' || target === 'clouds') return;
  const mine = Object.entries(plan.clouds).filter(([, c]) => c.provider === target);
  if (mine.length === 0) {
    throw new TcError(
      DeployCode.badTarget,
      `the topology has no ${target} cloud, so --target ${target} has nothing to realize`,
      {
        exit: ExitCode.usage,
        hint: `its clouds are ${Object.entries(plan.clouds)
          .map(([n, c]) => `${n} (${c.provider})`)
          .join(', ')}; use --target local to run all of them on this machine`,
      },
    );
  }
}

/**
 * Ctrl-C / SIGTERM abort the operation: the realizer stops at its next step, cleans up and releases its lock,
 * and the command exits 130. A second Ctrl-C exits at once (the lock's exit hook still removes the lock).
 */
export function interruptible(): Interrupt {
  return onInterrupt({ note: 'cancelling... (Ctrl-C again to quit at once)' });
}

export function realizeContext(
  lp: LoadedPlan,
  signal: AbortSignal,
  onEvent: (e: DeployEvent) => void,
  backend?: string,
): RealizeContext {
  const ctx: RealizeContext = { topologyFile: lp.loaded.file, stackDir: lp.stackDir, signal, onEvent };
  // Cloud targets: the flag wins; TCLOUDS_PULUMI_BACKEND, the default file backend in the stack directory and the
  // secrets passphrase are resolved by the Pulumi realizer (stacks/pulumi/backend.ts).
  if (backend !== undefined && backend !== '') ctx.backend = backend;
  return ctx;
}

/** The confirmation of plan/deploy/destroy (cli/prompt.ts), with the deploy area's codes. */
export function confirmChange(question: string, yes: boolean): Promise<void> {
  return confirm(question, yes, {
    needsConfirmation: DeployCode.needsConfirmation,
    declined: DeployCode.declined,
    interrupted: DeployCode.interrupted,
  });
}

export interface ProgressSink {
  onEvent(e: DeployEvent): void;
  finish(summary: string): Promise<void>;
}

/** Where events go: NDJSON (--json), the Ink view (TTY) or plain lines. */
export async function progressSink(mode: { json: boolean }, title: string): Promise<ProgressSink> {
  if (mode.json) {
    return {
      onEvent: (e) => {
        process.stdout.write(`${jsonText({ event: e })}\n`);
      },
      finish: async () => {},
    };
  }
  if (process.stdout.isTTY && process.env.TERM !== 'dumb') {
    const { startInkProgress } = await import('../dashboard/deploy-progress.js');
    return startInkProgress(title, process.stdout);
  }
  const model = new ProgressModel();
  process.stdout.write(`${title}\n`);
  return {
    onEvent: (e) => {
      const done = model.apply(e);
      if (done) process.stdout.write(`  ${formatRow(done, Date.now())}\n`);
    },
    finish: async (summary) => {
      process.stdout.write(`${summary}\n`);
    },
  };
}

/** Print one compact JSON line (the summary or error line of --json output). */
export function jsonLine(value: unknown): void {
  process.stdout.write(`${jsonText(value)}\n`);
}
