/**
 * The engine core alone: the same ordered operations give the same state on two machines; call ids are unique
 * under a loop, Map items and Parallel branches and the same on every machine; Retry, Catch, Wait and cancel.
 */
import { describe, expect, it } from 'vitest';
import { WorkflowMachine } from '../../components/workflow/engine/machine.js';
import { type ParsedWorkflowOp, type WorkflowOp, WorkflowOpSchema } from '../../components/workflow/operations.js';
import { callEcho, ECHO, loopMapParallel } from './flows.js';

const parse = (op: WorkflowOp): ParsedWorkflowOp => WorkflowOpSchema.parse(op);
const ok = (body: unknown, status = 200) =>
  ({ ok: true, status, statusText: 'OK', headers: {}, body: JSON.stringify(body) }) as const;

/** Answers every pending call (echoing its body) until none is left; returns the call ids in answer order. */
function answerAll(ms: WorkflowMachine[], now: number): string[] {
  const ids: string[] = [];
  for (let round = 0; round < 100; round++) {
    const calls = ms[0]!.pendingCalls();
    if (calls.length === 0) break;
    for (const c of calls) {
      ids.push(c.id);
      const outcome = { ok: true, status: 200, statusText: 'OK', headers: {}, body: c.request.body ?? '' } as const;
      const op = parse({ op: 'result', call: c.id, outcome });
      for (const m of ms) m.apply(op, now);
    }
  }
  return ids;
}

