/** What the status dashboard shows of a workflow component, from recorded /health role fields (pure). */
import { describe, expect, it } from 'vitest';
import { workflowKind } from '../../components/workflow/kind.js';

describe('workflow kind status', () => {
  it('shows running executions, calls in flight and the SMR progress per engine', () => {
    const role = { leader: 0, regency: 0, lastDecided: 41, running: 2, callsInFlight: 1, calling: 1 };
    expect(workflowKind.status.keyMetric(role)).toBe('running 2 · calls 1 · calling 1 · decided 41');
    expect(workflowKind.status.keyMetric({})).toBe('');
  });

  it('counts the crash quorum of 2f+1 engines and the leader they agree on', () => {
    expect(workflowKind.status.quorum({ f: 1, n: 3, faults: 'crash' }, 3)).toEqual({ n: 3, f: 1, quorum: 2 });
    const agreed = workflowKind.status.agreement([
      { leader: 1, regency: 1, lastDecided: 9 },
      { leader: 1, regency: 1, lastDecided: 10 },
    ]);
    expect(agreed).toEqual({ leader: 1, regency: 1, lastDecided: 10 });
    expect(workflowKind.status.leaderRole).toBe('engine');
  });
});
