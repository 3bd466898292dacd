/**
 * Crashes of every replica at once (SIGKILL, no clean stop) with `durability: fsync`: 4 real replica processes on
 * loopback (needs a compiled dist: `npm run build`), a checkpoint period far larger than the run so everything
 * after the start rests on the write-ahead log (components/smr/wal.ts).
 *
 *  - killed in the middle of a concurrent write load, restarted: every write any client saw acknowledged reads
 *    back (keys and values unique per write), and the group decides new requests;
 *  - killed when quiet, then the log tails of two replicas damaged (the last segment cut mid-record at one, bytes
 *    of the last record flipped at the other), restarted: the damaged replicas start, log what they dropped, and
 *    every acknowledged write is still there. What makes that so: every replica had decided every write before the
 *    kill (waitDecided), the two intact replicas (f+1) hold every decision with the proof of the last one, and a
 *    damaged replica loses at most its last records, which the intact ones carry into the next leader change
 *    (STOPDATA `last`) or give by state transfer.
 *  - (in process) a log bounded by walMaxBytes: past it a replica checkpoints early and starts a new segment, so
 *    the log stays near the bound, and a restart comes back from that checkpoint and the segment after it.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clientFromOutputs, type SmrClient } from '../../components/smr/client.js';
import { decodeKvResult, encodeKvOp } from '../../components/smr/services/kv.js';
import { type Cluster, makeCluster, spawnNode, startInProcess, waitDecided, waitHealthy } from './cluster.js';

const CONFIG = { checkpointPeriod: 100_000, requestTimeoutMs: 300, durability: 'fsync' };
/** Acknowledged writes to see before the kill: enough that the WAL, not a checkpoint, holds them. */
const ACKED_BEFORE_KILL = 150;
const SESSIONS = 6;

let procs: ChildProcess[] = [];
const stderr = new Map<ChildProcess, string>();

function startAll(c: Cluster): void {
  procs = c.specFiles.map((f) => {
    const p = spawnNode(f);
    stderr.set(p, '');
    p.stderr?.on('data', (d: Buffer) => stderr.set(p, stderr.get(p) + d.toString()));
    return p;
  });
}

