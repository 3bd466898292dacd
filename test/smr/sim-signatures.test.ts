/**
 * Simulated replicas with `clientAuth: signature` (test/smr/sim.ts `signed`): clients sign every request with
 * Ed25519 and the replicas run the real request check (components/smr/request-auth.ts). Pinned on the first leader:
 * a Byzantine leader that injects a request its client never issued (unsigned, signed with a key that is not the
 * client's, or with a zeroed signature) into the batch it proposes. Correct replicas refuse the proposal, vote the
 * leader out, and never execute the request (the simulator's integrity check), and every client op still completes.
 */
import { describe, expect, it } from 'vitest';
import { type Byzantine, PINNED, runSim } from './sim.js';

const base = PINNED;

describe('signed client requests in the simulator', () => {
  for (const signed of [true, false]) {
    it(`${signed ? 'signed' : 'MAC'} requests: a leader injecting a request into its batch never gets it executed`, () => {
      for (let seed = 1; seed <= 12; seed++) {
        const r = runSim(seed, { ...base, signed, byzantine: new Map([[0, 'inject']]) });
        expect(r.failures, `seed ${seed}`).toEqual([]);
        expect(r.completed).toBeGreaterThanOrEqual(base.clients * base.opsPerClient);
        // Not vacuous: the leader did propose a batch with the injected request (then it was voted out).
        expect(r.injected, `seed ${seed}`).toBeGreaterThanOrEqual(1);
      }
    });
  }

  it('signed requests under every other Byzantine behaviour, a lossy network and f=2', () => {
    for (const b of ['equivocate', 'censor', 'forge', 'replay', 'wrong-replies', 'silent'] as Byzantine[]) {
      for (let seed = 1; seed <= 4; seed++) {
        const r = runSim(seed, { ...base, signed: true, byzantine: new Map([[0, b]]) });
        expect(r.failures, `${b} seed ${seed}`).toEqual([]);
      }
    }
    for (let seed = 1; seed <= 4; seed++) {
      const r = runSim(seed, {
        ...base,
        n: 7,
        f: 2,
        drop: 0.1,
        dup: 0.05,
        partitions: true,
        signed: true,
        byzantine: new Map<number, Byzantine>([
          [0, 'inject'],
          [3, 'forge'],
        ]),
      });
      expect(r.failures, `f=2 seed ${seed}`).toEqual([]);
    }
  });

  it('the same signed seed gives the same trace (Ed25519 signatures are deterministic)', () => {
    const a = runSim(5, { ...base, signed: true, byzantine: new Map([[0, 'inject']]) });
    const b = runSim(5, { ...base, signed: true, byzantine: new Map([[0, 'inject']]) });
    expect(a.trace).toBe(b.trace);
  });
});
