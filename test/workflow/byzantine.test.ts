/**
 * The Byzantine option on a local deployment (4 engines, f=1, `faults: byzantine`), one engine lying at a time
 * through `tclouds chaos byzantine`, with the counting web service on loopback:
 *  - `lie-results`: the liar makes every call, chosen or not, twice with the same Idempotency-Key and orders a
 *    made-up outcome for each: the engines take an outcome only when f+1 engines ordered it the same, so every
 *    execution ends with the service's real answer, and every call id's effect happens once;
 *  - `wrong-replies`: the liar answers clients with a wrong result: the client takes a result on f+1 identical
 *    replies only, so it sees the right one;
 *  - `silent`: the liar sends nothing: when it is one of a call's f+1 callers, the next engine takes its place
 *    after the takeover time, and the executions still complete.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowClientFromOutputs } from '../../components/workflow/client.js';
import type { ExecutionSummary } from '../../components/workflow/operations.js';
import { TEST_STACKS } from '../support/stacks.js';
import { CountingService } from './counting-service.js';
import {
  caughtUp,
  deployWorkflow,
  destroyWorkflow,
  engineRead,
  ok,
  tc,
  tcJson,
  type WorkflowDeployment,
} from './deployment.js';
import { callEcho } from './flows.js';

let d: WorkflowDeployment | undefined;
const svc = new CountingService();

/** Every call id's effect happened exactly once. */
function effectsOnce(): void {
  expect(svc.effects.size).toBeGreaterThan(0);
  for (const [id, count] of svc.effects) expect(count, `effect of ${id}`).toBe(1);
}

async function lie(node: string, mode: string): Promise<void> {
  ok(await tc(d!.dir, ['chaos', 'byzantine', '--node', node, '--mode', mode, '--no-check', '--yes']));
}

/** Runs `count` executions of the echo-calling flow to their end through the CLI; returns them. */
async function runAll(prefix: string, count: number): Promise<ExecutionSummary[]> {
  const out: ExecutionSummary[] = [];
  for (let i = 0; i < count; i++) {
    const s = await tcJson<ExecutionSummary>(
      d!.dir,
      ['workflow', 'start', 'flow', '--definition', 'call', '--input', JSON.stringify({ n: i, prefix }), '--wait'],
      120_000,
    );
    expect(s, JSON.stringify(s)).toMatchObject({ status: 'SUCCEEDED', output: { n: i, prefix } });
    out.push(s);
  }
  return out;
}

describe('workflow with Byzantine engines on a local deployment', () => {
  beforeAll(async () => {
    const url = await svc.start();
    d = await deployWorkflow(TEST_STACKS.workflowLying, ', faults: byzantine', 4);
    await writeFile(path.join(d.dir, 'call.asl.json'), JSON.stringify(callEcho(url)));
    ok(await tc(d.dir, ['workflow', 'deploy-definition', 'call', '--definition', 'call.asl.json']));
    await caughtUp(d.engines);
  }, 180_000);

  afterAll(async () => {
    await destroyWorkflow(d);
    await svc.stop();
  }, 180_000);

  it('plans 3f+1 engines and a client that needs f+1 identical replies', async () => {
    expect(d!.engines).toHaveLength(4);
    const c = await workflowClientFromOutputs(path.join(d!.dir, '.tclouds', d!.stack), 'flow');
    try {
      expect(c.smr.f).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('takes no call outcome a lying engine made up, and performs every call once', async () => {
    const liar = d!.engines[1]!;
    await lie(liar.id, 'lie-results');
    const runs = await runAll('lie', 6);
    effectsOnce();
    // The liar made every call too, twice: keys arrived more than once, effects did not happen more than once.
    expect(Math.max(...svc.arrivals.values())).toBeGreaterThan(1);
    // The correct engines hold the same history, and no output is the forged one.
    for (const s of runs) {
      expect(JSON.stringify(s.output)).not.toContain('forged');
      const views = await Promise.all(
        d!.engines.filter((e) => e !== liar).map((e) => engineRead(d!, e, { op: 'history', execution: s.execution })),
      );
      for (const v of views.slice(1)) expect(v).toEqual(views[0]);
    }
    ok(await tc(d!.dir, ['chaos', 'heal', '--node', liar.id, '--yes']));
  }, 300_000);

  it('gives the client the right result while an engine answers wrongly', async () => {
    const liar = d!.engines[2]!;
    await lie(liar.id, 'wrong-replies');
    await runAll('wrong', 3);
    effectsOnce();
    ok(await tc(d!.dir, ['chaos', 'heal', '--node', liar.id, '--yes']));
  }, 300_000);

  it('completes every execution while an engine is silent', async () => {
    const liar = d!.engines[3]!;
    await lie(liar.id, 'silent');
    await runAll('silent', 4);
    effectsOnce();
    ok(await tc(d!.dir, ['chaos', 'heal', '--node', liar.id, '--yes']));
  }, 300_000);
});
