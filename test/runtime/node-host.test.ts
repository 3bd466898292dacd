/**
 * `tclouds node run` as a real process: bad specs and unknown roles exit 3 with a clear message; a node serves
 * health, metrics, partitions and restarts behind the admin token, writes JSON logs and exits 0 on SIGTERM.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicKeyOf, readPrivateKey } from '../../runtime/keys.js';
import { admin, makeCluster, REPO, spawnNode, waitHealthy } from '../smr/cluster.js';

function run(args: string[]) {
  return spawnSync(process.execPath, [path.join(REPO, 'bin', 'run.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

describe('tclouds node run', () => {
  it('rejects a missing spec (exit 4), an invalid spec (exit 3) and an unknown role (exit 3)', async () => {
    const c = await makeCluster({ n: 4 });
    expect(run(['node', 'run', '--spec', path.join(c.dir, 'nope.json')]).status).toBe(4);
    const bad = path.join(c.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...c.specs[0], controlPort: 'x' }));
    const r1 = run(['node', 'run', '--spec', bad]);
    expect(r1.status).toBe(3);
    expect(r1.stderr).toMatch(/TC411 .*controlPort/);
    const role = path.join(c.dir, 'role.json');
    writeFileSync(role, JSON.stringify({ ...c.specs[0], role: 'oracle' }));
    const r2 = run(['node', 'run', '--spec', role]);
    expect(r2.status).toBe(3);
    expect(r2.stderr).toMatch(/TC413 component kind "smr" has no role "oracle" \(roles: replica, standby\)/);
    const kind = path.join(c.dir, 'kind.json');
    // Every kind has node software now: a spec naming a role of another kind is refused with the kind's roles.
    writeFileSync(kind, JSON.stringify({ ...c.specs[0], kind: 'mapreduce' }));
    const r3 = run(['node', 'run', '--spec', kind]);
    expect(r3.status).toBe(3);
    expect(r3.stderr).toMatch(/TC413 component kind "mapreduce" has no role "replica" \(roles: job-tracker, worker\)/);
    const smallGroup = path.join(c.dir, 'small.json');
    writeFileSync(
      smallGroup,
      JSON.stringify({
        ...c.specs[0],
        config: { ...c.specs[0]!.config, n: 3, f: 1 },
        peers: c.specs[0]!.peers.slice(0, 2),
      }),
    );
    const r4 = run(['node', 'run', '--spec', smallGroup]);
    expect(r4.status).toBe(3);
    expect(r4.stderr).toMatch(/TC420 n=3 replicas cannot tolerate f=1/);
    expect(r4.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('serves health/metrics, partitions with the admin token, logs JSON lines and exits 0 on SIGTERM', async () => {
    const c = await makeCluster({ n: 4 });
    const spec = c.specs[0]!;
    expect(publicKeyOf(await readPrivateKey(spec.keyFile))).toBe(spec.publicKey);
    const p = spawnNode(c.specFiles[0]!);
    await waitHealthy(spec);
    const url = `http://${spec.host}:${spec.controlPort}`;
    const unauth = await fetch(`${url}/admin/partition`, { method: 'POST', body: '{"block":["x"]}' });
    expect(unauth.status).toBe(401);
    const wrong = await fetch(`${url}/admin/partition`, {
      method: 'POST',
      headers: { authorization: 'Bearer 00' },
      body: '{"block":["x"]}',
    });
    expect(wrong.status).toBe(401);
    expect((await admin(spec, c.token, 'partition', { block: 'x' })).status).toBe(400);
    expect((await admin(spec, c.token, 'partition', { block: ['ledger-replica-1'] })).status).toBe(200);
    const h = (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
    expect(h).toMatchObject({ id: spec.id, status: 'ok', partitionedFrom: ['ledger-replica-1'], pid: p.pid });
    expect(h.role).toMatchObject({ leader: 0, regency: 0, lastDecided: -1 });
    expect((await admin(spec, c.token, 'heal', {})).json).toEqual({ partitionedFrom: [] });
    // The fault switch is refused unless the spec enables it.
    expect((await admin(spec, c.token, 'fault', { mode: 'silent' })).status).toBe(400);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('# TYPE tclouds_smr_decided_total counter');
    expect(metrics).toContain('tclouds_node_up{role="replica"} 1');
    const code = await new Promise<number | null>((resolve) => {
      p.once('exit', (c2) => resolve(c2));
      p.kill('SIGTERM');
    });
    expect(code).toBe(0);
    const lines = readFileSync(path.join(spec.dataDir, '..', 'node.log'), 'utf8')
      .trim()
      .split('\n');
    const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs.map((r) => r.msg)).toEqual(
      expect.arrayContaining(['node starting', 'node ready', 'partitioned', 'node stopped']),
    );
    expect(lines.join('\n')).not.toContain(c.token);
  });

  it('POST /admin/restart: refused without the token; with it, 202, a clean stop and exit 75 for the supervisor', async () => {
    const c = await makeCluster({ n: 4 });
    const spec = c.specs[0]!;
    const p = spawnNode(c.specFiles[0]!);
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    await waitHealthy(spec);
    const url = `http://${spec.host}:${spec.controlPort}`;
    expect((await fetch(`${url}/admin/restart`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${url}/health`)).status).toBe(200); // still running
    const r = await admin(spec, c.token, 'restart', {});
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ restarting: true, pid: p.pid });
    expect(await exited).toBe(75);
    const log = readFileSync(path.join(spec.dataDir, '..', 'node.log'), 'utf8');
    expect(log).toContain('restart asked through the control API');
    expect(log).toContain('node stopped'); // the clean stop, not an abandon
  });
});
