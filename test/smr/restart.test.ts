/**
 * Whole-group restart: every replica reloads its own last checkpoint (<dataDir>/checkpoint.bin) and, after a clean
 * stop, what it saved then (<dataDir>/stopped.bin: decisions since, regency, votes in progress), so no acknowledged
 * write is lost whatever the checkpoint period, even when the group is stopped under load; the restarted group (all
 * `recovering`) elects a leader that may propose and keeps serving. The stop file is refused when damaged in any
 * way. The simulator (test/smr/sim.ts `groupRestartAt`) restarts whole groups mid-protocol in a quarter of its seeds.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientFromOutputs } from '../../components/smr/client.js';
import { decodeKvResult, encodeKvOp } from '../../components/smr/services/kv.js';
import { decodeStopState, encodeStopState } from '../../components/smr/stop-state.js';
import { makeCluster, startInProcess, waitDecided } from './cluster.js';

describe('restart of every replica', () => {
  it('keeps the state of the last checkpoint and serves again', async () => {
    const c = await makeCluster({ config: { checkpointPeriod: 1, requestTimeoutMs: 200 } });
    let nodes = await startInProcess(c);
    let client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 60_000 });
    await client.connect(4);
    let s = client.session();
    await s.invoke(encodeKvOp({ op: 'put', key: 'a', value: '1' }));
    await s.invoke(encodeKvOp({ op: 'put', key: 'b', value: '2' }));
    await client.close();
    for (const n of nodes) await n.stop();

    nodes = await startInProcess(c);
    try {
      client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 60_000 });
      await client.connect(4);
      s = client.session();
      const a = decodeKvResult((await s.invoke(encodeKvOp({ op: 'get', key: 'a' }))).result);
      expect(a).toEqual({ ok: true, value: '1' });
      const put = decodeKvResult((await s.invoke(encodeKvOp({ op: 'put', key: 'b', value: '3' }))).result);
      expect(put).toEqual({ ok: true, value: '2' });
      await client.close();
    } finally {
      for (const n of nodes) await n.stop();
    }
  }, 180_000);

  it('after a clean stop of every replica, keeps the writes made since the last checkpoint', async () => {
    // checkpointPeriod 1000: no checkpoint is taken in this test, so everything rests on the stop state, which
    // only `durability: none` writes (with the write-ahead log the log holds it all: wal.test.ts).
    const c = await makeCluster({ config: { checkpointPeriod: 1000, requestTimeoutMs: 200, durability: 'none' } });
    let nodes = await startInProcess(c);
    let client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 60_000 });
    await client.connect(4);
    let s = client.session('writer');
    for (let i = 0; i < 12; i++) await s.invoke(encodeKvOp({ op: 'put', key: `k${i % 4}`, value: `v${i}` }));
    await client.close();
    // Every replica must hold all 12 decisions before the stop, or a replica whose peer connections came up late
    // (dial backoff on a busy machine) stops with none and the checks below inspect nothing (seen in CI).
    await waitDecided(c.specs, 11);
    for (const n of nodes) await n.stop(); // SIGTERM does the same: node-host stops the role
    let proofs = 0;
    for (const spec of c.specs) {
      expect(existsSync(path.join(spec.dataDir, 'checkpoint.bin'))).toBe(false);
      const saved = decodeStopState(readFileSync(path.join(spec.dataDir, 'stopped.bin')))!;
      expect(saved.decisions.length).toBeGreaterThan(0);
      expect(saved.inst.cid).toBe(saved.lastDecided + 1);
      // The proof of the last decision is kept where there is one (a replica that caught up by state transfer
      // has none).
      if (saved.lastProof) {
        expect(saved.lastProof.cid).toBe(saved.lastDecided);
        proofs++;
      }
    }
    expect(proofs).toBeGreaterThan(0);

    nodes = await startInProcess(c);
    try {
      client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 60_000 });
      await client.connect(4);
      s = client.session('reader');
      for (let k = 0; k < 4; k++) {
        const r = decodeKvResult((await s.invoke(encodeKvOp({ op: 'get', key: `k${k}` }), { readOnly: false })).result);
        expect(r, `k${k}`).toEqual({ ok: true, value: `v${8 + k}` });
      }
      // The file is consumed at start (the state lives on in memory and in later checkpoints).
      for (const spec of c.specs) expect(existsSync(path.join(spec.dataDir, 'stopped.bin'))).toBe(false);
      await client.close();
    } finally {
      for (const n of nodes) await n.stop();
    }
  }, 180_000);

  it(
    'stopped while requests are in flight, the group comes back with every acknowledged write and agrees',
    stopUnderLoad,
    60_000,
  );
});

describe('stop-state.ts', () => {
  it('the stop state file round-trips and reads as nothing when damaged', () => {
    const inst = {
      cid: 9,
      proposals: new Map([[1, 'h']]),
      values: new Map([['h', new Uint8Array([1])]]),
      writes: new Map([[1, new Map([[0, 'h']])]]),
      accepts: new Map(),
      wrote: new Set([1]),
      accepted: new Set<number>(),
      valTs: -1,
      valHash: null,
      val: null,
      ws: new Map([['h', 1]]),
    };
    const state = {
      lastDecided: 8,
      decisions: [
        { cid: 7, value: new Uint8Array([1, 2, 3]) },
        { cid: 8, value: new Uint8Array(0) },
      ],
      lastProof: { cid: 8, reg: 1, value: new Uint8Array(0), accepts: [{ from: 2, proof: new Uint8Array(64) }] },
      regency: 1,
      inst,
    };
    const file = encodeStopState(state);
    expect(decodeStopState(file)).toEqual(state);
    for (let i = 0; i < file.length; i++) {
      const bad = Buffer.from(file);
      bad[i]! ^= 0x01;
      expect(decodeStopState(bad), `byte ${i} flipped`).toBeUndefined();
    }
    expect(decodeStopState(file.subarray(0, file.length - 1))).toBeUndefined();
    expect(decodeStopState(new Uint8Array(0))).toBeUndefined();
  });
});

/**
 * Eight sessions write until the group is stopped under them, replica 3 first: the replicas stop at different
 * points of the protocol, and the restarted group must still hold every acknowledged write and agree on every
 * instance it decided.
 */
