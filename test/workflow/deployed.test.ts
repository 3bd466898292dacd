/**
 * The workflow component deployed on the local target (3 engines, f=1, crash faults) and driven through the
 * built CLI, with a counting web service on loopback:
 *  - a workflow with a loop, a Map and a Parallel completes with the same history on every engine, and every
 *    call id's effect happens once;
 *  - the engine making calls is SIGKILLed mid-call (the supervisor restarts it) or held down by `chaos kill`
 *    (another engine takes its calls over): every call id's effect still happens exactly once and every
 *    execution completes;
 *  - with f engines down no execution is lost; restarted, the engine catches up to the same histories;
 *  - the calling engine cut off by `chaos partition`: the others take its calls over; healed, it catches up;
 *  - with every engine SIGKILLed at once, the engines come back from their write-ahead logs and lose nothing.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerOf } from '../../components/workflow/caller-choice.js';
import type { ExecutionSummary } from '../../components/workflow/operations.js';
import { TEST_STACKS } from '../support/stacks.js';
import { CountingService } from './counting-service.js';
import {
  caughtUp,
  deployWorkflow,
  destroyWorkflow,
  engineRead,
  health,
  ok,
  tc,
  tcJson,
  until,
  type WorkflowDeployment,
} from './deployment.js';
import { callEcho, loopMapParallel } from './flows.js';

let d: WorkflowDeployment | undefined;
const svc = new CountingService();

/** Every call id's effect happened exactly once. */
function effectsOnce(): void {
  expect(svc.effects.size).toBeGreaterThan(0);
  for (const [id, count] of svc.effects) expect(count, `effect of ${id}`).toBe(1);
  expect([...svc.effects.keys()].every((k) => k.length > 0)).toBe(true);
}

/** Every engine holds the same history for each execution (read from each engine's own state). */
async function sameHistories(executions: string[]): Promise<void> {
  for (const execution of executions) {
    const views = await Promise.all(d!.engines.map((n) => engineRead(d!, n, { op: 'history', execution })));
    expect((views[0] as { history: unknown[] }).history.length).toBeGreaterThan(0);
    for (const v of views.slice(1)) expect(v).toEqual(views[0]);
  }
}

async function startAll(definition: string, count: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = await tcJson<ExecutionSummary>(d!.dir, [
      'workflow',
      'start',
      'flow',
      '--definition',
      definition,
      '--input',
      JSON.stringify({ n: i }),
      '--name',
      `${prefix}-${i}`,
    ]);
    expect(s.status, JSON.stringify(s)).toBe('RUNNING');
    ids.push(s.execution);
  }
  return ids;
}

async function allSucceeded(ids: string[]): Promise<void> {
  for (const id of ids) {
    const s = await until(
      `${id} finished`,
      async () => {
        const r = await tcJson<ExecutionSummary>(d!.dir, ['workflow', 'status', id]);
        return r.status === 'RUNNING' ? undefined : r;
      },
      120_000,
    );
    expect(s.status, JSON.stringify(s)).toBe('SUCCEEDED');
  }
}

