/**
 * `tclouds smr invoke|get|put|cas|bench` as real CLI processes against a live 4-replica cluster (the nodes run in
 * this test process; the CLI reads outputs.json through --stack-dir, as it would under .tclouds/<stack>).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../runtime/node-host.js';
import { type Cluster, makeCluster, REPO, startInProcess } from './cluster.js';

let cluster: Cluster;
let nodes: RunningNode[] = [];

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(REPO, 'bin', 'run.js'), ...args], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    // 'close', not 'exit': 'exit' can fire before the stdout pipe is drained (empty stdout on a loaded machine).
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('tclouds smr commands', () => {
  beforeAll(async () => {
    cluster = await makeCluster();
    nodes = await startInProcess(cluster);
  });
  afterAll(async () => {
    for (const n of nodes) await n.stop();
  });

  it('put, get, cas and invoke print stable JSON', async () => {
    const sd = ['--stack-dir', cluster.stackDir, '--json'];
    const put = await cli(['smr', 'put', 'ledger', 'alice', '10', ...sd]);
    expect(put.code, put.stderr).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({
      component: 'ledger',
      op: { op: 'put', key: 'alice', value: '10' },
      result: { ok: true, value: null },
      ordered: true,
    });
    const get = await cli(['smr', 'get', 'ledger', 'alice', ...sd]);
    // The read-only fast path needs identical replies from all four replicas; on a busy machine one may lag and
    // the client reissues the read ordered. Either way the value is the one written.
    expect(JSON.parse(get.stdout)).toMatchObject({ result: { ok: true, value: '10' }, replicasConnected: 4 });
    expect(typeof JSON.parse(get.stdout).ordered).toBe('boolean');
    // A cas that does not match prints its result and exits 9 (notApplied), so scripts can branch on it.
    const cas = await cli(['smr', 'cas', 'ledger', 'alice', '9', '11', ...sd]);
    expect(cas.code).toBe(9);
    expect(JSON.parse(cas.stdout).result).toEqual({ ok: false, value: '10' });
    const casText = await cli(['smr', 'cas', 'ledger', 'alice', '9', '11', '--stack-dir', cluster.stackDir]);
    expect(casText.code).toBe(9);
    expect(casText.stdout).toMatch(/ledger cas alice 9 11: not applied value="10"/);
    const inv = await cli(['smr', 'invoke', 'ledger', 'cas', 'alice', '10', '11', ...sd]);
    expect(inv.code).toBe(0);
    expect(JSON.parse(inv.stdout).result).toEqual({ ok: true, value: '10' });
    const human = await cli(['smr', 'invoke', 'ledger', 'get', 'alice', '--ordered', '--stack-dir', cluster.stackDir]);
    expect(human.stdout).toMatch(/ledger get alice: ok value="11" \(ordered, [\d.]+ ms, 4 replicas\)/);
  }, 180_000);

  it('bad usage and a missing deployment are clear errors with documented exit codes', async () => {
    const bad = await cli(['smr', 'invoke', 'ledger', 'put', 'onlykey', '--stack-dir', cluster.stackDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/TC434 put takes 2 arguments: KEY VALUE/);
    // A key the service would refuse is refused before anything is sent: a usage error, not "ok" with exit 0.
    const long = await cli(['smr', 'put', 'ledger', 'k'.repeat(1025), 'v', '--stack-dir', cluster.stackDir, '--json']);
    expect(long.code).toBe(2);
    expect(JSON.parse(long.stdout).error).toMatchObject({ code: 'TC434' });
    expect(JSON.parse(long.stdout).error.message).toMatch(
      /key is 1025 characters long; the kv service takes at most 1024/,
    );
    const none = await cli(['smr', 'get', 'ledger', 'k', '--stack-dir', path.join(cluster.dir, 'nowhere'), '--json']);
    expect(none.code).toBe(4);
    expect(JSON.parse(none.stdout).error.code).toBe('TC430');
    const comp = await cli(['smr', 'get', 'vault', 'k', '--stack-dir', cluster.stackDir]);
    expect(comp.stderr).toMatch(/TC430 the deployment has no component "vault" \(components: ledger\)/);
  }, 180_000);

  it('bench reports throughput and latency percentiles', async () => {
    const r = await cli([
      'smr',
      'bench',
      'ledger',
      '--clients',
      '4',
      '--seconds',
      '1',
      '--stack-dir',
      cluster.stackDir,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ component: 'ledger', clients: 4, payloadBytes: 0 });
    expect(j.ops).toBeGreaterThan(0);
    expect(j.latencyMs.p99).toBeGreaterThanOrEqual(j.latencyMs.p50);
  }, 180_000);
});
