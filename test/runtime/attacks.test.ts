/**
 * Attacks on our own network code, on real replica processes: a handshake reflected back at the replica that
 * dialled it, connections that trickle one byte at a time and never finish their handshake, and admin requests
 * with bodies that are valid JSON of the wrong shape. Each is refused and counted, and the group keeps serving.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFromOutputs } from '../../components/smr/client.js';
import { decodeKvResult, encodeKvOp } from '../../components/smr/services/kv.js';
import { HANDSHAKE_DEADLINE_MS, MAX_PENDING_PER_ADDRESS } from '../../runtime/transport.js';
import { parseMetrics } from '../../stacks/deployment.js';
import { admin, type Cluster, makeCluster, spawnNode, waitHealthy } from '../smr/cluster.js';

let cluster: Cluster;
const procs: ChildProcess[] = [];

/** Replicas 0-2 run; replica 3 is down, so its address is free for the attacker. */
beforeAll(async () => {
  cluster = await makeCluster({ n: 4 });
  for (const f of cluster.specFiles.slice(0, 3)) procs.push(spawnNode(f));
  await Promise.all(cluster.specs.slice(0, 3).map((s) => waitHealthy(s)));
}, 180_000);

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
});

async function metricsOf(i: number): Promise<Record<string, number>> {
  const s = cluster.specs[i]!;
  return parseMetrics(await (await fetch(`http://${s.host}:${s.controlPort}/metrics`)).text());
}

/** Polls a replica's metrics until `ok` holds (events, not sleeps: the counters are what we wait for). */
async function waitMetrics(i: number, ok: (m: Record<string, number>) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await metricsOf(i);
    if (ok(m)) return m;
    if (Date.now() > deadline) throw new Error(`metrics of replica ${i} never matched: ${JSON.stringify(m)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const refused = (m: Record<string, number>, transport: string, reason: string) =>
  m[`tclouds_transport_connections_refused_total{reason="${reason}",transport="${transport}"}`] ?? 0;

/** A put through a real client: the group serves while it is attacked. */
async function put(key: string, value: string) {
  const client = await clientFromOutputs(cluster.stackDir, cluster.component, { timeoutMs: 60_000, retransmitMs: 300 });
  try {
    await client.connect(3, 10_000);
    const r = await client.session().invoke(encodeKvOp({ op: 'put', key, value }));
    return decodeKvResult(r.result);
  } finally {
    await client.close();
  }
}

/** One handshake frame: `u32 length | body`. */
function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

describe('attacks on the transport and the control server', () => {
  it('a handshake reflected back to the replica that dialled it is refused and counted', async () => {
    const r0 = cluster.specs[0]!;
    const r3 = cluster.specs[3]!;
    // The attacker holds no keys. It listens where replica 3 would, takes replica 0's HELLO to "replica 3" and
    // opens a connection to replica 0 claiming to be replica 3 with the same nonce, to relay replica 0's own
    // CHALLENGE and PROOF between its two connections.
    const reflections: Promise<void>[] = [];
    const server = net.createServer((dialled) => {
      dialled.once('data', (hello: Buffer) => {
        const body = hello.subarray(4);
        const fromLen = body[1]!;
        const from = body.subarray(2, 2 + fromLen).toString();
        const toLen = body[2 + fromLen]!;
        const nonce = body.subarray(3 + fromLen + toLen);
        const me = Buffer.from(r3.id);
        const them = Buffer.from(from);
        const forged = Buffer.concat([Buffer.from([4, me.length]), me, Buffer.from([them.length]), them, nonce]);
        const back = net.connect({ host: r0.host, port: r0.ports.peer! });
        reflections.push(
          new Promise((resolve) => {
            back.on('data', (d) => dialled.write(d)); // replica 0's CHALLENGE, to replica 0's own dial
            dialled.on('data', (d) => back.write(d)); // and its PROOF back
            back.on('close', () => resolve());
            back.on('error', () => resolve());
          }),
        );
        back.on('connect', () => back.write(frame(forged)));
      });
      dialled.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen({ host: r3.host, port: r3.ports.peer! }, resolve));
    try {
      const m = await waitMetrics(0, (x) => refused(x, 'peer', 'wrong_direction') >= 1);
      expect(refused(m, 'peer', 'wrong_direction')).toBeGreaterThanOrEqual(1);
      await reflections[0];
      // Replica 0 never took the attacker for replica 3: it is connected to its two live peers only (waited for:
      // on a loaded machine they may still be (re)connecting when the refusal is counted).
      const peers = 'tclouds_transport_connections{transport="peer"}';
      expect((await waitMetrics(0, (x) => x[peers] === 2))[peers]).toBe(2);
      expect(await put('after-reflection', 'v')).toEqual({ ok: true, value: null });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 180_000);

  it('connections that trickle their handshake are capped per address and closed at the deadline', async () => {
    const r1 = cluster.specs[1]!;
    const before = await metricsOf(1);
    // From an address of its own, so the cap on it does not touch the real clients on 127.0.0.1.
    const attempts = MAX_PENDING_PER_ADDRESS + 4;
    const closed: Promise<number>[] = [];
    const sockets: net.Socket[] = [];
    const trickle = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(Buffer.from([0]));
    }, 500);
    try {
      for (let i = 0; i < attempts; i++) {
        const s = net.connect({ host: r1.host, port: r1.ports.client!, localAddress: '127.0.0.99' });
        s.on('error', () => {});
        const opened = Date.now();
        closed.push(new Promise((resolve) => s.on('close', () => resolve(Date.now() - opened))));
        sockets.push(s);
        await new Promise<void>((resolve) => s.on('connect', () => resolve()));
        // A frame header announcing a 100-byte HELLO; its body then comes one byte every half second.
        s.write(Buffer.from([0, 0, 0, 100]));
      }
      // While the attacker holds every slot its address may have, real clients still get through.
      expect(await put('during-trickle', 'v')).toEqual({ ok: true, value: null });
      const lifetimes = await Promise.all(closed);
      // Those closed at the deadline lived at least that long (timers never fire early); those over the cap were
      // closed on arrival, which a loaded machine may delay by seconds but not past the deadline itself.
      const early = lifetimes.filter((ms) => ms < HANDSHAKE_DEADLINE_MS);
      expect(early.length).toBeGreaterThanOrEqual(4);
      expect(lifetimes.length - early.length).toBeGreaterThanOrEqual(1);
      const after = await waitMetrics(
        1,
        (m) =>
          refused(m, 'client', 'pending_per_address') - refused(before, 'client', 'pending_per_address') >= 4 &&
          refused(m, 'client', 'handshake_deadline') > refused(before, 'client', 'handshake_deadline'),
      );
      expect(refused(after, 'client', 'handshake_deadline')).toBeGreaterThan(0);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
  }, 180_000);

  it('admin bodies of the wrong shape get 400 and the node keeps serving', async () => {
    const r2 = cluster.specs[2]!;
    for (const [action, body] of [
      ['partition', null],
      ['partition', { block: [1, 2] }],
      ['partition', { block: ['x'], extra: true }],
      ['heal', [1]],
      ['fault', null],
      ['fault', 'silent'],
    ] as const) {
      const r = await admin(r2, cluster.token, action, body);
      expect({ action, body, status: r.status }).toEqual({ action, body, status: 400 });
    }
    await waitHealthy(r2);
    expect(await put('after-admin', randomBytes(4).toString('hex'))).toMatchObject({ ok: true });
  }, 180_000);
});
