/**
 * A start that waits for its execution (`waitMs`): the service defers its reply (DEFERRED) and hands it out after
 * the ordered operation that ends the execution, or after the first one ordered at or past the deadline; replicas
 * that execute the same operations hand out the same replies at the same point.
 */
import { describe, expect, it } from 'vitest';
import { DEFERRED, type ExecContext } from '../../components/smr/services/service.js';
import type { WorkflowOp } from '../../components/workflow/operations.js';
import { WorkflowService } from '../../components/workflow/service.js';
import { callEcho, ECHO } from './flows.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const ENGINE = 'engine-0.caller';

function replica(): {
  svc: WorkflowService;
  run: (op: WorkflowOp, client: string, seq: number, ts: number) => unknown;
} {
  const svc = new WorkflowService();
  svc.engines = new Set([ENGINE]);
  const run = (op: WorkflowOp, client: string, seq: number, ts: number) => {
    const ctx: ExecContext = { client: `${client}/0`, seq, cid: seq, timestamp: ts, nonce: 0, readOnly: false };
    const r = svc.execute(enc.encode(JSON.stringify(op)), ctx);
    return r === DEFERRED ? DEFERRED : JSON.parse(dec.decode(r));
  };
  return { svc, run };
}

describe('a start that waits for its execution', () => {
  it('answers at once when the execution ends within the start', () => {
    const { svc, run } = replica();
    run({ op: 'deploy', name: 'echo', definition: ECHO }, 'c', 1, 1000);
    const r = run({ op: 'start', definition: 'echo', input: { text: 'hi' }, waitMs: 5000 }, 'c', 2, 1000) as {
      execution: { status: string };
    };
    expect(r.execution.status).toBe('SUCCEEDED');
    expect(svc.takeDeferred()).toEqual([]);
  });

  it('answers after the call result that ends it, the same on every replica', () => {
    const replicas = [replica(), replica()];
    const out = replicas.map(({ svc, run }) => {
      run({ op: 'deploy', name: 'ws', definition: callEcho('http://127.0.0.1:1/echo') }, 'c', 1, 1000);
      expect(run({ op: 'start', definition: 'ws', input: { text: 'hi' }, waitMs: 5000 }, 'c', 2, 1000)).toBe(DEFERRED);
      expect(svc.takeDeferred()).toEqual([]);
      expect(svc.machine.nextTimerAt()).toBe(6000);
      const call = svc.machine.pendingCalls()[0]!;
      const outcome = { ok: true, status: 200, statusText: 'OK', headers: {}, body: call.request.body ?? '' } as const;
      run({ op: 'result', call: call.id, outcome }, 'engine-0.caller', 1, 1500);
      return svc.takeDeferred().map((d) => ({ ...d, result: JSON.parse(dec.decode(d.result)) }));
    });
    expect(out[0]).toHaveLength(1);
    expect(out[0]![0]).toMatchObject({ client: 'c/0', seq: 2, result: { execution: { status: 'SUCCEEDED' } } });
    expect(out[1]).toEqual(out[0]);
    expect(replicas[0]!.svc.machine.nextTimerAt()).toBeUndefined();
  });

  it('answers RUNNING at the first operation ordered at its deadline, and survives a snapshot', () => {
    const { svc, run } = replica();
    run({ op: 'deploy', name: 'ws', definition: callEcho('http://127.0.0.1:1/echo') }, 'c', 1, 1000);
    expect(run({ op: 'start', definition: 'ws', input: {}, waitMs: 100 }, 'c', 2, 1000)).toBe(DEFERRED);
    const copy = new WorkflowService();
    copy.restore(svc.snapshot());
    copy.engines = svc.engines;
    run({ op: 'tick' }, ENGINE, 1, 1050);
    expect(svc.takeDeferred()).toEqual([]);
    run({ op: 'tick' }, ENGINE, 2, 1100);
    const [d] = svc.takeDeferred();
    expect(JSON.parse(dec.decode(d!.result)).execution.status).toBe('RUNNING');
    // The restored copy holds the same waiter and answers at the same point.
    const ctx = { client: `${ENGINE}/0`, seq: 2, cid: 2, timestamp: 1100, nonce: 0, readOnly: false };
    copy.execute(enc.encode(JSON.stringify({ op: 'tick' })), ctx);
    expect(copy.takeDeferred()).toEqual([d]);
  });
});
