/**
 * Byzantine engines in the engine core: a call's outcome is taken once f+1 engines ordered it the same (a liar's
 * made-up outcome, or its repeated votes, change nothing), and the f+1 callers of a round follow from the call id.
 */
import { describe, expect, it } from 'vitest';
import { callerOf, isCaller, shouldTakeOver } from '../../components/workflow/caller-choice.js';
import { WorkflowMachine } from '../../components/workflow/engine/machine.js';
import { type ParsedWorkflowOp, type WorkflowOp, WorkflowOpSchema } from '../../components/workflow/operations.js';
import { callEcho } from './flows.js';

const parse = (op: WorkflowOp): ParsedWorkflowOp => WorkflowOpSchema.parse(op);
const outcome = (body: string, date: string) =>
  ({ ok: true, status: 200, statusText: 'OK', headers: { 'content-type': 'application/json', date }, body }) as const;

describe('call outcomes with Byzantine engines', () => {
  it('takes an outcome only when f+1 engines ordered the same one', () => {
    const m = new WorkflowMachine();
    m.resultQuorum = 2;
    m.apply(parse({ op: 'deploy', name: 'ws', definition: callEcho('http://127.0.0.1:1/echo') }), 1000);
    m.apply(parse({ op: 'start', definition: 'ws', input: { n: 1 }, name: 'x' }), 1000);
    const call = m.pendingCalls()[0]!;
    const real = JSON.stringify({ n: 1 });
    const result = (body: string, sender: string, date = 'd1') =>
      m.apply(parse({ op: 'result', call: call.id, outcome: outcome(body, date) }), 1100, sender);
    expect(result('{"forged":true}', 'liar')).toEqual({ ok: true, applied: false });
    expect(result('{"forged":true}', 'liar')).toEqual({ ok: true, applied: false });
    expect(result(real, 'e0', 'd1')).toEqual({ ok: true, applied: false });
    expect(m.pendingCalls()).toHaveLength(1);
    expect(result(real, 'e2', 'd2')).toEqual({ ok: true, applied: true });
    const s = m.apply(parse({ op: 'status', execution: 'x' }), 1200) as {
      execution: { status: string; output: unknown };
    };
    expect(s.execution).toMatchObject({ status: 'SUCCEEDED', output: { n: 1 } });
  });

  it('has f+1 callers per round, and the replica after the last of them takes over first', () => {
    const id = 'x/root/Call#1.1';
    const first = callerOf(id, 0, 4);
    const callers = [0, 1, 2, 3].filter((me) => isCaller(id, 0, 4, me, 2));
    expect(callers.sort()).toEqual([first, (first + 1) % 4].sort());
    const next = (first + 2) % 4;
    expect(shouldTakeOver(id, 0, 4, next, 2000, 2000, 2)).toBe(true);
    expect(shouldTakeOver(id, 0, 4, (first + 3) % 4, 2000, 2000, 2)).toBe(false);
    expect(isCaller(id, 1, 4, next, 2)).toBe(true);
  });
});
