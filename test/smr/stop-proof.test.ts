/**
 * A whole-group clean stop where the last decision of a replica is also its checkpoint: the stop state has no
 * decisions after the checkpoint to replay, but it must still give back the proof of that decision. Peers that had
 * not decided it can only adopt it from that proof (carried in STOPDATA and SYNC): state transfer needs f+1 replicas
 * at the checkpoint, and this may be the only one. Four cores, messages passed by function call.
 */
import { describe, expect, it } from 'vitest';
import { ReplicaCore } from '../../components/smr/protocol/core.js';
import type { Action, Msg } from '../../components/smr/protocol/types.js';
import { makeEnv, simRequest } from './sim.js';

const N = 4;
const F = 1;
const PERIOD = 2;

function core(me: number, recovering = false): ReplicaCore {
  return new ReplicaCore(
    {
      n: N,
      f: F,
      me,
      batchSize: 1,
      checkpointPeriod: PERIOD,
      requestTimeout: 10,
      maxPendingPerClient: 8,
      maxPending: 64,
      recovering,
    },
    makeEnv(me, N),
  );
}

/** Delivers every send until the group is quiet; snapshots are answered at once (empty service). */
function run(cores: ReplicaCore[], first: { to: number; actions: Action[] }[]): void {
  const queue = [...first];
  while (queue.length > 0) {
    const { to: from, actions } = queue.shift()!;
    for (const a of actions) {
      if (a.type === 'checkpoint') {
        queue.push({ to: from, actions: cores[from]!.step({ type: 'snapshot', cid: a.cid, bytes: new Uint8Array() }) });
      }
      if (a.type !== 'send') continue;
      const targets = a.to === 'all' ? cores.map((_, j) => j).filter((j) => j !== from) : [a.to];
      for (const t of targets) {
        queue.push({ to: t, actions: cores[t]!.step({ type: 'message', from, msg: a.msg }) });
      }
    }
  }
}

describe('clean stop at a checkpoint decision', () => {
  it('the restarted replica still carries the proof of its last decision into the next leader change', () => {
    const cores = Array.from({ length: N }, (_, i) => core(i));
    const tick = (c: ReplicaCore, i: number) => ({ to: i, actions: c.step({ type: 'tick', now: 1000, entropy: 1 }) });
    run(cores, cores.map(tick));
    for (let seq = 1; seq <= PERIOD; seq++) {
      const bytes = simRequest('c0', seq, new Uint8Array([seq]), N);
      run(
        cores,
        cores.map((c, i) => ({ to: i, actions: c.step({ type: 'request', bytes }) })),
      );
    }
    // Instances 0 and 1 decided everywhere; 1 is a checkpoint (period 2), so nothing is left to replay after it.
    for (const c of cores) expect(c.lastDecided).toBe(PERIOD - 1);
    const saved = cores[0]!.exportDurable();
    expect(saved.decisions).toEqual([]);
    expect(saved.lastProof?.cid).toBe(PERIOD - 1);

    const fresh = core(0, true);
    const ck = cores[0]!.checkpoint!;
    expect(fresh.restoreLocal(ck.cid, ck.bytes)).toBeDefined();
    fresh.importDurable(saved);
    expect(fresh.lastDecided).toBe(PERIOD - 1);
    // Installing regency 1 (STOPs from 2f+1 replicas): the STOPDATA to the new leader carries the proof.
    let stopData: Extract<Msg, { t: 'STOPDATA' }> | undefined;
    for (const from of [1, 2, 3]) {
      for (const a of fresh.step({ type: 'message', from, msg: { t: 'STOP', reg: 1, reqs: [] } })) {
        if (a.type === 'send' && a.msg.t === 'STOPDATA') stopData = a.msg;
      }
    }
    expect(stopData?.reg).toBe(1);
    expect(stopData?.last?.cid).toBe(PERIOD - 1);
  });
});
