/**
 * The replicated job tracker's SMR service (tracker-service.ts), fed ordered ops as the SMR would: an input counts
 * only once f+1 distinct shells endorsed it identically (one lying shell cannot invent a job, a report or a vote, nor
 * bring a worker up alone); time is the SMR timestamp; replicas fed the same ops have byte-identical snapshots, and a
 * restored snapshot continues identically; ops from anyone but a shell are refused.
 */
import { describe, expect, it } from 'vitest';
import type { Action } from '../../components/mapreduce/core.js';
import { type TrackerOp, TrackerService } from '../../components/mapreduce/tracker-service.js';
import type { ExecContext } from '../../components/smr/services/service.js';

const F = 1;
const SHELLS = ['t0.shell', 't1.shell', 't2.shell', 't3.shell'];
const enc = new TextEncoder();
const dec = new TextDecoder();

function service(actions: Action[] = []) {
  return new TrackerService({ slots: 1, f: F, shells: new Set(SHELLS) }, (a) => actions.push(...a));
}

let cid = 0;
function exec(s: TrackerService, client: string, op: TrackerOp, timestamp = 1000 + cid): string {
  const ctx: ExecContext = { client: `${client}/s`, seq: cid, cid: cid++, timestamp, nonce: 0, readOnly: false };
  return dec.decode(s.execute(enc.encode(JSON.stringify(op)), ctx));
}

const submit: TrackerOp = {
  t: 'endorse',
  input: { t: 'submit', job: 'j1', f: F, maps: 1, reduces: 1, timeoutMs: 60_000, stragglerMs: 10_000, now: 0 },
  job: { name: 'wc', replicated: true, content: 'c'.repeat(64), module: 'd'.repeat(64) },
};

function workersUp(s: TrackerService, shells: string[]): void {
  for (const w of ['w0', 'w1', 'w2'])
    for (const sh of shells) exec(s, sh, { t: 'view', worker: w, up: true, domain: `d/${w}` });
}

describe('the replicated tracker service', () => {
  it('takes an input only on f+1 identical endorsements; one lying shell changes nothing', () => {
    const actions: Action[] = [];
    const s = service(actions);
    workersUp(s, ['t0.shell']);
    expect(s.core.aliveWorkers()).toEqual([]);
    workersUp(s, ['t1.shell']);
    expect(s.core.aliveWorkers().sort()).toEqual(['w0', 'w1', 'w2']);
    exec(s, 't3.shell', submit);
    expect(s.core.jobs.has('j1')).toBe(false);
    exec(s, 't0.shell', submit);
    expect(s.core.jobs.get('j1')?.submittedAt).toBeGreaterThan(1000);
    const runs = actions.filter((a) => a.t === 'run');
    expect(runs).toHaveLength(F + 1);
    const [r0, r1] = runs as Extract<Action, { t: 'run' }>[];
    const report = (worker: string, vote: string): TrackerOp => ({
      t: 'endorse',
      input: { t: 'report', job: 'j1', kind: 'map', index: 0, attempt: 0, worker, vote, now: 0 },
    });
    // The liar endorses a wrong vote for a replica: alone it is not taken.
    exec(s, 't3.shell', report(r0!.worker, 'f'.repeat(64)));
    expect(s.core.jobs.get('j1')?.maps[0]?.replicas[0]?.state).toBe('running');
    exec(s, 't0.shell', report(r0!.worker, 'a'.repeat(64)));
    exec(s, 't1.shell', report(r0!.worker, 'a'.repeat(64)));
    expect(s.core.jobs.get('j1')?.maps[0]?.replicas[0]).toMatchObject({ state: 'done', vote: 'a'.repeat(64) });
    expect(r1?.attempt).toBe(1);
  });

  it("orders the job module's digest with the job: a shell endorsing another module is not counted", () => {
    const s = service();
    workersUp(s, ['t0.shell', 't1.shell']);
    const other: TrackerOp = {
      ...submit,
      job: { ...(submit.job as NonNullable<typeof submit.job>), module: 'e'.repeat(64) },
    };
    exec(s, 't3.shell', other);
    exec(s, 't0.shell', submit);
    expect(s.core.jobs.has('j1')).toBe(false);
    exec(s, 't2.shell', submit);
    expect(s.core.jobs.has('j1')).toBe(true);
    expect(s.meta.get('j1')?.moduleDigest).toBe('d'.repeat(64));
  });

  it('refuses ops from clients that are not tracker shells', () => {
    const s = service();
    expect(exec(s, 'someone', submit)).toBe('{"ok":false}');
    expect(exec(s, 't0.shell', submit)).toBe('{"ok":true}');
  });

  it('replicas fed the same ops have identical snapshots; a restored one continues identically', () => {
    const a = service();
    const b = service();
    const ops: Array<[string, TrackerOp]> = [];
    for (const w of ['w0', 'w1', 'w2'])
      for (const sh of SHELLS.slice(0, 3)) ops.push([sh, { t: 'view', worker: w, up: true, domain: `d/${w}` }]);
    ops.push(['t0.shell', submit], ['t2.shell', submit], ['t1.shell', { t: 'tick' }]);
    ops.forEach(([sh, op], i) => {
      exec(a, sh, op, 5000 + i);
      exec(b, sh, op, 5000 + i);
    });
    expect(dec.decode(a.snapshot())).toBe(dec.decode(b.snapshot()));
    const c = service();
    c.restore(a.snapshot());
    const down: TrackerOp = { t: 'view', worker: 'w0', up: false, domain: '' };
    for (const s of [a, c]) for (const sh of SHELLS.slice(0, 3)) exec(s, sh, down, 9000);
    expect(dec.decode(c.snapshot())).toBe(dec.decode(a.snapshot()));
  });
});
