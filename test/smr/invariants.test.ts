/**
 * The core's assertions (kernel/assert.ts): they fire on states only a bug can make (here, a damaged stop state a
 * replica takes back at start), never on anything a Byzantine peer can send, and a replica that throws one in the
 * simulator fails its seed, with the seed in the report.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeBatch } from '../../components/smr/protocol/codec.js';
import { ReplicaCore } from '../../components/smr/protocol/core.js';
import type { Msg, SignedCollect } from '../../components/smr/protocol/types.js';
import { InvariantError, isInvariantError } from '../../kernel/assert.js';
import { overfullVotes, undecodableDecision } from './damaged-state.js';
import { makeEnv, runSim, simRequest } from './sim.js';
import { failureReport } from './sim-suite.js';

const N = 4;

function core(me = 0, recovering = true): ReplicaCore {
  return new ReplicaCore(
    {
      n: N,
      f: 1,
      me,
      batchSize: 4,
      checkpointPeriod: 3,
      requestTimeout: 5,
      maxPendingPerClient: 8,
      maxPending: 64,
      recovering,
    },
    makeEnv(me, N),
  );
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('assertions of the SMR core', () => {
  it('a decided value that does not decode as a batch stops the core (it was executed as an empty batch)', () => {
    const c = core();
    const e = thrown(() => c.importDurable(undecodableDecision()));
    expect(isInvariantError(e)).toBe(true);
    expect(e).toMatchObject({ code: 'TC600', details: { cid: 0, bytes: 3 } });
    expect((e as Error).message).toMatch(/invariant violated: a decided value decodes as a batch/);
  });

  it('a regency with more voters than replicas stops the core at the next vote', () => {
    const c = core();
    c.importDurable(overfullVotes());
    const e = thrown(() => c.step({ type: 'message', from: 2, msg: { t: 'WRITE', cid: 0, reg: 1, hash: 'x' } }));
    expect(e).toMatchObject({ code: 'TC600', details: { kind: 'WRITE', reg: 1, voters: 5, n: N } });
  });

  it('nothing a Byzantine peer sends trips an assertion (it is dropped or handled)', () => {
    const batch = encodeBatch(1_000_100, 7, [simRequest('c0', 1, new Uint8Array([1]), N)]);
    const int = fc.oneof(fc.integer({ min: -1, max: 4 }), fc.constant(1.5), fc.constant(Number.NaN));
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(batch));
    const msg: fc.Arbitrary<Msg> = fc.oneof(
      fc.record({ t: fc.constant('PROPOSE' as const), cid: int, reg: int, value: bytes }),
      fc.record({ t: fc.constant('WRITE' as const), cid: int, reg: int, hash: fc.string({ maxLength: 4 }) }),
      fc.record({ t: fc.constant('ACCEPT' as const), cid: int, reg: int, hash: fc.string(), proof: bytes }),
      fc.record({ t: fc.constant('STOP' as const), reg: int, reqs: fc.array(bytes, { maxLength: 2 }) }),
      fc.record({
        t: fc.constant('STOPDATA' as const),
        reg: int,
        collect: bytes,
        auth: bytes,
        last: fc.constant(null),
      }),
      fc.record({
        t: fc.constant('SYNC' as const),
        reg: int,
        cid: int,
        last: fc.constant(null),
        collects: fc.constant([] as SignedCollect[]),
        value: bytes,
      }),
      fc.record({ t: fc.constant('REG' as const), reg: int }),
      fc.record({ t: fc.constant('HB' as const), reg: int, cid: int }),
      fc.record({ t: fc.constant('FWD' as const), reqs: fc.array(bytes, { maxLength: 2 }) }),
      fc.record({ t: fc.constant('STREQ' as const), from: int, attempt: int }),
      fc.record({
        t: fc.constant('STATE' as const),
        upTo: int,
        reg: int,
        ckpt: fc.constant(null),
        log: fc.array(fc.record({ cid: int, value: bytes }), { maxLength: 2 }),
      }),
    );
    const event = fc.oneof(fc.record({ from: fc.integer({ min: 1, max: N - 1 }), msg }), fc.constant('tick' as const));
    fc.assert(
      fc.property(fc.array(event, { minLength: 5, maxLength: 60 }), (events) => {
        // Replica 1: a follower of regency 0 that leads regency 1 once STOPs install it.
        const c = core(1, false);
        for (const ev of events) {
          const input =
            ev === 'tick'
              ? { type: 'tick' as const, now: 1_000_000, entropy: 1 }
              : { type: 'message' as const, from: ev.from, msg: ev.msg };
          const e = thrown(() => c.step(input));
          if (isInvariantError(e)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('a replica that throws in the simulator', () => {
  afterEach(() => vi.restoreAllMocks());

  it('fails its seed, naming the replica, the tick and the broken invariant; the report gives the seed', () => {
    const step = ReplicaCore.prototype.step;
    vi.spyOn(ReplicaCore.prototype, 'step').mockImplementation(function (this: ReplicaCore, input) {
      if (this.me === 2 && this.tick >= 30) throw new InvariantError('made to fail by the test', { tick: this.tick });
      return step.call(this, input);
    });
    const r = runSim(11, { byzantine: new Map(), crashRestart: false, groupRestartAt: -1 });
    expect(r.ok).toBe(false);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatch(
      /^replica 2 at tick \d+: InvariantError TC600 invariant violated: made to fail by the test \{"tick":30\}$/,
    );
    const report = failureReport(r, 'test/smr/simulation-a.test.ts');
    expect(report).toMatch(/^seed 11: replica 2 at tick \d+: InvariantError TC600/);
    expect(report).toContain('SMR_SEED=11');
  });
});
