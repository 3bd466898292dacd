/**
 * What plan/deploy/destroy/outputs share around a realizer call: loading the topology and the plan, the
 * RealizeContext (with Ctrl-C wired to its AbortSignal), the confirmation prompt, and where progress goes:
 * - `--json`: newline-delimited JSON on stdout, one `{"event":{...}}` per line, then one `{"summary":{...}}`
 *   (or `{"error":{...}}`) line;
 * - a TTY: the Ink view (dashboard/deploy-progress.tsx, imported lazily);
 * - otherwise: one plain line per finished row.
 */
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { compilePlan } from '../components/plan.js';
import type { Plan } from '../components/plan-types.js';
import { formatRow, ProgressModel } from '../dashboard/deploy-progress-model.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { type LoadedTopology, loadTopology, stackDir } from '../topology/load.js';
import { DeployCode } from './local/codes.js';
import type { DeployEvent, RealizeContext, Target } from './realizer.js';
import { TARGETS } from './realizer.js';

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

/** For cloud targets: the plan must have at least one cloud of that provider. */
export function checkTargetHasClouds(plan: Plan, target: Target): void {
  if (target === 'local') return;
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

export interface Interrupt {
  signal: AbortSignal;
  /** Remove the signal handlers. */
  dispose(): void;
}

/**
 * Ctrl-C / SIGTERM abort the operation: the realizer stops at its next step, cleans up and releases its lock,
 * and the command exits 130. A second Ctrl-C exits at once (the lock's exit hook still removes the lock).
 */
export function interruptible(): Interrupt {
  const controller = new AbortController();
  let count = 0;
  const onSignal = () => {
    count++;
    if (count === 1) {
      process.stderr.write('\ncancelling... (Ctrl-C again to quit at once)\n');
      controller.abort();
    } else {
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

export function realizeContext(
  lp: LoadedPlan,
  signal: AbortSignal,
  onEvent: (e: DeployEvent) => void,
  backend?: string,
): RealizeContext {
  const ctx: RealizeContext = { topologyFile: lp.loaded.file, stackDir: lp.stackDir, signal, onEvent };
  const b = backend ?? process.env.TCLOUDS_BACKEND;
  if (b) ctx.backend = b;
  // Default cloud state backend: a local file backend beside the topology (issue 5: `.tclouds/state`).
  else ctx.backend = `file://${path.join(lp.loaded.dir, '.tclouds', 'state')}`;
  const passphrase = process.env.TCLOUDS_PASSPHRASE;
  if (passphrase !== undefined) ctx.passphrase = passphrase;
  return ctx;
}

/**
 * Ask on the terminal before changing anything. `--yes` skips it; without a terminal (CI) and without --yes
 * the command refuses, because silently deploying or destroying from a script is the mistake to prevent.
 */
export async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new TcError(
      DeployCode.needsConfirmation,
      `${question.replace(/\?$/, '')}: needs confirmation, but there is no terminal`,
      {
        exit: ExitCode.usage,
        hint: 'pass --yes to confirm from a script or CI',
      },
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    // Ctrl-C at the prompt (readline turns it into a 'SIGINT' event on the interface) cancels like anywhere else.
    const interrupted = new Promise<never>((_, reject) =>
      rl.once('SIGINT', () =>
        reject(new TcError(DeployCode.interrupted, 'cancelled: nothing was changed', { exit: ExitCode.interrupted })),
      ),
    );
    const answer = (await Promise.race([rl.question(`${question} [y/N] `), interrupted])).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      throw new TcError(DeployCode.declined, 'cancelled: nothing was changed', { exit: ExitCode.failure });
    }
  } finally {
    rl.close();
  }
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
        process.stdout.write(`${JSON.stringify({ event: e })}\n`);
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
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
