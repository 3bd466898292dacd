/**
 * A user service given as a JS module (`service: ./path.mjs`, components/smr/services/load.ts), run by 4 real
 * replica processes on loopback (each its own module instance, as on a deployment; needs the compiled dist): its results reach the client by f+1 identical replies (including results large enough that
 * the replies of one step go out as several messages), the leader's timestamp and nonce reach it identically on
 * every replica, its snapshot travels in checkpoints and comes back after a restart of the whole group, and a
 * module that lacks a function is refused with TC421.
 */

import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientFromOutputs } from '../../components/smr/client.js';
import { SmrCode } from '../../components/smr/codes.js';
import { loadService } from '../../components/smr/services/load.js';
import { tempDir } from '../support/tmp.js';
import { makeCluster, spawnNode, waitHealthy } from './cluster.js';

// A counter whose result echoes what the leader agreed (timestamp, nonce) and pads itself to op[0] x 10 KiB.
const MODULE = `
let count = 0;
export function execute(op, ctx) {
  if (!ctx.readOnly) count++;
  return JSON.stringify({ count, seq: ctx.seq, timestamp: ctx.timestamp, nonce: ctx.nonce, pad: 'x'.repeat((op[0] ?? 0) * 10240) });
}
export function snapshot() { return String(count); }
export function restore(state) { count = Number(new TextDecoder().decode(state)) || 0; }
`;

const decode = (b: Uint8Array) =>
  JSON.parse(new TextDecoder().decode(b)) as {
    count: number;
    seq: number;
    timestamp: number;
    nonce: number;
    pad: string;
  };

describe('user service module', () => {
  it('runs on every replica: large results, agreed time and randomness, state kept across a group restart', async () => {
    const dir = tempDir('tclouds-svc-');
    const file = path.join(dir, 'counter.mjs');
    writeFileSync(file, MODULE);
    const c = await makeCluster({ config: { service: file, checkpointPeriod: 5, requestTimeoutMs: 200 } });
    const start = async () => {
      const procs = c.specFiles.map((f) => spawnNode(f));
      await Promise.all(c.specs.map((sp) => waitHealthy(sp)));
      return procs;
    };
    // SIGTERM is a clean stop: the replica saves what its last checkpoint does not hold.
    const stop = async (procs: ChildProcess[]) => {
      const exited = procs.map((p) => new Promise((r) => (p.exitCode === null ? p.once('exit', r) : r(null))));
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(exited);
    };
    let nodes = await start();
    try {
      const client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 300, timeoutMs: 60_000 });
      await client.connect(4);
      // Eight sessions at once, 300 KiB results: a step's replies (about 2.4 MB) leave in more than one message.
      const sessions = Array.from({ length: 8 }, (_, i) => client.session(`s${i}`));
      const t0 = Date.now();
      const results = (await Promise.all(sessions.map((s) => s.invoke(Uint8Array.of(30))))).map((r) =>
        decode(r.result),
      );
      expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      for (const r of results) {
        expect(r.pad).toHaveLength(30 * 10240);
        // The leader's clock, identical at the f+1 replicas that answered (else no quorum): close to ours.
        expect(Math.abs(r.timestamp - t0)).toBeLessThan(60_000);
        expect(Number.isInteger(r.nonce)).toBe(true);
      }
      expect(new Set(results.map((r) => r.nonce)).size).toBeGreaterThan(1);
      for (let i = 0; i < 4; i++) await sessions[0]!.invoke(Uint8Array.of(0)); // 12 writes: checkpoints at 5 and 10
      await client.close();
      await stop(nodes);

      nodes = await start();
      const again = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 300, timeoutMs: 60_000 });
      await again.connect(4);
      const after = decode((await again.session('later').invoke(Uint8Array.of(0))).result);
      expect(after.count).toBe(13);
      await again.close();
    } finally {
      for (const p of nodes) p.kill('SIGKILL');
    }
  }, 180_000);

  it('refuses a module without execute, snapshot and restore (TC421)', async () => {
    const dir = tempDir('tclouds-svc-');
    const file = path.join(dir, 'partial.mjs');
    writeFileSync(file, 'export function execute() { return "x"; }\nexport function snapshot() { return ""; }\n');
    await expect(loadService(file)).rejects.toMatchObject({ code: SmrCode.service });
    await expect(loadService(path.join(dir, 'missing.mjs'))).rejects.toMatchObject({ code: SmrCode.service });
  });
});
