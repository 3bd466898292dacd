/**
 * The log service as the SMR replicas run it: deterministic results (sequence numbers, times, heads), sealing by
 * size, by request and by the agreed clock, snapshots that restore to the same state, refusals of bad input.
 */
import { describe, expect, it } from 'vitest';
import { SEAL_AFTER_MS } from '../../components/log/limits.js';
import { type CoreResult, decodeCoreResult, LogCoreService } from '../../components/log/protocol/core-service.js';
import { decodeEntry } from '../../components/log/protocol/entry.js';
import type { SealedSegment } from '../../components/log/protocol/segment.js';
import { ctx, entry } from './support.js';

const op = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const run = (s: LogCoreService, o: unknown, c = ctx(1)): CoreResult => decodeCoreResult(s.execute(op(o), c));

describe('log core service', () => {
  it('numbers entries, stamps the agreed time and the authenticated account, the same on every replica', () => {
    const sealedA: SealedSegment[] = [];
    const sealedB: SealedSegment[] = [];
    const a = new LogCoreService((s) => sealedA.push(s), 3);
    const b = new LogCoreService((s) => sealedB.push(s), 3);
    const ops = [
      { op: 'append', entries: [entry(0), entry(1)] },
      { op: 'append', entries: [entry(2), entry(3), entry(4)] },
      { op: 'seal' },
    ];
    const ra = ops.map((o, i) => a.execute(op(o), ctx(i + 1, 1000 + i)));
    const rb = ops.map((o, i) => b.execute(op(o), ctx(i + 1, 1000 + i)));
    expect(ra).toEqual(rb);
    expect(decodeCoreResult(ra[1] as Uint8Array)).toEqual({ ok: true, first: 2, count: 3, size: 5 });
    expect(sealedA).toEqual(sealedB);
    expect(sealedA.map((s) => [s.segment, s.first, s.entries.length, s.head.size])).toEqual(
      [
        [0, 0, 3],
        [1, 3, 2],
      ].map(([k, f, n]) => [k, f, n, (f as number) + (n as number)]),
    );
    const e = decodeEntry(sealedA[0]?.entries[2] as string);
    expect(e).toMatchObject({ seq: 2, time: 1001, account: 'client-audit', cloud: 'a', msg: 'event 2' });
  });

  it('seals an open segment once its first entry is SEAL_AFTER_MS old by the agreed clock', () => {
    const sealed: SealedSegment[] = [];
    const s = new LogCoreService((x) => sealed.push(x), 100);
    run(s, { op: 'append', entries: [entry(0)] }, ctx(1, 5000));
    run(s, { op: 'append', entries: [entry(1)] }, ctx(2, 5000 + SEAL_AFTER_MS - 1));
    expect(sealed).toHaveLength(0);
    run(s, { op: 'append', entries: [entry(2)] }, ctx(3, 5000 + SEAL_AFTER_MS));
    expect(sealed.map((x) => x.entries.length)).toEqual([2]);
    expect(run(s, { op: 'head' })).toMatchObject({ ok: true, size: 3, segments: 1, open: 1 });
  });

  it('restores from a snapshot to the same state and the same next results', () => {
    const s = new LogCoreService(() => {}, 4);
    for (let i = 0; i < 7; i++) run(s, { op: 'append', entries: [entry(i)] }, ctx(i + 1, 100 + i));
    const copy = new LogCoreService(() => {}, 4);
    copy.restore(s.snapshot());
    expect(copy.snapshot()).toEqual(s.snapshot());
    const next = { op: 'append', entries: [entry(9)] };
    expect(copy.execute(op(next), ctx(9, 200))).toEqual(s.execute(op(next), ctx(9, 200)));
  });

  it('refuses malformed operations and over-limit entries with a reason, the same everywhere', () => {
    const s = new LogCoreService();
    expect(decodeCoreResult(s.execute(new TextEncoder().encode('{nope'), ctx(1)))).toEqual({
      error: 'malformed log operation (not JSON)',
    });
    expect(run(s, { op: 'append', entries: [] })).toMatchObject({ error: expect.stringContaining('entries') });
    expect(run(s, { op: 'append', entries: [{ ...entry(0), cloud: 'a b' }] })).toMatchObject({
      error: expect.stringContaining('cloud'),
    });
    expect(run(s, { op: 'append', entries: [{ ...entry(0), msg: 'x'.repeat(16_385) }] })).toMatchObject({
      error: expect.stringContaining('msg'),
    });
    expect(run(s, { op: 'append', entries: [entry(0)], onBehalf: 'mallory' })).toMatchObject({
      error: expect.stringContaining('not a console'),
    });
    expect(
      run(s, { op: 'append', entries: [entry(0)], onBehalf: 'alice' }, ctx(2, 1, 'console-audit/x')),
    ).toMatchObject({ ok: true });
    expect(run(s, { op: 'append', entries: [entry(0)] }, { ...ctx(3), readOnly: true })).toEqual({
      error: 'read-only request cannot write',
    });
    expect(s.size).toBe(1);
  });
});
