/**
 * What the `tclouds workflow *` commands share (kept out of commands/, which oclif scans): flags, finding the
 * workflow component of a deployment, connecting, reading definition files and JSON inputs, rendering summaries.
 */

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { resolveStackDir } from '../components/smr/operations.js';
import { validateDefinition } from '../components/workflow/asl/validate.js';
import { type WorkflowClient, workflowClientFromOutputs } from '../components/workflow/client.js';
import { WorkflowCode } from '../components/workflow/codes.js';
import { MAX_PAYLOAD_BYTES } from '../components/workflow/limits.js';
import type { ExecutionSummary } from '../components/workflow/operations.js';
import { style } from '../dashboard/style.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { readOutputsFile } from '../runtime/outputs-file.js';
import { deploymentFileFlag } from './topology-file.js';

export const workflowFlags = {
  file: deploymentFileFlag,
  'stack-dir': Flags.string({
    description: 'Use the deployment outputs in this directory (.tclouds/<stack>) instead of the topology file',
  }),
  component: Flags.string({
    char: 'c',
    description: 'Workflow component (default: the only workflow component of the deployment)',
  }),
  timeout: Flags.integer({ default: 40, min: 1, description: 'Seconds to wait for the engines to answer' }),
};

type Where = { file: string; 'stack-dir'?: string; timeout: number };

/** The component named, or the deployment's only workflow component. */
export async function workflowComponent(
  where: Where,
  named?: string,
): Promise<{ stackDir: string; component: string }> {
  const stackDir = await resolveStackDir(where.file, where['stack-dir']);
  if (named) return { stackDir, component: named };
  const outputs = await readOutputsFile(path.join(stackDir, 'outputs.json'));
  const names = Object.entries(outputs?.components ?? {})
    .filter(([, c]) => c.kind === 'workflow')
    .map(([n]) => n);
  if (names.length !== 1) {
    throw new TcError(
      WorkflowCode.noDeployment,
      names.length === 0
        ? `no deployed workflow component in ${stackDir}`
        : `the deployment has ${names.length} workflow components (${names.join(', ')})`,
      {
        exit: names.length === 0 ? ExitCode.notFound : ExitCode.usage,
        hint: names.length === 0 ? 'deploy first: `tclouds deploy --target local`' : 'name one with --component',
      },
    );
  }
  return { stackDir, component: names[0]! };
}

export async function withWorkflowClient<T>(
  where: Where,
  component: string | undefined,
  fn: (c: WorkflowClient, component: string) => Promise<T>,
): Promise<T> {
  const { stackDir, component: name } = await workflowComponent(where, component);
  const client = await workflowClientFromOutputs(stackDir, name, { timeoutMs: where.timeout * 1000 });
  try {
    return await fn(client, name);
  } finally {
    await client.close();
  }
}

/** A definition file: JSON, checked here first so a bad one is refused with its path before any engine sees it. */
export async function readDefinitionFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new TcError(
      WorkflowCode.definitionFile,
      `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      {
        exit: ExitCode.notFound,
        hint: 'pass the path of an Amazon States Language JSON file',
      },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TcError(WorkflowCode.definitionFile, `${file} is not JSON: ${(e as Error).message}`, {
      exit: ExitCode.invalid,
      hint: 'a definition is Amazon States Language in JSON',
    });
  }
  validateDefinition(raw, file);
  return raw;
}

/** `--input`: JSON text, or @FILE for a file of JSON. */
export async function parseInput(text: string): Promise<unknown> {
  const body = text.startsWith('@') ? await fs.readFile(text.slice(1), 'utf8').catch(() => undefined) : text;
  if (body === undefined) {
    throw new TcError(WorkflowCode.input, `cannot read the input file ${text.slice(1)}`, { exit: ExitCode.notFound });
  }
  if (Buffer.byteLength(body) > MAX_PAYLOAD_BYTES) {
    throw new TcError(WorkflowCode.input, `the input is over MAX_PAYLOAD_BYTES (${MAX_PAYLOAD_BYTES} bytes)`, {
      exit: ExitCode.invalid,
    });
  }
  try {
    return JSON.parse(body);
  } catch (e) {
    throw new TcError(WorkflowCode.input, `--input is not JSON: ${(e as Error).message}`, {
      exit: ExitCode.usage,
      hint: `quote it for the shell: --input '{"name": "x"}', or pass @file.json`,
    });
  }
}

const colour = (s: ExecutionSummary['status']) =>
  s === 'SUCCEEDED' ? style.green(s) : s === 'RUNNING' ? style.yellow(s) : style.red(s);

/** One line per execution, for status, start and ls. */
export function summaryLine(s: ExecutionSummary): string {
  const extra =
    s.status === 'RUNNING'
      ? `${s.callsInFlight} call${s.callsInFlight === 1 ? '' : 's'} in flight`
      : s.status === 'SUCCEEDED'
        ? `output ${JSON.stringify(s.output)}`
        : `${s.error ?? ''}${s.cause ? `: ${s.cause}` : ''}`;
  return `${s.execution}  ${colour(s.status)}  ${s.definition}:v${s.version}  ${s.steps} steps  ${extra}`;
}