/** Every replica healthy; if one is not, the error says how its process ended and what it wrote to stderr. */
async function allHealthy(c: Cluster): Promise<void> {
  try {
    await Promise.all(c.specs.map((s) => waitHealthy(s)));
  } catch (e) {
    const lines = procs.map(
      (p, i) =>
        `${c.specs[i]?.id}: exit ${p.exitCode ?? p.signalCode ?? 'running'}; stderr: ${(stderr.get(p) ?? '').slice(-2000)}`,
    );
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${lines.join('\n')}`);
  }
}

async function killAll(): Promise<void> {
  const exits = procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : once(p, 'exit')));
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(exits);
}

async function connect(c: Cluster): Promise<SmrClient> {
  const client = await clientFromOutputs(c.stackDir, c.component, { retransmitMs: 300, timeoutMs: 120_000 });
  expect(await client.connect(c.specs.length)).toBe(c.specs.length);
  return client;
}

/** Reads every key back with ordered reads, spread over a few sessions. */
async function readBack(client: SmrClient, acked: Map<string, string>): Promise<void> {
  const entries = [...acked.entries()];
  await Promise.all(
    Array.from({ length: SESSIONS }, async (_, s) => {
      const session = client.session(`reader${s}`);
      for (let i = s; i < entries.length; i += SESSIONS) {
        const [key, value] = entries[i]!;
        const r = await session.invoke(encodeKvOp({ op: 'get', key }), { readOnly: false });
        expect(decodeKvResult(r.result), key).toEqual({ ok: true, value });
      }
    }),
  );
}

/** A write after the restart: the group still decides. */
async function decidesNew(client: SmrClient): Promise<void> {
  const r = await client.session('after').invoke(encodeKvOp({ op: 'put', key: 'after', value: 'yes' }));
  expect(decodeKvResult(r.result)).toEqual({ ok: true, value: null });
}

afterEach(async () => {
  await killAll();
});

/**
 * Byzantine groups (4 replicas) and crash-fault groups (3), whose replicas answer a write once their own ACCEPT of
 * it is durable, before the decision record is (components/smr/wal-recorder.ts): the decision comes back from the
 * quorum's ACCEPTs in the leader change after the restart.
 */
const GROUPS = [
  { name: 'Byzantine group of 4', n: 4, f: 1, faults: 'byzantine' as const },
  { name: 'crash-fault group of 3', n: 3, f: 1, faults: 'crash' as const },
];

describe('every replica killed at once, durability fsync', () => {
  it.each(GROUPS)(
    'keeps every acknowledged write of a concurrent load ($name)',
    async ({ n, f, faults }) => {
      const c = await makeCluster({ n, f, faults, config: CONFIG });
      startAll(c);
      await allHealthy(c);
      const client = await connect(c);
      const acked = new Map<string, string>();
      let stop = false;
      let enough: () => void = () => {};
      const reached = new Promise<void>((r) => {
        enough = r;
      });
      const writers = Array.from({ length: SESSIONS }, async (_, s) => {
        const session = client.session(`writer${s}`);
        for (let j = 0; !stop; j++) {
          const key = `w${s}-${j}`;
          const value = `v${s}-${j}`;
          try {
            await session.invoke(encodeKvOp({ op: 'put', key, value }));
          } catch {
            return; // the replicas are gone
          }
          if (stop) return; // acknowledged after the kill cannot be (replies are sent before it), but be strict
          acked.set(key, value);
          if (acked.size >= ACKED_BEFORE_KILL) enough();
        }
      });
      await reached;
      await killAll();
      stop = true;
      await client.close();
      await Promise.all(writers);
      expect(acked.size).toBeGreaterThanOrEqual(ACKED_BEFORE_KILL);

      startAll(c);
      await allHealthy(c);
      const again = await connect(c);
      try {
        await readBack(again, acked);
        await decidesNew(again);
      } finally {
        await again.close();
      }
    },
    300_000,
  );

  it('starts with a torn or damaged log tail, says what it dropped, and keeps the acknowledged writes', async () => {
    const c = await makeCluster({ config: CONFIG });
    startAll(c);
    await Promise.all(c.specs.map((s) => waitHealthy(s)));
    const client = await connect(c);
    const acked = new Map<string, string>();
    const session = client.session('writer');
    for (let j = 0; j < 30; j++) {
      await session.invoke(encodeKvOp({ op: 'put', key: `d${j}`, value: `x${j}` }));
      acked.set(`d${j}`, `x${j}`);
    }
    await client.close();
    const health = (await (await fetch(`http://${c.specs[0]!.host}:${c.specs[0]!.controlPort}/health`)).json()) as {
      role: { lastDecided: number };
    };
    await waitDecided(c.specs, health.role.lastDecided);
    await killAll();

    const lastSegment = (i: number): string => {
      const dir = path.join(c.specs[i]!.dataDir, 'wal');
      return path.join(dir, readdirSync(dir).sort().at(-1)!);
    };
    const cut = lastSegment(0);
    truncateSync(cut, statSync(cut).size - 5); // mid-record: the last record loses its end
    const flip = lastSegment(1);
    const bytes = readFileSync(flip);
    for (let k = 1; k <= 4; k++) bytes[bytes.length - 7 * k]! ^= 0xff; // inside the last record
    writeFileSync(flip, bytes);

    startAll(c);
    await Promise.all(c.specs.map((s) => waitHealthy(s)));
    for (const i of [0, 1]) expect(stderr.get(procs[i]!)).toMatch(/dropped a torn or damaged tail.*droppedBytes/);
    for (const i of [2, 3]) expect(stderr.get(procs[i]!)).not.toMatch(/dropped a torn or damaged tail/);
    const again = await connect(c);
    try {
      await readBack(again, acked);
      await decidesNew(again);
    } finally {
      await again.close();
    }
  }, 300_000);
});

/** The schema's smallest walMaxBytes; values of 64 KiB pass it within a few dozen writes. */
const SMALL_WAL = 1 << 20;
const BIG_VALUE = 'x'.repeat(64 * 1024);

function walBytes(dataDir: string): number {
  const dir = path.join(dataDir, 'wal');
  return readdirSync(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}

describe('a write-ahead log bounded by walMaxBytes', () => {
  it('checkpoints early to stay near the bound and restarts from that checkpoint', async () => {
    const c = await makeCluster({ config: { ...CONFIG, walMaxBytes: SMALL_WAL } });
    let nodes = await startInProcess(c);
    let client = await connect(c);
    const acked = new Map<string, string>();
    const session = client.session('big');
    for (let j = 0; j < 48; j++) {
      const value = `${j}:${BIG_VALUE}`;
      await session.invoke(encodeKvOp({ op: 'put', key: `big${j % 6}`, value }));
      acked.set(`big${j % 6}`, value);
    }
    await client.close();
    for (const n of nodes) await n.stop();
    // Written in all: 48 values of 64 KiB, three times the bound; kept: at most the bound and the record past it.
    for (const spec of c.specs) expect(walBytes(spec.dataDir)).toBeLessThan(SMALL_WAL + 4 * BIG_VALUE.length);
    nodes = await startInProcess(c);
    try {
      client = await connect(c);
      await readBack(client, acked);
      await client.close();
    } finally {
      for (const n of nodes) await n.stop();
    }
  }, 300_000);
});
