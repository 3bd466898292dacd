/**
 * What the `tclouds chaos` commands share: target flags, the confirmation rule (ask on a TTY, `--yes` skips,
 * refuse without either) and the rendering of action results.
 */
import { createInterface } from 'node:readline/promises';
import { Flags } from '@oclif/core';
import { style } from '../cli/style.js';
import { ExitCode, TcError } from '../runtime/errors.js';
import type { ActionResult, TargetSelector } from './actions.js';
import { StatusCode } from './codes.js';

export const deploymentFlags = {
  file: Flags.string({ char: 'f', description: 'topology file of the deployment (default ./tclouds.yaml)' }),
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

/** Ask `question` on the terminal; `--yes` skips; no terminal and no --yes is a clear refusal. */
export async function confirmAction(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new TcError(StatusCode.needsConfirmation, `refusing without confirmation: ${question}`, {
      exit: ExitCode.usage,
      hint: 'there is no terminal to ask on; pass --yes to confirm',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      throw new TcError(StatusCode.declined, 'cancelled: nothing was changed', { exit: ExitCode.failure });
    }
  } finally {
    rl.close();
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
