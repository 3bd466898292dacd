/**
 * A workflow deployment for the suites: a topology of 3 engines (f=1, crash) on three local clouds, deployed with
 * the built CLI under a unique stack name, and what the tests read from it: every engine's /health and its own
 * view of an execution (POST /admin/workflow-read, unordered), and its pid to kill.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DeploymentOutputs, NodeOutput } from '../../runtime/node-spec.js';
import { type CliRun, runCli, tempDir } from '../support/cli.js';

export interface WorkflowDeployment {
  dir: string;
  stack: string;
  engines: NodeOutput[];
  token: string;
}

export function ok(r: CliRun): CliRun {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

export const tc = (dir: string, args: string[], timeoutMs = 60_000) => runCli(args, dir, { timeoutMs });

export async function tcJson<T>(dir: string, args: string[], timeoutMs = 60_000): Promise<T> {
  const r = await tc(dir, [...args, '--json'], timeoutMs);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`tclouds ${args.join(' ')} --json: exit ${r.code}, not JSON:\n${r.stdout}\n${r.stderr}`);
  }
}

/** Deploys a workflow stack named `stack` (one of test/support/stacks.ts's TEST_STACKS: its own 127.A block). */
export async function deployWorkflow(stack: string, extra = '', cloudCount = 3): Promise<WorkflowDeployment> {
  const dir = await tempDir(stack);
  const clouds = 'abcdefg'.slice(0, cloudCount).split('');
  await writeFile(
    path.join(dir, 'tclouds.yaml'),
    [
      `name: ${stack}`,
      'mode: native',
      'clouds:',
      ...clouds.map((c) => `  ${c}: { provider: local }`),
      'components:',
      `  flow: { kind: workflow, f: 1, clouds: [${clouds.join(', ')}]${extra} }`,
      '',
    ].join('\n'),
  );
  ok(await tc(dir, ['deploy', '--yes'], 120_000));
  const stackDir = path.join(dir, '.tclouds', stack);
  const outputs = JSON.parse(readFileSync(path.join(stackDir, 'outputs.json'), 'utf8')) as DeploymentOutputs;
  const token = readFileSync(path.join(stackDir, 'keys', 'admin.token'), 'utf8').trim();
  const engines = outputs.components.flow!.nodes.filter((n) => n.role === 'engine').sort((a, b) => a.index - b.index);
  return { dir, stack, engines, token };
}

export async function destroyWorkflow(d: WorkflowDeployment | undefined): Promise<void> {
  if (!d) return;
  await tc(d.dir, ['chaos', 'resume'], 60_000);
  await tc(d.dir, ['destroy', '--yes'], 120_000);
}

export async function health(n: NodeOutput): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await fetch(`http://${n.host}:${n.controlPort}/health`, { signal: AbortSignal.timeout(5000) });
    return (await r.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** This engine's own answer to a read operation (not ordered: what its state holds now). */
export async function engineRead(d: WorkflowDeployment, n: NodeOutput, op: Record<string, unknown>): Promise<unknown> {
  const r = await fetch(`http://${n.host}:${n.controlPort}/admin/workflow-read`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(op),
    signal: AbortSignal.timeout(5000),
  });
  return r.json();
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `timeoutMs`. Not a sleep: an event wait. */
export async function until<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until every engine listed is up and has decided as far as the furthest one. */
export async function caughtUp(engines: NodeOutput[], timeoutMs = 60_000): Promise<void> {
  await until(
    'every engine at the same last decided instance',
    async () => {
      const hs = await Promise.all(engines.map(health));
      const decided = hs.map((h) => (h?.role as { lastDecided?: number } | undefined)?.lastDecided ?? -1);
      return hs.every((h) => h?.status === 'ok') && decided.every((x) => x === decided[0]) && decided[0]! >= 0;
    },
    timeoutMs,
  );
}
