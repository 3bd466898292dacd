/**
 * What the `tclouds chaos` commands share: target flags, the confirmation rule (ask on a TTY, `--yes` skips,
 * refuse without either), the confirmed target actions (kill, pause, partition) and the rendering of action results.
 */

import { Flags } from '@oclif/core';
import { type ActionResult, requireLocal, resolveTargets, type TargetSelector } from '../chaos/actions.js';
import { ChaosCode } from '../chaos/codes.js';
import { style } from '../dashboard/style.js';
import { ExitCode } from '../kernel/errors.js';
import type { NodeOutput } from '../runtime/node-spec.js';
import { type Deployment, loadDeployment } from '../stacks/deployment.js';
import { TcCommand } from './base-command.js';
import { recordEvent } from './log-events.js';
import { confirm } from './prompt.js';
import { TOPOLOGY_FILE_ENV } from './topology-file.js';

export const deploymentFlags = {
  file: Flags.string({
    char: 'f',
    env: TOPOLOGY_FILE_ENV,
    description: 'topology file of the deployment (default ./tclouds.yaml)',
  }),
  stack: Flags.string({ description: 'stack name, when .tclouds holds several and no topology file is given' }),
};

export const targetFlags = {
  node: Flags.string({ char: 'n', description: 'node id (repeatable)', multiple: true }),
  host: Flags.integer({ description: 'fault domain: PM index inside --cloud (every node on that PM)', min: 0 }),
  cloud: Flags.string({ description: 'cloud of the fault domain named by --host' }),
  component: Flags.string({ description: 'only nodes of this component' }),
};

export const yesFlag = {
  yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation', default: false }),
};

/**
 * `--yes` on the undo actions (resume, heal), which never ask: accepted so that scripts can pass --yes to every
 * chaos command alike instead of failing with an unknown-flag error on the harmless ones.
 */
export const noConfirmFlag = {
  yes: Flags.boolean({ char: 'y', description: 'accepted for scripts; undoing a fault never asks', default: false }),
};

export function selectorOf(flags: {
  node?: string[];
  host?: number;
  cloud?: string;
  component?: string;
}): TargetSelector {
  const sel: TargetSelector = {};
  if (flags.node) sel.node = flags.node;
  if (flags.host !== undefined) sel.host = flags.host;
  if (flags.cloud !== undefined) sel.cloud = flags.cloud;
  if (flags.component !== undefined) sel.component = flags.component;
  return sel;
}

/** The confirmation of the chaos commands (cli/prompt.ts), with the chaos codes. */
export function confirmAction(question: string, yes: boolean): Promise<void> {
  return confirm(question, yes, {
    needsConfirmation: ChaosCode.needsConfirmation,
    declined: ChaosCode.declined,
    interrupted: ChaosCode.declined,
  });
}

/** The `--json` value of a confirmed target action. */
export interface TargetActionValue<A extends string> {
  action: A;
  targets: string[];
  results: ActionResult[];
}

/** Base of the chaos commands that act on nodes and report one result per node. */
export abstract class ChaosActionCommand extends TcCommand {
  /** Print `value` through `human` and return it; exit 1 instead when one of `results` failed. */
  protected reportResults<T>(
    value: T,
    results: ActionResult[],
    human: () => void = () => this.log(renderResults(results)),
  ): T {
    if (results.some((r) => !r.ok)) this.finish(value, ExitCode.failure, human);
    human();
    return value;
  }

  /** Event-driven logging: the stack's log components record the fault injected or undone, and who did it. */
  protected async recordChaos(dep: Deployment, action: string, results: ActionResult[]): Promise<void> {
    const done = results.map((r) => `${r.node} ${r.ok ? 'ok' : 'failed'}`).join(', ') || 'nothing to do';
    const type = `tclouds.chaos.${action}`;
    for (const w of await recordEvent(dep.stackDir, dep.outputs.target, type, `chaos ${action}: ${done}`)) this.note(w);
  }

  /**
   * What kill, pause and partition do: load the (local) deployment, resolve the targets the flags name, ask
   * `question(ids, stack)` (see confirmAction), `act` on the targets, and report the results.
   */
  protected async targetAction<A extends string>(
    flags: Parameters<typeof selectorOf>[0] & { file?: string | undefined; stack?: string | undefined; yes: boolean },
    action: A,
    question: (ids: string, stack: string) => string,
    act: (dep: Deployment, targets: NodeOutput[]) => Promise<ActionResult[]>,
  ): Promise<TargetActionValue<A>> {
    const dep = await loadDeployment(flags.file, flags.stack);
    requireLocal(dep);
    const targets = resolveTargets(dep, selectorOf(flags));
    await confirmAction(question(targets.map((t) => t.id).join(', '), dep.outputs.stack), flags.yes);
    const results = await act(dep, targets);
    await this.recordChaos(dep, action, results);
    return this.reportResults({ action, targets: targets.map((t) => t.id), results }, results);
  }
}

export function renderResults(results: ActionResult[], stream: NodeJS.WriteStream = process.stdout): string {
  return results
    .map((r) =>
      r.ok
        ? `${style.green('ok', stream)}     ${r.node}: ${r.message}`
        : `${style.red('failed', stream)} ${r.node}: ${r.action} failed: ${r.message}`,
    )
    .join('\n');
}
