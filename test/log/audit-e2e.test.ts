/**
 * Event-driven logging from inside the nodes, on real processes: an SMR component whose topology names a log
 * (`auditLog: audit`) deployed with it to the local target. Its replicas record their start, a leader change when
 * the leader is killed (each entry under the replica's own producer identity: its cloud, node and account
 * `audit-<node>`), and a flood of bad frames as one aggregated `node.refused` entry per window, not one each.
 * Needs `npm run build` first.
 */
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_WINDOW_MS } from '../../components/log/audit-tap.js';
import type { DeploymentOutputs } from '../../runtime/node-spec.js';
import { repo, tempDir } from '../support/cli.js';
import { TEST_STACKS } from '../support/stacks.js';
import { tc, until } from './e2e-support.js';

const built = existsSync(path.join(repo, 'dist', 'components', 'log', 'audit-tap.js'));
const STACK = TEST_STACKS.logAudit;
const TOPOLOGY = `name: ${STACK}
mode: mediator
clouds:
  a: { provider: local }
  b: { provider: local }
  c: { provider: local }
  d: { provider: local }
  e: { provider: local }
components:
  ledger: { kind: smr, f: 1, clouds: [a, b, c, d], auditLog: audit }
  audit: { kind: log, f: 1, clouds: [a, b, c, d] }
  vault: { kind: storage, protocol: depsky-a, f: 1, clouds: [a, b, c, d] }
`;
/** Bad connections of the flood (each sends one malformed handshake frame). */
const FLOOD_CONNECTIONS = 300;

interface Entry {
  seq: number;
  cloud: string;
  node: string;
  account: string;
  type: string;
  msg: string;
}

let dir: string;
let outputs: DeploymentOutputs;
const query = async (...extra: string[]) => {
  const r = await tc(['log', 'query', 'audit', '--json', ...extra], dir);
  return r.code === 0 ? (r.json().entries as Entry[]) : [];
};
const ledgerNode = (id: string) => outputs.components.ledger!.nodes.find((n) => n.id === id)!;

/** The producer identity the core gives a replica's own entries. */
function expectOwnIdentity(e: Entry): void {
  expect(e.node).toMatch(/^ledger-replica-\d$/);
  expect(e.account).toBe(`audit-${e.node}`);
  expect(e.cloud).toBe(ledgerNode(e.node).cloud);
}

/** Opens `count` connections to host:port, each sending one malformed frame, and waits until all are closed. */
async function flood(host: string, port: number, count: number): Promise<void> {
  const frame = Buffer.alloc(4 + 40, 0x99);
  frame.writeUInt32BE(40, 0);
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect(port, host, () => s.end(frame));
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          s.resume();
        }),
    ),
  );
}

