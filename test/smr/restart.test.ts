/**
 * Whole-group restart: every replica reloads its own last checkpoint (<dataDir>/checkpoint.bin) and, after a clean
 * stop, replays the decisions it saved since (<dataDir>/decisions.bin), so no acknowledged write is lost whatever the
 * checkpoint period; the restarted group (all `recovering`) elects a leader that may propose and keeps serving.
 * The decisions file is refused when damaged in any way.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientFromOutputs } from '../../components/smr/client.js';
import { decodeDecisionFile, encodeDecisionFile } from '../../components/smr/decision-file.js';
import { decodeKvResult, encodeKvOp } from '../../components/smr/services/kv.js';
import { makeCluster, startInProcess } from './cluster.js';

describe('restart of every replica', () => {
  it('keeps the state of the last checkpoint and serves again', async () => {
    const c = await makeCluster({ config: { checkpointPeriod: 1, requestTimeoutMs: 200 } });
    let nodes = await startInProcess(c);
    let client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 20_000 });
    await client.connect(4);
    let s = client.session();
    await s.invoke(encodeKvOp({ op: 'put', key: 'a', value: '1' }));
    await s.invoke(encodeKvOp({ op: 'put', key: 'b', value: '2' }));
    await client.close();
    for (const n of nodes) await n.stop();

    nodes = await startInProcess(c);
    try {
      client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 20_000 });
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
  }, 60_000);

  it('after a clean stop of every replica, keeps the writes made since the last checkpoint', async () => {
    // checkpointPeriod 1000: no checkpoint is taken in this test, so everything rests on the saved decisions.
    const c = await makeCluster({ config: { checkpointPeriod: 1000, requestTimeoutMs: 200 } });
    let nodes = await startInProcess(c);
    let client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 20_000 });
    await client.connect(4);
    let s = client.session('writer');
    for (let i = 0; i < 12; i++) await s.invoke(encodeKvOp({ op: 'put', key: `k${i % 4}`, value: `v${i}` }));
    await client.close();
    for (const n of nodes) await n.stop(); // SIGTERM does the same: node-host stops the role
    for (const spec of c.specs) {
      const file = path.join(spec.dataDir, 'decisions.bin');
      expect(existsSync(path.join(spec.dataDir, 'checkpoint.bin'))).toBe(false);
      expect(decodeDecisionFile(readFileSync(file))!.length).toBeGreaterThan(0);
    }

    nodes = await startInProcess(c);
    try {
      client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 200, timeoutMs: 20_000 });
      await client.connect(4);
      s = client.session('reader');
      for (let k = 0; k < 4; k++) {
        const r = decodeKvResult((await s.invoke(encodeKvOp({ op: 'get', key: `k${k}` }), { readOnly: false })).result);
        expect(r, `k${k}`).toEqual({ ok: true, value: `v${8 + k}` });
      }
      // The file is consumed at start (the state lives on in memory and in later checkpoints).
      for (const spec of c.specs) expect(existsSync(path.join(spec.dataDir, 'decisions.bin'))).toBe(false);
      await client.close();
    } finally {
      for (const n of nodes) await n.stop();
    }
  }, 60_000);

  it('the decisions file round-trips and reads as nothing when damaged', () => {
    const saved = [
      { cid: 7, value: new Uint8Array([1, 2, 3]) },
      { cid: 8, value: new Uint8Array(0) },
    ];
    const file = encodeDecisionFile(saved);
    expect(decodeDecisionFile(file)).toEqual(saved);
    expect(decodeDecisionFile(encodeDecisionFile([]))).toEqual([]);
    for (let i = 0; i < file.length; i++) {
      const bad = Buffer.from(file);
      bad[i]! ^= 0x01;
      expect(decodeDecisionFile(bad), `byte ${i} flipped`).toBeUndefined();
    }
    expect(decodeDecisionFile(file.subarray(0, file.length - 1))).toBeUndefined();
    expect(decodeDecisionFile(new Uint8Array(0))).toBeUndefined();
  });
});
