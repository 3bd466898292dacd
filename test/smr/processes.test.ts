/**
 * Real processes: 4 replicas as `node bin/run.js node run --spec ...` on their own loopback addresses (needs a
 * compiled dist: `npx tsc -p tsconfig.build.json`). A client keeps a sequential workload running and checks
 * every result against a local model while one replica is killed (and later restarted), and then the leader
 * is turned Byzantine through the test-only admin fault switch. Ordered requests go to the leader only, and a
 * silent leader is replaced while the client keeps working.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFromOutputs, type SmrClient, type SmrSession } from '../../components/smr/client.js';
import { applyKv, encodeKvOp, type KvOp } from '../../components/smr/services/kv.js';
import { admin, type Cluster, makeCluster, spawnNode, waitHealthy } from './cluster.js';

let cluster: Cluster;
const procs: (ChildProcess | undefined)[] = [];
let client: SmrClient;
let session: SmrSession;
const model = new Map<string, string>();
let opNo = 0;

async function health(i: number): Promise<Record<string, unknown>> {
  const s = cluster.specs[i]!;
  return (await (await fetch(`http://${s.host}:${s.controlPort}/health`)).json()) as Record<string, unknown>;
}

/** Runs k operations and checks each result against the sequential model. */
async function workload(k: number, label: string): Promise<void> {
  for (let i = 0; i < k; i++) {
    opNo++;
    const key = `k${opNo % 3}`;
    const op: KvOp =
      opNo % 5 === 0
        ? { op: 'cas', key, expected: model.get(key) ?? null, value: `cas-${opNo}` }
        : opNo % 4 === 0
          ? { op: 'get', key }
          : { op: 'put', key, value: `${label}-${opNo}` };
    const readOnly = op.op === 'get';
    const expected = JSON.stringify(applyKv(model, op));
    const r = await session.invoke(encodeKvOp(op), { readOnly });
    expect(new TextDecoder().decode(r.result), `${label} op ${opNo} ${JSON.stringify(op)}`).toBe(expected);
  }
}

describe('4 replica processes on loopback', () => {
  beforeAll(async () => {
    cluster = await makeCluster({ config: { faultInjection: true, checkpointPeriod: 10, requestTimeoutMs: 300 } });
    for (const f of cluster.specFiles) procs.push(spawnNode(f));
    await Promise.all(cluster.specs.map((s) => waitHealthy(s)));
    client = await clientFromOutputs(cluster.stackDir, cluster.component, { timeoutMs: 60_000, retransmitMs: 300 });
    expect(await client.connect(4)).toBe(4);
    session = client.session();
  }, 180_000);

  afterAll(async () => {
    await client?.close();
    for (const p of procs) p?.kill('SIGKILL');
  });

  it('serves ordered and read-only requests; health and metrics report progress', async () => {
    await workload(20, 'start');
    const h = await health(0);
    expect(h).toMatchObject({ status: 'ok', kind: 'smr', roleName: 'replica', partitionedFrom: [] });
    expect((h.role as { lastDecided: number }).lastDecided).toBeGreaterThan(0);
    const s = cluster.specs[0]!;
    const metrics = await (await fetch(`http://${s.host}:${s.controlPort}/metrics`)).text();
    expect(metrics).toMatch(/tclouds_smr_decided_total \d+/);
    expect(metrics).toMatch(/tclouds_transport_frames_received_total\{transport="peer"\} \d+/);
  });

  it('a killed replica does not stop progress; restarted, it catches up by state transfer', async () => {
    procs[3]!.kill('SIGKILL');
    await workload(25, 'killed');
    procs[3] = spawnNode(cluster.specFiles[3]!);
    await waitHealthy(cluster.specs[3]!);
    await workload(25, 'restarted');
    const target = ((await health(0)).role as { lastDecided: number }).lastDecided - 2;
    const deadline = Date.now() + 15_000;
    let caught = -1;
    while (Date.now() < deadline) {
      await workload(1, 'catchup');
      caught = ((await health(3)).role as { lastDecided: number }).lastDecided;
      if (caught >= target) break;
    }
    expect(caught).toBeGreaterThanOrEqual(target);
  }, 240_000);

  it('admin endpoints need the bearer token', async () => {
    const s = cluster.specs[1]!;
    const r = await fetch(`http://${s.host}:${s.controlPort}/admin/fault`, {
      method: 'POST',
      body: '{"mode":"silent"}',
    });
    expect(r.status).toBe(401);
  });

  it('a replica turned Byzantine at run time (wrong replies, then an equivocating leader) cannot corrupt results', async () => {
    const leader = ((await health(1)).role as { leader: number }).leader;
    const liar = (leader + 1) % 4;
    expect((await admin(cluster.specs[liar]!, cluster.token, 'fault', { mode: 'wrong-replies' })).status).toBe(200);
    await workload(20, 'liar');
    expect((await admin(cluster.specs[liar]!, cluster.token, 'fault', { mode: 'none' })).status).toBe(200);
    const before = ((await health(liar)).role as { regency: number }).regency;
    expect((await admin(cluster.specs[leader]!, cluster.token, 'fault', { mode: 'equivocate' })).json).toEqual({
      fault: 'equivocate',
    });
    await workload(20, 'equivocating-leader');
    const after = (await health(liar)).role as { regency: number; leader: number };
    // The equivocating leader was voted out by a leader change.
    expect(after.regency).toBeGreaterThan(before);
    expect(after.leader).not.toBe(leader);
    await workload(10, 'after');
  }, 300_000);

  it(
    'ordered requests go to the leader only; a silent leader costs a retransmission, then the client follows the new one',
    leaderOnly,
    120_000,
  );

  it('replicas stop cleanly on SIGTERM (exit 0) and log JSON lines', async () => {
    const exits = await Promise.all(
      procs.map(
        (p) =>
          new Promise<number | null>((resolve) => {
            if (!p || p.exitCode !== null) return resolve(p?.exitCode ?? null);
            p.once('exit', (code) => resolve(code));
            p.kill('SIGTERM');
          }),
      ),
    );
    expect(exits).toEqual([0, 0, 0, 0]);
    const log = readFileSync(path.join(cluster.specs[0]!.dataDir, '..', 'node.log'), 'utf8')
      .trim()
      .split('\n');
    const records = log.map((l) => JSON.parse(l) as { msg: string; node: string });
    expect(records.some((r) => r.msg === 'node ready' && r.node === cluster.specs[0]!.id)).toBe(true);
    expect(records.some((r) => r.msg === 'node stopped')).toBe(true);
  }, 120_000);
});

