/**
 * What the status dashboard shows of a MapReduce component (components/mapreduce/kind.ts): the tracker says it is
 * trusted, with the workers connected and jobs running; a worker shows its tasks and any fault mode. Fed recorded
 * /health role fields, as the status model's tests are.
 */
import { describe, expect, it } from 'vitest';
import { mapreduceKind } from '../../components/mapreduce/kind.js';

describe('mapreduce status hooks', () => {
  it('names the trusted tracker and the workers', () => {
    const { keyMetric } = mapreduceKind.status;
    expect(keyMetric({ trusted: true, workersConnected: 4, jobsRunning: 1, jobsEnded: 3 })).toBe(
      'tracker (trusted) · workers 4 · jobs running 1',
    );
    expect(keyMetric({ running: 1, tasksDone: 12, fault: 'none', tracker: 'connected' })).toBe(
      'tasks done 12 · running 1',
    );
    expect(keyMetric({ running: 0, tasksDone: 3, fault: 'wrong-output' })).toBe(
      'tasks done 3 · running 0 · fault wrong-output',
    );
    expect(keyMetric({ tasksDone: 'x' })).toBe('tasks done ? · running ?');
  });

  it('offers the worker fault modes to chaos byzantine', () => {
    expect(mapreduceKind.chaos.faultModes).toEqual(['wrong-output', 'silent', 'slow']);
    expect(typeof mapreduceKind.roles).toBe('function');
  });
});
