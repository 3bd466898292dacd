import { stripVTControlCharacters } from 'node:util';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../dashboard/status-model.js';
import { type DashboardActions, StatusDashboard } from '../../dashboard/status-view.js';
import { misbehavingReport, report } from './fixtures.js';

const tick = (ms = 60) => new Promise((r) => setTimeout(r, ms));
const frame = (f: string | undefined) => stripVTControlCharacters(f ?? '');
const widest = (f: string) => Math.max(...f.split('\n').map((l) => l.length));

/**
 * Frames update asynchronously (and much slower on a loaded machine): retry an assertion until it holds, for up to
 * 20 s (a deadline for a frame that never comes, not a speed target).
 */
async function eventually(check: () => void): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await tick(25);
    }
  }
}

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

/** Render and resize the fake stdout (ink-testing-library fixes 100 columns) to `columns`. */
async function show(r: StatusReport, columns: number, extra: Partial<Parameters<typeof StatusDashboard>[0]> = {}) {
  const app = render(<StatusDashboard report={r} {...extra} />);
  cleanup = app.unmount;
  Object.defineProperty(app.stdout, 'columns', { value: columns, configurable: true });
  app.stdout.emit('resize');
  // Wait until Ink has laid the frame out at the new width (the fake stdout starts at 100 columns).
  await eventually(() => {
    const f = frame(app.lastFrame());
    const w = widest(f);
    expect(columns > 100 ? w > 100 : w <= columns).toBe(true);
    // ...and until the rows were recomputed for it (the address column from 104, short figures below 90).
    expect(f.includes('control')).toBe(columns >= 104);
    if (columns < 90) expect(f).toContain('L0 r0 d41');
  });
  return app;
}

