/**
 * Whole-group restart: every replica reloads its own last checkpoint (<dataDir>/checkpoint.bin), so with
 * checkpointPeriod 1 no acknowledged write is lost, and the restarted group (all `recovering`) elects a leader
 * that may propose and keeps serving.
 */
import { describe, expect, it } from 'vitest';
import { clientFromOutputs } from '../../components/smr/client.js';
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
});
