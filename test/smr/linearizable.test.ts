/**
 * Linearizability of the SMR key-value service on real replica processes under faults: concurrent sessions do put,
 * get and compare-and-set on a few hot keys while, one fault at a time (f = 1), a replica is killed with SIGKILL and
 * restarted, paused with SIGSTOP and continued, cut off by a partition and healed, and the leader itself is killed.
 * The recorded history (operations whose outcome the client never learned included) must pass the linearizability
 * checker, and after every heal the service must answer again.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFromOutputs, type SmrClient, type SmrSession } from '../../components/smr/client.js';
import { decodeKvResult, encodeKvOp, type KvOp } from '../../components/smr/services/kv.js';
import { checkKvHistory, type HistoryOp } from '../support/linearizability.js';
import { admin, type Cluster, makeCluster, spawnNode, waitHealthy } from './cluster.js';

const KEYS = ['a', 'b', 'c'];
const SESSIONS = 4;

let cluster: Cluster;
let client: SmrClient;
const procs: (ChildProcess | undefined)[] = [];

beforeAll(async () => {
  cluster = await makeCluster({ n: 4, config: { checkpointPeriod: 25, requestTimeoutMs: 300 } });
  cluster.specFiles.forEach((f, i) => {
    procs[i] = spawnNode(f);
  });
  await Promise.all(cluster.specs.map((s) => waitHealthy(s)));
  client = await clientFromOutputs(cluster.stackDir, cluster.component, { timeoutMs: 5000, retransmitMs: 300 });
  await client.connect(4, 20_000);
}, 180_000);

afterAll(async () => {
  await client?.close();
  for (const p of procs) p?.kill('SIGKILL');
});

/** Random operations on the hot keys until `stop`; every call and return recorded, unknown outcomes included. */
async function loadLoop(session: SmrSession, name: string, history: HistoryOp[], stop: { done: boolean }) {
  let n = 0;
  while (!stop.done) {
    const key = KEYS[Math.floor(Math.random() * KEYS.length)]!;
    const roll = Math.random();
    const value = `${name}-${n++}`;
    const op: KvOp =
      roll < 0.4
        ? { op: 'get', key }
        : roll < 0.75
          ? { op: 'put', key, value }
          : { op: 'cas', key, expected: Math.random() < 0.5 ? null : `${name}-${n - 2}`, value };
    const entry: HistoryOp = { client: name, op, call: performance.now() };
    history.push(entry);
    try {
      const r = await session.invoke(encodeKvOp(op), { readOnly: op.op === 'get' });
      entry.ret = performance.now();
      entry.result = decodeKvResult(r.result);
    } catch {
      // Timed out or unreachable: the outcome is unknown (the request may still be ordered later).
    }
  }
}

/** Time (ms) until a fresh ordered write succeeds: how long the service took to answer again. */
async function answersAgain(probe: SmrSession): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      await probe.invoke(encodeKvOp({ op: 'put', key: 'probe', value: String(t0) }));
      return performance.now() - t0;
    } catch {
      if (performance.now() - t0 > 60_000) throw new Error('the service did not answer within 60 s of a heal');
    }
  }
}

/** Until the load has completed `more` further operations: faults last while work goes on, not for a fixed time. */
async function whileLoadRuns(history: HistoryOp[], more: number): Promise<void> {
  const target = history.filter((h) => h.ret !== undefined).length + more;
  while (history.filter((h) => h.ret !== undefined).length < target) await new Promise((r) => setTimeout(r, 20));
}

async function leaderIndex(): Promise<number> {
  for (const s of cluster.specs) {
    try {
      const h = (await (await fetch(`http://${s.host}:${s.controlPort}/health`)).json()) as {
        role: { leader: number };
      };
      return h.role.leader;
    } catch {}
  }
  return 0;
}

describe('SMR key-value history under faults', () => {
  it('is linearizable, and the service answers again after every heal', async () => {
    const history: HistoryOp[] = [];
    const stop = { done: false };
    const loops = Array.from({ length: SESSIONS }, (_, i) => loadLoop(client.session(), `s${i}`, history, stop));
    const probe = client.session();
    const recoveries: { fault: string; ms: number }[] = [];
    const others = (i: number) => cluster.specs.filter((_, j) => j !== i).map((s) => s.id);
    const faults: { name: string; inject(i: number): Promise<void>; heal(i: number): Promise<void> }[] = [
      {
        name: 'kill -9',
        inject: async (i) => {
          procs[i]!.kill('SIGKILL');
        },
        heal: async (i) => {
          procs[i] = spawnNode(cluster.specFiles[i]!);
          await waitHealthy(cluster.specs[i]!);
        },
      },
      {
        name: 'pause',
        inject: async (i) => {
          procs[i]!.kill('SIGSTOP');
        },
        heal: async (i) => {
          procs[i]!.kill('SIGCONT');
        },
      },
      {
        name: 'partition',
        inject: async (i) => {
          await admin(cluster.specs[i]!, cluster.token, 'partition', { block: others(i) });
          for (const j of [0, 1, 2, 3].filter((j) => j !== i)) {
            await admin(cluster.specs[j]!, cluster.token, 'partition', { block: [cluster.specs[i]!.id] });
          }
        },
        heal: async () => {
          for (const s of cluster.specs) await admin(s, cluster.token, 'heal', {});
        },
      },
    ];
    try {
      await whileLoadRuns(history, 50);
      for (const round of [0, 1]) {
        for (const fault of faults) {
          const target = round === 0 ? (faults.indexOf(fault) + 1) % 4 : await leaderIndex();
          await fault.inject(target);
          await whileLoadRuns(history, 30);
          await fault.heal(target);
          recoveries.push({ fault: `${fault.name} of replica ${target}`, ms: await answersAgain(probe) });
          await whileLoadRuns(history, 30);
        }
      }
    } finally {
      stop.done = true;
      await Promise.all(loops);
    }
    const completed = history.filter((h) => h.ret !== undefined).length;
    console.log(
      `history: ${history.length} operations, ${completed} completed; answers again after heals (ms): ${recoveries
        .map((r) => `${r.fault}: ${Math.round(r.ms)}`)
        .join(', ')}`,
    );
    expect(completed).toBeGreaterThan(300);
    expect(recoveries).toHaveLength(6);
    const verdict = checkKvHistory(history);
    if (!verdict.ok) console.log(JSON.stringify(verdict.counterexample, null, 1));
    expect(verdict.ok).toBe(true);
  }, 300_000);
});