async function stopUnderLoad(): Promise<void> {
  const c = await makeCluster({ config: { checkpointPeriod: 1000, requestTimeoutMs: 200, durability: 'none' } });
  let nodes = await startInProcess(c);
  // A write that times out ends its session's loop: the deadline is for a group that went away, not a slow one.
  let client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 120_000 });
  await client.connect(4);
  // Eight sessions write increasing numbers to their own keys until the group is stopped under them; one replica
  // is stopped first, so the others decide on without it and the group stops at different points.
  const acked = new Array<number>(8).fill(0);
  let running = true;
  const writers = acked.map(async (_, j) => {
    const s = client.session(`w${j}`);
    for (let v = 1; running; v++) {
      try {
        await s.invoke(encodeKvOp({ op: 'put', key: `key${j}`, value: String(v) }));
        acked[j] = v;
      } catch {
        return; // the group went away mid-request
      }
    }
  });
  // Events, not sleeps (a busy machine decides slowly): every session has had writes acknowledged, then replica 3
  // stops, then the others decide more without it before they stop too.
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 10));
  };
  const total = () => acked.reduce((a, b) => a + b, 0);
  await until(() => Math.min(...acked) >= 3);
  await nodes[3]!.stop();
  const atStop = total();
  await until(() => total() >= atStop + 16);
  await Promise.all(nodes.slice(0, 3).map((n) => n.stop())); // the rest at once, with instances in flight
  running = false;
  await client.close();
  await Promise.all(writers);
  expect(Math.min(...acked)).toBeGreaterThan(0);
  const before = c.specs.map((sp) => decodeStopState(readFileSync(path.join(sp.dataDir, 'stopped.bin')))!.lastDecided);
  expect(before[3]).toBeLessThan(Math.max(...before)); // not a vacuous restart: replica 3 was behind

  nodes = await startInProcess(c);
  try {
    client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 60_000 });
    await client.connect(4);
    const s = client.session('check');
    for (let j = 0; j < 8; j++) {
      const r = decodeKvResult((await s.invoke(encodeKvOp({ op: 'get', key: `key${j}` }))).result);
      // The last acknowledged write, or a later one that was in flight when the group stopped.
      expect(Number((r as { value: string }).value), `key${j}`).toBeGreaterThanOrEqual(acked[j]!);
    }
    for (let i = 0; i < 5; i++) await s.invoke(encodeKvOp({ op: 'put', key: 'after', value: String(i) }));
    await client.close();
  } finally {
    for (const n of nodes) await n.stop();
  }
  // Every replica decided the same value in every instance it decided (no divergence across the restart).
  const byCid = new Map<number, string>();
  for (const spec of c.specs) {
    const saved = decodeStopState(readFileSync(path.join(spec.dataDir, 'stopped.bin')))!;
    for (const d of saved.decisions) {
      const hex = Buffer.from(d.value).toString('hex');
      const seen = byCid.get(d.cid);
      if (seen === undefined) byCid.set(d.cid, hex);
      else expect(hex, `${spec.id} cid ${d.cid}`).toBe(seen);
    }
  }
  expect(byCid.size).toBeGreaterThan(0);
}
