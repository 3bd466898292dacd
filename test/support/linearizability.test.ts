/** The history checker itself, on histories whose answer is known, so a pass on real histories means something. */
import { describe, expect, it } from 'vitest';
import type { KvOp, KvResult } from '../../components/smr/services/kv.js';
import { checkKvHistory, type HistoryOp } from './linearizability.js';

const op = (client: string, o: KvOp, call: number, ret?: number, result?: KvResult): HistoryOp =>
  ret === undefined ? { client, op: o, call } : { client, op: o, call, ret, result: result! };
const put = (key: string, value: string): KvOp => ({ op: 'put', key, value });
const get = (key: string): KvOp => ({ op: 'get', key });
const cas = (key: string, expected: string | null, value: string): KvOp => ({ op: 'cas', key, expected, value });

describe('linearizability checker', () => {
  it('accepts a sequential history and concurrent operations in either order', () => {
    expect(
      checkKvHistory([
        op('a', put('k', '1'), 0, 1, { ok: true, value: null }),
        op('b', get('k'), 2, 3, { ok: true, value: '1' }),
        // Concurrent put and get: the get may see either value.
        op('a', put('k', '2'), 4, 8, { ok: true, value: '1' }),
        op('b', get('k'), 5, 6, { ok: true, value: '1' }),
        op('c', get('k'), 5, 7, { ok: true, value: '2' }),
      ]).ok,
    ).toBe(true);
  });

  it('refuses a stale read after a completed write, and names the key', () => {
    const r = checkKvHistory([
      op('a', put('x', 'new'), 0, 1, { ok: true, value: null }),
      op('b', get('x'), 2, 3, { ok: true, value: null }),
    ]);
    expect(r.ok).toBe(false);
    expect(r.counterexample?.key).toBe('x');
  });

  it('refuses a read that goes back in time (new value, then the old one)', () => {
    const r = checkKvHistory([
      op('a', put('k', '1'), 0, 1, { ok: true, value: null }),
      op('a', put('k', '2'), 2, 10, { ok: true, value: '1' }),
      op('b', get('k'), 3, 4, { ok: true, value: '2' }),
      op('c', get('k'), 5, 6, { ok: true, value: '1' }),
    ]);
    expect(r.ok).toBe(false);
  });

  it('an operation with an unknown outcome may have applied late, or never', () => {
    const timedOut = op('a', put('k', 'maybe'), 0);
    expect(checkKvHistory([timedOut, op('b', get('k'), 50, 51, { ok: true, value: 'maybe' })]).ok).toBe(true);
    expect(checkKvHistory([timedOut, op('b', get('k'), 50, 51, { ok: true, value: null })]).ok).toBe(true);
    // ...but not before it was called.
    expect(checkKvHistory([op('b', get('k'), 0, 1, { ok: true, value: 'maybe' }), { ...timedOut, call: 5 }]).ok).toBe(
      false,
    );
  });

  it('checks compare-and-set results: two cas on the same expected value cannot both succeed', () => {
    expect(
      checkKvHistory([
        op('a', put('c', '0'), 0, 1, { ok: true, value: null }),
        op('a', cas('c', '0', 'a'), 2, 5, { ok: true, value: '0' }),
        op('b', cas('c', '0', 'b'), 2, 5, { ok: true, value: '0' }),
      ]).ok,
    ).toBe(false);
    expect(
      checkKvHistory([
        op('a', put('c', '0'), 0, 1, { ok: true, value: null }),
        op('a', cas('c', '0', 'a'), 2, 5, { ok: true, value: '0' }),
        op('b', cas('c', '0', 'b'), 2, 5, { ok: false, value: 'a' }),
      ]).ok,
    ).toBe(true);
  });

  it('handles a few hundred overlapping operations on one key (memoised search)', () => {
    const history: HistoryOp[] = [];
    let value: string | null = null;
    for (let i = 0; i < 300; i++) {
      // Overlapping windows of three operations; each put's predecessor is the one before it.
      history.push(op(`c${i % 3}`, put('hot', String(i)), i, i + 3, { ok: true, value }));
      value = String(i);
    }
    expect(checkKvHistory(history).ok).toBe(true);
  });
});