describe('workflow machine', () => {
  it('runs a loop, a Map and a Parallel to the same state on every replica, with unique call ids', () => {
    const ms = [new WorkflowMachine(), new WorkflowMachine()];
    const ops = [
      parse({ op: 'deploy', name: 'lmp', definition: loopMapParallel('http://127.0.0.1:1/svc') }),
      parse({ op: 'start', definition: 'lmp', input: { items: ['x', 'y', 'z'], nap: 0 } }),
      parse({ op: 'start', definition: 'lmp', input: { items: ['x'], nap: 0 } }),
    ];
    for (const op of ops) for (const m of ms) m.apply(op, 1000);
    const ids = answerAll(ms, 2000);
    // Two executions: 3 loop calls + items + 1 branch call each.
    expect(ids.length).toBe(3 + 3 + 1 + (3 + 1 + 1));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('lmp-1/root/Loop#3.1');
    expect(ids).toContain('lmp-1/root/Fan#1/i2/Call#1.1');
    expect(ids).toContain('lmp-1/root/Both#1/b0/A#1.1');
    expect(ms[0]!.snapshot()).toBe(ms[1]!.snapshot());
    const status = ms[0]!.apply(parse({ op: 'status', execution: 'lmp-1' }), 3000);
    expect(status).toMatchObject({
      execution: {
        status: 'SUCCEEDED',
        output: {
          items: ['x', 'y', 'z'],
          i: 3,
          mapped: [
            { item: 'x', index: 0 },
            { item: 'y', index: 1 },
            { item: 'z', index: 2 },
          ],
          both: [{ branch: 'a' }, { branch: 'b' }],
        },
      },
    });
    const copy = new WorkflowMachine();
    copy.restore(ms[0]!.snapshot());
    expect(copy.snapshot()).toBe(ms[0]!.snapshot());
  });

  it('echoes inside the workflow at once, and refuses unknown definitions and bad definitions with a path', () => {
    const m = new WorkflowMachine();
    m.apply(parse({ op: 'deploy', name: 'echo', definition: ECHO }), 0);
    expect(m.apply(parse({ op: 'start', definition: 'echo', input: { hello: 1 } }), 5)).toMatchObject({
      execution: { status: 'SUCCEEDED', output: { hello: 1 } },
    });
    expect(m.apply(parse({ op: 'start', definition: 'nope', input: {} }), 5)).toMatchObject({
      error: { code: 'TC471' },
    });
    const bad = { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' } } };
    expect(m.apply(parse({ op: 'deploy', name: 'bad', definition: bad }), 5)).toMatchObject({
      error: { code: 'TC470', message: 'invalid workflow definition at States.A.Next: no state named "B"' },
    });
  });

  it('retries a failed call after its interval with a new call id, then catches', () => {
    const m = new WorkflowMachine();
    const def = callEcho('http://127.0.0.1:1/e') as Record<string, unknown>;
    const call = (def.States as Record<string, Record<string, unknown>>).Call!;
    call.Retry = [{ ErrorEquals: ['States.Http.StatusCode.503'], IntervalSeconds: 2, MaxAttempts: 1 }];
    call.Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'Caught' }];
    call.End = undefined;
    call.Next = 'Caught';
    (def.States as Record<string, unknown>).Caught = { Type: 'Pass', End: true };
    delete call.End;
    expect(m.apply(parse({ op: 'deploy', name: 'r', definition: def }), 0)).toMatchObject({ deployed: { version: 1 } });
    m.apply(parse({ op: 'start', definition: 'r', input: { a: 1 } }), 0);
    const [first] = m.pendingCalls();
    expect(first!.id).toBe('r-1/root/Call#1.1');
    m.apply(parse({ op: 'result', call: first!.id, outcome: ok('busy', 503) }), 10);
    expect(m.pendingCalls()).toHaveLength(0);
    expect(m.nextTimerAt()).toBe(2010);
    expect(m.apply(parse({ op: 'tick' }), 2000)).toEqual({ ok: true, applied: false });
    m.apply(parse({ op: 'tick' }), 2010);
    const [second] = m.pendingCalls();
    expect(second!.id).toBe('r-1/root/Call#1.2');
    m.apply(
      parse({ op: 'result', call: second!.id, outcome: { ok: false, error: 'States.Timeout', cause: 'slow' } }),
      3000,
    );
    expect(m.apply(parse({ op: 'status', execution: 'r-1' }), 3000)).toMatchObject({
      execution: { status: 'SUCCEEDED', output: { a: 1, err: { Error: 'States.Timeout', Cause: 'slow' } } },
    });
  });

  it('cancels a running execution, dropping its calls; a late result changes nothing', () => {
    const m = new WorkflowMachine();
    m.apply(parse({ op: 'deploy', name: 'c', definition: callEcho('http://127.0.0.1:1/e') }), 0);
    m.apply(parse({ op: 'start', definition: 'c', input: {}, name: 'run-1' }), 0);
    const [c] = m.pendingCalls();
    expect(m.apply(parse({ op: 'cancel', execution: 'run-1' }), 5)).toMatchObject({ execution: { status: 'ABORTED' } });
    expect(m.pendingCalls()).toHaveLength(0);
    expect(m.apply(parse({ op: 'result', call: c!.id, outcome: ok({}) }), 6)).toEqual({ ok: true, applied: false });
    expect(m.apply(parse({ op: 'cancel', execution: 'run-1' }), 7)).toMatchObject({ error: { code: 'TC482' } });
  });

  it('takes a call over once per round', () => {
    const m = new WorkflowMachine();
    m.apply(parse({ op: 'deploy', name: 'c', definition: callEcho('http://127.0.0.1:1/e') }), 0);
    m.apply(parse({ op: 'start', definition: 'c', input: {} }), 0);
    const [c] = m.pendingCalls();
    expect(m.apply(parse({ op: 'takeover', call: c!.id, takeovers: 0 }), 1)).toEqual({ ok: true, applied: true });
    expect(m.apply(parse({ op: 'takeover', call: c!.id, takeovers: 0 }), 1)).toEqual({ ok: true, applied: false });
    expect(m.pendingCalls()[0]!.takeovers).toBe(1);
  });
  it('ends a Wait at the agreed time of a tick, and runs a Map one item at a time under MaxConcurrency 1', () => {
    const m = new WorkflowMachine();
    const task = { Type: 'Task', Resource: 'arn:aws:states:::http:invoke', End: true };
    const def = {
      StartAt: 'Nap',
      States: {
        Nap: { Type: 'Wait', SecondsPath: '$.wait', Next: 'Each' },
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          MaxConcurrency: 1,
          ItemProcessor: {
            StartAt: 'Call',
            States: { Call: { ...task, Parameters: { ApiEndpoint: 'http://127.0.0.1:1/x', Method: 'GET' } } },
          },
          End: true,
        },
      },
    };
    expect(m.apply(parse({ op: 'deploy', name: 'w', definition: def }), 0)).toMatchObject({ deployed: {} });
    m.apply(parse({ op: 'start', definition: 'w', input: { wait: 5, items: [1, 2] } }), 1000);
    expect(m.nextTimerAt()).toBe(6000);
    expect(m.apply(parse({ op: 'tick' }), 5999)).toEqual({ ok: true, applied: false });
    m.apply(parse({ op: 'tick' }), 6000);
    expect(m.nextTimerAt()).toBeUndefined();
    expect(m.pendingCalls().map((c) => c.id)).toEqual(['w-1/root/Each#1/i0/Call#1.1']);
    const done = (id: string) =>
      m.apply(
        parse({ op: 'result', call: id, outcome: { ok: true, status: 200, statusText: 'OK', headers: {}, body: '7' } }),
        7000,
      );
    done('w-1/root/Each#1/i0/Call#1.1');
    expect(m.pendingCalls().map((c) => c.id)).toEqual(['w-1/root/Each#1/i1/Call#1.1']);
    done('w-1/root/Each#1/i1/Call#1.1');
    expect(m.apply(parse({ op: 'status', execution: 'w-1' }), 8000)).toMatchObject({
      execution: {
        status: 'SUCCEEDED',
        output: [
          { ResponseBody: 7, StatusCode: 200 },
          { ResponseBody: 7, StatusCode: 200 },
        ],
      },
    });
  });

  it('fails a Parallel when a branch fails, stopping its other branches, and catches it on the Parallel state', () => {
    const m = new WorkflowMachine();
    const def = {
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Boom', States: { Boom: { Type: 'Fail', Error: 'Out.Of.Stock', Cause: 'sku A' } } },
            {
              StartAt: 'Slow',
              States: {
                Slow: {
                  Type: 'Task',
                  Resource: 'arn:aws:states:::http:invoke',
                  Parameters: { ApiEndpoint: 'http://127.0.0.1:1/x', Method: 'GET' },
                  End: true,
                },
              },
            },
          ],
          Catch: [{ ErrorEquals: ['Out.Of.Stock'], ResultPath: '$.failure', Next: 'Sorry' }],
          End: true,
        },
        Sorry: { Type: 'Pass', End: true },
      },
    };
    m.apply(parse({ op: 'deploy', name: 'p', definition: def }), 0);
    expect(m.apply(parse({ op: 'start', definition: 'p', input: { order: 1 } }), 0)).toMatchObject({
      execution: { status: 'SUCCEEDED', output: { order: 1, failure: { Error: 'Out.Of.Stock', Cause: 'sku A' } } },
    });
    expect(m.pendingCalls()).toEqual([]);
  });
  it('versions definitions: the same one keeps its version, a change makes the next; executions keep theirs', () => {
    const m = new WorkflowMachine();
    const v2 = { StartAt: 'A', States: { A: { Type: 'Pass', Result: 'two', End: true } } };
    expect(m.apply(parse({ op: 'deploy', name: 'e', definition: ECHO }), 0)).toEqual({
      deployed: { name: 'e', version: 1, created: true },
    });
    expect(m.apply(parse({ op: 'deploy', name: 'e', definition: ECHO }), 1)).toEqual({
      deployed: { name: 'e', version: 1, created: false },
    });
    expect(m.apply(parse({ op: 'deploy', name: 'e', definition: v2 }), 2)).toEqual({
      deployed: { name: 'e', version: 2, created: true },
    });
    expect(m.apply(parse({ op: 'start', definition: 'e', input: 1 }), 3)).toMatchObject({
      execution: { version: 2, output: 'two' },
    });
    expect(m.apply(parse({ op: 'start', definition: 'e', version: 1, input: 1 }), 3)).toMatchObject({
      execution: { version: 1, output: 1 },
    });
    expect(m.apply(parse({ op: 'start', definition: 'e', version: 3, input: 1 }), 3)).toMatchObject({
      error: { code: 'TC471' },
    });
  });
});
