/**
 * The deploy progress view (Ink) and its row model, rendered with ink-testing-library: finished rows go to
 * <Static> (printed once, above the live area), live rows show their elapsed time, the summary closes the view.
 */
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { DeployProgress, formatRow, ProgressModel } from '../../dashboard/deploy-progress.js';

function model(clock: { t: number }) {
  return new ProgressModel(() => clock.t);
}

describe('deploy progress', () => {
  it('moves finished rows into the static area and keeps live rows below', () => {
    const clock = { t: 1000 };
    const m = model(clock);
    m.apply({ kind: 'node', id: 'ledger-replica-0', state: 'pending', op: 'create' });
    m.apply({ kind: 'node', id: 'ledger-replica-1', state: 'running', op: 'create' });
    clock.t = 2500;
    const done = m.apply({ kind: 'node', id: 'ledger-replica-0', state: 'done', op: 'create', message: '127.1.0.1' });
    expect(done?.elapsedMs).toBe(1500);
    expect(m.completed.map((r) => r.id)).toEqual(['ledger-replica-0']);
    expect(m.liveRows().map((r) => r.id)).toEqual(['ledger-replica-1']);

    const { lastFrame, rerender } = render(
      <DeployProgress title="deploying demo to local" completed={m.completed} live={m.liveRows()} now={clock.t} />,
    );
    const frame = lastFrame() ?? '';
    expect(frame).toContain('✓  node  ledger-replica-0  created  127.1.0.1  (1.5s)');
    expect(frame).toContain('…  node  ledger-replica-1  creating  (1.5s)');
    expect(frame).toContain('deploying demo to local');
    // the static row is above the live area
    expect(frame.indexOf('ledger-replica-0')).toBeLessThan(frame.indexOf('deploying demo'));

    clock.t = 4000;
    m.apply({ kind: 'node', id: 'ledger-replica-1', state: 'failed', message: 'did not become healthy' });
    rerender(
      <DeployProgress
        title="deploying demo to local"
        completed={m.completed}
        live={m.liveRows()}
        now={clock.t}
        summary="deploy failed"
      />,
    );
    const last = lastFrame() ?? '';
    expect(last).toContain('deploy failed');
    expect(last).not.toContain('creating');
  });

  it('formats rows the same way for plain output', () => {
    const row = {
      key: 'resource:vault/c1',
      kind: 'resource' as const,
      id: 'vault/c1',
      type: 'local:bucket',
      state: 'unchanged' as const,
      startedAt: 0,
      elapsedMs: 3,
    };
    expect(formatRow(row, 10)).toBe('=  local:bucket  vault/c1  unchanged  (3ms)');
    expect(m2().counts()).toMatchObject({ done: 0, failed: 0 });
  });
});

function m2() {
  return new ProgressModel(() => 0);
}