describe('status dashboard (recorded health data)', () => {
  it('80 columns: one panel per component, verdicts, placement, nothing wider than the terminal', async () => {
    const app = await show(report('healthy'), 80);
    const f = frame(app.lastFrame());
    expect(widest(f)).toBeLessThanOrEqual(80);
    // Two replicas share host local-a/0: up and counted, but one host failure would take the quorum.
    expect(f).toContain('tclouds status quickstart (local) 02:00:00 · 4/4 up · degraded: ledger');
    expect(f).toContain('degraded: tolerates 1 more node fault (f=1) but not the loss of a host');
    expect(f).toMatch(/ledger-replica-0\*\s+ok\s+local-a\/0\s+1h00m\s+L0 r0 d41/);
    expect(f).toMatch(/local-b\s+ok\s+6 objects · 3.0 KiB/);
    expect(f).toContain('threat byzantine-vm · keep pm-majority · no removal');
    expect(f).toContain('local-a/0 ●●  local-c/0 ●  local-d/1 ●');
    expect(f).not.toContain('127.0.1.1:7199'); // the address column is dropped at 80 columns
    expect(f).toContain('↑↓/jk select · enter details · q quit');
  });

  it('120 columns: the address column and the long consensus figures appear', async () => {
    const app = await show(report('healthy'), 120);
    const f = frame(app.lastFrame());
    expect(widest(f)).toBeLessThanOrEqual(120);
    expect(widest(f)).toBeGreaterThan(100);
    expect(f).toMatch(
      /ledger-replica-2\s+ok\s+local-c\/0\s+127\.0\.3\.3:7199\s+1h00m\s+leader 0 · regency 0 · decided 41/,
    );
  });

  it('a misbehaving replica: its state says byz, its row the mode, the verdict the lower tolerance', async () => {
    const app = await show(misbehavingReport({ 'ledger-replica-2': 'equivocate' }), 80);
    const f = frame(app.lastFrame());
    expect(widest(f)).toBeLessThanOrEqual(80);
    expect(f).toMatch(/ledger-replica-2\s+ok\/byz\s+local-c\/0\s+1h00m\s+misbehaves: equivocate/);
    expect(f).toContain('degraded: tolerates 0 more faults (f=1), 4/4 nodes up (1 misbehaving)');
  });

  it('follows a resize from 120 to 80 columns', async () => {
    const app = await show(report('healthy'), 120);
    Object.defineProperty(app.stdout, 'columns', { value: 80, configurable: true });
    app.stdout.emit('resize');
    await eventually(() => expect(widest(frame(app.lastFrame()))).toBeLessThanOrEqual(80));
  });

  it('quorum lost: red verdict text and the header says which component', async () => {
    const app = await show(report('quorum-lost'), 80);
    const f = frame(app.lastFrame());
    expect(f).toContain('quorum lost: files, ledger');
    expect(f).toContain('QUORUM LOST: 2/4 nodes up, quorum 3');
    expect(f).toContain('QUORUM LOST: 2/4 clouds up, quorum 3');
    expect(f).toMatch(/ledger-replica-0\*\s+down\s+local-a\/0\s+-\s+refused/);
  });

  it('new reports from the poller replace the frame (leader change after a pause)', async () => {
    let push: ((r: StatusReport) => void) | undefined;
    const app = await show(report('healthy'), 100, {
      subscribe: (cb) => {
        push = cb;
        return () => {};
      },
    });
    expect(frame(app.lastFrame())).toMatch(/ledger-replica-0\*/);
    push!(report('leader-paused'));
    await eventually(() => expect(frame(app.lastFrame())).toMatch(/ledger-replica-0\s+paused/));
    const f = frame(app.lastFrame());
    expect(f).toMatch(/ledger-replica-0\s+paused/);
    expect(f).toMatch(/ledger-replica-1\*\s+ok/);
    expect(f).toContain('leader 1 · regency 1 · decided 57');
  });

  it('keys: j/k and arrows move the selection, enter opens details with the log, q quits', async () => {
    const asked: string[] = [];
    const app = await show(report('healthy'), 80, {
      loadDetails: async (id) => {
        asked.push(id);
        return { log: [`02:00:01 info decided instance=41 node=${id}`], metrics: { smr_decided_total: 41 } };
      },
    });
    expect(frame(app.lastFrame())).toMatch(/› ledger-replica-0/);
    app.stdin.write('j');
    await eventually(() => expect(frame(app.lastFrame())).toMatch(/› ledger-replica-1/));
    app.stdin.write('\u001B[B'); // arrow down
    await eventually(() => expect(frame(app.lastFrame())).toMatch(/› ledger-replica-2/));
    app.stdin.write('k');
    await eventually(() => expect(frame(app.lastFrame())).toMatch(/› ledger-replica-1/));
    app.stdin.write('\r');
    await eventually(() => expect(frame(app.lastFrame())).toContain('02:00:01 info decided'));
    const f = frame(app.lastFrame());
    expect(asked).toContain('ledger-replica-1');
    expect(f).toContain('replica #1 · local-a/pm 0 · 127.0.1.2:7199');
    expect(f).toContain('smr_decided_total 41');
    expect(f).toContain('02:00:01 info decided instance=41 node=ledger-replica-1');
    // The details take the placement panel's place: the frame still fits a 40-row terminal.
    expect(f).not.toContain('placement threat');
    expect(f.split('\n').length).toBeLessThanOrEqual(40);
    app.stdin.write('\u001B'); // escape closes the details
    await eventually(() => expect(frame(app.lastFrame())).not.toContain('last log lines'));
    app.stdin.write('q');
    // Exited: Ink stops reading the terminal. It leaves the last frame; further keys change nothing.
    await eventually(() => expect(app.stdin.listenerCount('readable')).toBe(0));
    const before = app.lastFrame();
    app.stdin.write('j');
    await tick();
    expect(app.lastFrame()).toBe(before);
  });

  it('keys that arrive in one chunk count one by one ("jj", "j\\r")', async () => {
    const asked: string[] = [];
    const app = await show(report('healthy'), 80, {
      loadDetails: async (id) => {
        asked.push(id);
        return { log: [] };
      },
    });
    app.stdin.write('jj');
    await eventually(() => expect(frame(app.lastFrame())).toMatch(/› ledger-replica-2/));
    app.stdin.write('k\r');
    await eventually(() => expect(asked).toEqual(['ledger-replica-1']));
  });

  it('x asks for confirmation and kills only after y; p pauses; n cancels', async () => {
    const calls: string[] = [];
    const actions: DashboardActions = {
      kill: async (id) => {
        calls.push(`kill ${id}`);
        return `killed ${id}`;
      },
      pause: async (id) => {
        calls.push(`pause ${id}`);
        return `paused ${id}`;
      },
    };
    const app = await show(report('healthy'), 80, { actions });
    expect(frame(app.lastFrame())).toContain('x kill · p pause');
    app.stdin.write('x');
    await eventually(() => expect(frame(app.lastFrame())).toContain('Kill ledger-replica-0'));
    expect(frame(app.lastFrame())).toContain('Kill ledger-replica-0 (held down until `tclouds chaos resume`)? y/N');
    app.stdin.write('n');
    await eventually(() => expect(frame(app.lastFrame())).toContain('kill cancelled'));
    expect(calls).toEqual([]);
    app.stdin.write('j');
    await eventually(() => expect(frame(app.lastFrame())).toMatch(/› ledger-replica-1/));
    app.stdin.write('x');
    await eventually(() => expect(frame(app.lastFrame())).toContain('Kill ledger-replica-1'));
    app.stdin.write('y');
    await eventually(() => expect(frame(app.lastFrame())).toContain('killed ledger-replica-1'));
    expect(calls).toEqual(['kill ledger-replica-1']);
    app.stdin.write('p');
    await eventually(() => expect(frame(app.lastFrame())).toContain('Pause ledger-replica-1'));
    app.stdin.write('y');
    await eventually(() => expect(calls).toHaveLength(2));
    expect(calls).toEqual(['kill ledger-replica-1', 'pause ledger-replica-1']);
  });

  it('without process control (cloud target) x explains instead of acting', async () => {
    const app = await show(report('healthy'), 80, { actions: null });
    app.stdin.write('x');
    await eventually(() => expect(frame(app.lastFrame())).toContain('kill and pause work on the local target only'));
  });
});
