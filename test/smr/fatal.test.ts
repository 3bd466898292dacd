/**
 * A replica whose core finds one of its invariants broken (kernel/assert.ts, TC600) stops: it logs one line with
 * the code and what the assertion saw, handles no more events, saves no stop state, and its process exits 1, so
 * the supervisor restarts it from its durable state. Driven through damaged stop states (damaged-state.ts): one
 * breaks an invariant while the replica starts, the other at its first vote once it serves. Real processes need a
 * compiled dist (`npx tsc -p tsconfig.build.json`).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientFromOutputs } from '../../components/smr/client.js';
import { decodeKvResult, encodeKvOp } from '../../components/smr/services/kv.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import { makeCluster, spawnNode, startInProcess, waitHealthy } from './cluster.js';
import { leaveStopState, overfullVotes, undecodableDecision } from './damaged-state.js';

/** Resolves with the exit code of `p` and what it wrote on stderr. */
function exited(p: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  p.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => p.once('exit', (code) => resolve({ code, stderr })));
}

/** The JSON lines of a node's log. */
function logOf(spec: NodeSpec): { msg: string; code?: string; details?: Record<string, unknown> }[] {
  return readFileSync(path.join(spec.dataDir, '..', 'node.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

const stopFile = (spec: NodeSpec) => path.join(spec.dataDir, 'stopped.bin');

describe('a replica whose core breaks an invariant', () => {
  it('at start: exits 1 with a TC600 line, and its next start comes back as after a crash', async () => {
    const c = await makeCluster({ config: { requestTimeoutMs: 200 } });
    const spec = c.specs[0]!;
    leaveStopState(spec.dataDir, undecodableDecision());
    const first = await exited(spawnNode(c.specFiles[0]!));
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/TC600 invariant violated: a decided value decodes as a batch/);
    const fatal = logOf(spec).find((l) => l.msg === 'fatal: stopping the node');
    expect(fatal).toMatchObject({ code: 'TC600', details: { cid: 0, bytes: 3 } });
    // The damaged state was consumed before it was replayed: the supervisor's restart comes up (amnesiac).
    expect(existsSync(stopFile(spec))).toBe(false);
    const again = spawnNode(c.specFiles[0]!);
    try {
      const h = await waitHealthy(spec);
      expect(h.role).toMatchObject({ lastDecided: -1 });
    } finally {
      again.kill('SIGKILL');
    }
  }, 180_000);

  it('while serving: the process exits 1 with a TC600 line and saves nothing; the others go on', async () => {
    const c = await makeCluster({ config: { requestTimeoutMs: 200 } });
    const spec = c.specs[0]!;
    leaveStopState(spec.dataDir, overfullVotes());
    const procs = c.specFiles.map((f) => spawnNode(f));
    const zero = exited(procs[0]!);
    const client = await clientFromOutputs(c.stackDir, c.component, { timeoutMs: 60_000, retransmitMs: 300 });
    try {
      await Promise.all(c.specs.map((s) => waitHealthy(s)));
      await client.connect(4);
      // Replica 0 leads regency 0 but came back recovering: the others change leader, and replica 0 fails at the
      // first vote it records. The request is ordered by the other three.
      const r = await client.session().invoke(encodeKvOp({ op: 'put', key: 'a', value: '1' }));
      expect(decodeKvResult(r.result)).toEqual({ ok: true, value: null });
      const { code } = await zero;
      expect(code).toBe(1);
      const fatal = logOf(spec).find((l) => l.msg === 'fatal: stopping the node');
      expect(fatal).toMatchObject({ code: 'TC600', details: { kind: 'WRITE', voters: 5, n: 4 } });
      expect(existsSync(stopFile(spec))).toBe(false);
    } finally {
      await client.close();
      for (const p of procs) p.kill('SIGKILL');
    }
  }, 180_000);

  it('in process: the failure reaches the host, and a clean stop afterwards saves no stop state', async () => {
    // Stop states are written by `durability: none` only (with the write-ahead log a clean stop just flushes it).
    const c = await makeCluster({ config: { requestTimeoutMs: 200, durability: 'none' } });
    leaveStopState(c.specs[0]!.dataDir, overfullVotes());
    const nodes = await startInProcess(c);
    const client = await clientFromOutputs(c.stackDir, c.component, { timeoutMs: 60_000, retransmitMs: 300 });
    try {
      await client.connect(4);
      await client.session().invoke(encodeKvOp({ op: 'put', key: 'a', value: '1' }));
      const failure = await nodes[0]!.failure;
      expect(failure).toMatchObject({ name: 'InvariantError', code: 'TC600' });
      expect(failure.message).toMatch(/a regency never has more voters than replicas/);
    } finally {
      await client.close();
      for (const n of nodes) await n.stop();
    }
    expect(existsSync(stopFile(c.specs[0]!))).toBe(false);
    // Not vacuous: the replicas that did not fail saved theirs.
    for (const spec of c.specs.slice(1)) expect(existsSync(stopFile(spec))).toBe(true);
  }, 180_000);
});