describe.skipIf(!built)('audit events from the nodes of a stack, on real processes', () => {
  beforeAll(async () => {
    dir = await tempDir('log-audit');
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
    const r = await tc(['deploy', '--target', 'local', '--yes', '--json'], dir);
    if (r.code !== 0) throw new Error(`deploy failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    outputs = JSON.parse(await fs.readFile(path.join(dir, '.tclouds', STACK, 'outputs.json'), 'utf8'));
  }, 240_000);
  afterAll(async () => {
    if (!dir) return;
    await tc(['chaos', 'resume', '--yes'], dir);
    await tc(['destroy', '--yes', '--json'], dir);
  }, 180_000);

  it('keeps producer keys out of the outputs; each replica records its start under its own identity', {
    timeout: 120_000,
  }, async () => {
    expect(Object.keys(outputs.components.audit!.clientKeys).filter((k) => k.startsWith('audit-'))).toEqual([]);
    const spec = JSON.parse(
      await fs.readFile(path.join(dir, '.tclouds', STACK, 'nodes', 'ledger-replica-0', 'spec.json'), 'utf8'),
    );
    expect(spec.auditLog).toMatchObject({ component: 'audit', clientId: 'audit-ledger-replica-0', f: 1 });
    expect((await fs.stat(spec.auditLog.keyFile)).mode & 0o777).toBe(0o600);
    const started = await until(
      'the 4 replicas to record their start',
      async () => {
        const e = await query('--type', 'node.start');
        return new Set(e.map((x) => x.node)).size === 4 ? e : undefined;
      },
      90_000,
    );
    for (const e of started) expectOwnIdentity(e);
  });

  it('records a leader change when the leader is killed, from the replicas that installed it', {
    timeout: 240_000,
  }, async () => {
    const status = (await tc(['status', '--json'], dir)).json() as {
      components: { name: string; nodes: { id: string; isLeader?: boolean }[] }[];
    };
    const leader = status.components.find((c) => c.name === 'ledger')!.nodes.find((n) => n.isLeader)!.id;
    const kill = await tc(['chaos', 'kill', '--node', leader, '--yes'], dir);
    expect(kill.code, kill.stderr).toBe(0);
    // Requests time out at the dead leader; the others change regency and install a new one.
    const put = await tc(['smr', 'invoke', 'ledger', 'put', 'k', 'v'], dir);
    expect(put.code, put.stderr).toBe(0);
    const changes = await until(
      'leader changes in the log',
      async () => {
        const e = await query('--type', 'smr.leader-change');
        return new Set(e.map((x) => x.node)).size >= 2 ? e : undefined;
      },
      120_000,
    );
    for (const e of changes) {
      expectOwnIdentity(e);
      expect(e.node).not.toBe(leader);
      expect(e.msg).toMatch(/^installing regency \(replica=\d, regency=\d+, leader=\d\)$/);
    }
    const killed = await query('--type', 'tclouds.chaos.kill');
    expect(killed.map((e) => e.msg).join('\n')).toContain(leader);
    expect((await tc(['chaos', 'resume', '--yes'], dir)).code).toBe(0);
  });

  it('sums a flood of bad frames into one entry per window', { timeout: 180_000 }, async () => {
    const target = outputs.components.ledger!.nodes.find((n) => n.index === 1)!;
    const started = Date.now();
    await flood(target.host, target.ports.client!, FLOOD_CONNECTIONS);
    const floodMs = Date.now() - started;
    const refused = await until(
      'the aggregated refusals',
      async () => {
        const e = (await query('--type', 'node.refused', '--node', target.id)).filter((x) => x.node === target.id);
        const total = e.reduce((a, x) => a + Number(/^(\d+) refused/.exec(x.msg)?.[1] ?? 0), 0);
        return total >= FLOOD_CONNECTIONS ? e : undefined;
      },
      90_000,
    );
    for (const e of refused) expectOwnIdentity(e);
    // One entry per window the flood spanned (plus one for a window boundary), never one per frame.
    expect(refused.length).toBeLessThanOrEqual(Math.ceil(floodMs / AUDIT_WINDOW_MS) + 1);
    // Each connection is either read and dropped as malformed or, when the node is slower than the flood (a busy
    // machine), refused because too many handshakes are pending or its deadline passed first: all are counted.
    for (const e of refused) {
      const m = /^\d+ refused in the last \d+ s \((.*)\)$/.exec(e.msg);
      expect(m, e.msg).not.toBeNull();
      for (const part of m![1]!.split('; ')) {
        expect(part).toMatch(
          /^(transport_frames_dropped client malformed|transport_connections_refused client (pending_per_address|pending_total|handshake_deadline)): \d+$/,
        );
      }
    }
  });

  it('verifies incrementally from a checkpoint, and refuses an altered one', { timeout: 120_000 }, async () => {
    const cp = path.join(dir, 'audit.cp.json');
    const verify = async () => {
      const r = await tc(['log', 'verify', 'audit', '--checkpoint', cp, '--json'], dir);
      return { code: r.code, out: r.json() as { ok: boolean; size: number; resumedFrom: number | null } };
    };
    const first = await verify();
    expect(first).toMatchObject({ code: 0, out: { ok: true, resumedFrom: null } });
    const more = await tc(['log', 'append', 'audit', '--cloud', 'a', '--node', 'n', '--type', 't', '--msg', 'm'], dir);
    expect(more.code, more.stderr).toBe(0);
    const second = await verify();
    expect(second).toMatchObject({ code: 0, out: { ok: true, resumedFrom: first.out.size } });
    expect(second.out.size).toBeGreaterThan(first.out.size);
    const saved = JSON.parse(await fs.readFile(cp, 'utf8'));
    saved.head.size -= 1;
    await fs.writeFile(cp, JSON.stringify(saved));
    const forged = await verify();
    expect(forged.code).toBe(1);
    expect(forged.out.ok).toBe(false);
  });

  it('records the storage locks and reconfigurations tclouds makes, with who made them', {
    timeout: 180_000,
  }, async () => {
    await fs.writeFile(path.join(dir, 'doc.txt'), 'moved by a reconfiguration\n');
    expect((await tc(['storage', 'put', 'vault', 'doc.txt'], dir)).code).toBe(0);
    expect((await tc(['storage', 'lock', 'vault', 'doc.txt', '--lease', '30s'], dir)).code).toBe(0);
    expect((await tc(['storage', 'lock', 'vault', 'doc.txt', '--release'], dir)).code).toBe(0);
    expect((await tc(['storage', 'reconfigure', 'vault', 'doc.txt', '--to', 'a,b,c,e'], dir)).code).toBe(0);
    const locks = await until('both lock events', async () => {
      const e = await query('--type', 'tclouds.storage.lock');
      return e.length >= 2 ? e : undefined;
    });
    expect(locks.map((e) => e.msg)).toEqual([
      expect.stringMatching(/^vault: writer \S+ locked doc\.txt until \d{4}-.* \(by \S+@\S+\)$/),
      expect.stringMatching(/^vault: writer \S+ released the lock of doc\.txt \(by \S+@\S+\)$/),
    ]);
    const moves = await until('the reconfiguration event', async () => {
      const e = await query('--type', 'tclouds.storage.reconfigure');
      return e.length >= 1 ? e : undefined;
    });
    expect(moves[0]?.msg).toMatch(/^vault: writer \S+ moved doc\.txt to a, b, c, e \(version /);
    // tclouds' own entries: the stack's client key of the log, and who ran the command.
    for (const e of [...locks, ...moves]) expect(e.account).toBe('client-audit');
  });
});