describe('workflow on a local deployment', () => {
  beforeAll(async () => {
    const url = await svc.start();
    d = await deployWorkflow(TEST_STACKS.workflow);
    await writeFile(path.join(d.dir, 'lmp.asl.json'), JSON.stringify(loopMapParallel(url)));
    await writeFile(path.join(d.dir, 'call.asl.json'), JSON.stringify(callEcho(url)));
    ok(await tc(d.dir, ['workflow', 'deploy-definition', 'call', '--definition', 'call.asl.json']));
    await caughtUp(d.engines);
  }, 180_000);

  afterAll(async () => {
    await destroyWorkflow(d);
    await svc.stop();
  }, 180_000);

  it('runs a loop, a Map and a Parallel to the same history on every engine, each call once', async () => {
    const s = await tcJson<ExecutionSummary>(
      d!.dir,
      [
        'workflow',
        'start',
        'flow',
        '--definition',
        'lmp.asl.json',
        '--input',
        '{"items":["x","y","z"],"nap":1}',
        '--wait',
      ],
      120_000,
    );
    expect(s).toMatchObject({
      status: 'SUCCEEDED',
      output: { i: 3, mapped: [{ item: 'x' }, { item: 'y' }, { item: 'z' }] },
    });
    expect(svc.arrivals.size).toBe(3 + 3 + 1);
    effectsOnce();
    await caughtUp(d!.engines);
    await sameHistories([s.execution]);
    const h = await tcJson<{ events: { type: string; call?: string }[] }>(d!.dir, ['workflow', 'history', s.execution]);
    const calls = h.events.filter((e) => e.type === 'CallSucceeded').map((e) => e.call);
    expect(new Set(calls)).toEqual(new Set(svc.arrivals.keys()));
    expect(h.events.map((e) => e.type)).toContain('TimerFired');
    // The status dashboard shows the engines with their executions and the leader they agree on.
    const st = await tcJson<{
      components: { name: string; up: number; leader: number | null; nodes: { keyMetric: string }[] }[];
    }>(d!.dir, ['status']);
    const flow = st.components.find((c) => c.name === 'flow')!;
    expect(flow).toMatchObject({ up: 3 });
    expect(flow.leader).not.toBeNull();
    for (const n of flow.nodes) expect(n.keyMetric).toMatch(/^running 0 · calls 0 · calling 0 · decided \d+$/);
  }, 180_000);

  it('SIGKILL of the calling engine mid-call: each effect once, every execution completes', async () => {
    svc.hold = true;
    const before = svc.total();
    const ids = await startAll('call', 6, 'kill9');
    await svc.arrived(before + 6);
    // The engine chosen for the first call of the first execution is killed while its call is held.
    const victim = d!.engines[callerOf(`${ids[0]}/root/Call#1.1`, 0, 3)]!;
    const pid = (await health(victim))!.pid as number;
    process.kill(pid, 'SIGKILL');
    svc.release();
    await allSucceeded(ids);
    effectsOnce();
    await until('the killed engine back (supervisor)', async () => (await health(victim))?.pid !== pid);
    await caughtUp(d!.engines);
    await sameHistories(ids);
  }, 240_000);

  it('an engine held down mid-call: its calls are taken over; restarted, it catches up', async () => {
    svc.hold = true;
    const before = svc.total();
    const ids = await startAll('call', 6, 'held');
    await svc.arrived(before + 6);
    const victim = d!.engines[callerOf(`${ids[0]}/root/Call#1.1`, 0, 3)]!;
    ok(await tc(d!.dir, ['chaos', 'kill', '--node', victim.id, '--yes']));
    svc.release();
    await allSucceeded(ids);
    effectsOnce();
    // With the victim down, more executions complete (f=1 down loses nothing).
    const more = await startAll('call', 3, 'down');
    await allSucceeded(more);
    effectsOnce();
    const views = await Promise.all(
      d!.engines.filter((n) => n.id !== victim.id).map((n) => engineRead(d!, n, { op: 'history', execution: ids[0] })),
    );
    expect(JSON.stringify(views)).toContain('CallTakenOver');
    ok(await tc(d!.dir, ['chaos', 'resume', '--node', victim.id, '--yes']));
    await caughtUp(d!.engines, 120_000);
    await sameHistories([...ids, ...more]);
  }, 300_000);
  it('cancels a running execution (ABORTED) and lists executions by status', async () => {
    svc.hold = true;
    const before = svc.total();
    const [id] = await startAll('call', 1, 'cancel');
    await svc.arrived(before + 1);
    const c = await tcJson<ExecutionSummary>(d!.dir, ['workflow', 'cancel', id!, '--cause', 'changed my mind']);
    expect(c).toMatchObject({ execution: id, status: 'ABORTED', error: 'States.Aborted', cause: 'changed my mind' });
    svc.release();
    const ls = await tcJson<{ executions: ExecutionSummary[] }>(d!.dir, ['workflow', 'ls', '--status', 'ABORTED']);
    expect(ls.executions.map((e) => e.execution)).toEqual([id]);
    const again = await tc(d!.dir, ['workflow', 'cancel', id!, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ error: { code: 'TC482' } });
  }, 120_000);
  it('every engine SIGKILLed at once mid-call: restarted from their logs, no execution is lost, each effect once', async () => {
    svc.hold = true;
    const before = svc.total();
    const ids = await startAll('call', 4, 'all');
    await svc.arrived(before + 4);
    const pids = await Promise.all(d!.engines.map(async (n) => (await health(n))!.pid as number));
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    svc.release();
    for (const [i, n] of d!.engines.entries()) {
      await until(`${n.id} restarted`, async () => {
        const h = await health(n);
        return h?.status === 'ok' && h.pid !== pids[i];
      });
    }
    await allSucceeded(ids);
    effectsOnce();
    await caughtUp(d!.engines);
    await sameHistories(ids);
  }, 240_000);
  it('the calling engine cut off by a partition mid-call: the others take over; healed, it catches up', async () => {
    svc.hold = true;
    const before = svc.total();
    const ids = await startAll('call', 4, 'cut');
    await svc.arrived(before + 4);
    const victim = d!.engines[callerOf(`${ids[0]}/root/Call#1.1`, 0, 3)]!;
    ok(await tc(d!.dir, ['chaos', 'partition', '--node', victim.id, '--yes']));
    svc.release();
    await allSucceeded(ids);
    effectsOnce();
    // Its result could not be ordered from the minority side: another engine took the call over.
    const other = d!.engines.find((n) => n.id !== victim.id)!;
    expect(JSON.stringify(await engineRead(d!, other, { op: 'history', execution: ids[0] }))).toContain(
      'CallTakenOver',
    );
    ok(await tc(d!.dir, ['chaos', 'heal', '--yes']));
    await caughtUp(d!.engines, 120_000);
    await sameHistories(ids);
  }, 240_000);
});