/**
 * Ordered requests reach the leader alone and are answered by their f+1 designated repliers (never the leader);
 * then the leader turns silent: one retransmission later the group has a new leader and the client follows it.
 */
async function leaderOnly(): Promise<void> {
  for (const spec of cluster.specs) await admin(spec, cluster.token, 'fault', { mode: 'none' });
  await workload(5, 'settle');
  const leader = ((await health(0)).role as { leader: number }).leader;
  expect(client.leader).toBe(leader);
  const follower = (leader + 1) % 4;
  const metric = async (i: number, re: RegExp) => {
    const s = cluster.specs[i]!;
    const text = await (await fetch(`http://${s.host}:${s.controlPort}/metrics`)).text();
    return Number(re.exec(text)?.[1] ?? Number.NaN);
  };
  const clientFrames = (i: number) => metric(i, /tclouds_transport_frames_received_total\{transport="client"\} (\d+)/);
  const replies = async () => {
    let sum = 0;
    for (let i = 0; i < 4; i++) sum += await metric(i, /tclouds_smr_replies_sent_total (\d+)/);
    return sum;
  };
  // Retransmissions in the tests above (a killed replica, a Byzantine leader) put the client in broadcast mode
  // for ten retransmission periods.
  // On a loaded machine that takes longer than ten periods: wait for the client, up to 60 s.
  for (let i = 0; i < 1200 && !client.directed; i++) await new Promise((r) => setTimeout(r, 50));
  expect(client.directed).toBe(true);
  const before = await clientFrames(follower);
  const repliesBefore = await replies();
  const leaderRepliesBefore = await metric(leader, /tclouds_smr_replies_sent_total (\d+)/);
  for (let i = 0; i < 10; i++) {
    const op: KvOp = { op: 'put', key: 'direct', value: `v${i}` };
    const expected = JSON.stringify(applyKv(model, op));
    expect(new TextDecoder().decode((await session.invoke(encodeKvOp(op))).result)).toBe(expected);
  }
  // Ten ordered requests, none sent to the follower (a retransmission under load may add one or two).
  expect((await clientFrames(follower)) - before).toBeLessThanOrEqual(2);
  // And answered by their f+1 = 2 designated repliers, never by the leader (a retransmission may add a few).
  expect((await replies()) - repliesBefore).toBeGreaterThanOrEqual(20);
  expect((await replies()) - repliesBefore).toBeLessThanOrEqual(24);
  expect((await metric(leader, /tclouds_smr_replies_sent_total (\d+)/)) - leaderRepliesBefore).toBeLessThanOrEqual(2);

  expect((await admin(cluster.specs[leader]!, cluster.token, 'fault', { mode: 'silent' })).status).toBe(200);
  await workload(10, 'silent-leader');
  const now = ((await health(follower)).role as { leader: number }).leader;
  expect(now).not.toBe(leader);
  expect(client.leader).toBe(now);
  expect((await admin(cluster.specs[leader]!, cluster.token, 'fault', { mode: 'none' })).status).toBe(200);
  await workload(5, 'after-silence');
}
