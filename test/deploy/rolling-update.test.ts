/**
 * A rolling update on real processes: an SMR component (n=4, f=1) serves a client load while a deploy changes its
 * batch size. `plan` names the field before and after for every replica; the deploy restarts the replicas one at a
 * time (each next one only after the previous is healthy and caught up), so no request fails and every
 * acknowledged write reads back afterwards. A replica that cannot start again stops the rollout with the others
 * untouched and serving, and the next deploy resumes it. Needs the built CLI (`npm run build`).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFromOutputs, type SmrClient } from '../../components/smr/client.js';
import { decodeKvResult, encodeKvOp } from '../../components/smr/services/kv.js';
import { sleep } from '../../stacks/local/control.js';
import { probeHealth } from '../../stacks/local/health.js';
import { readState, readSupervisorStatus } from '../../stacks/local/state.js';
import { fourLocalClouds, TEST_STACKS } from '../support/stacks.js';
import { cli, repo, summaryOf, tempDir } from './helpers.js';

const hasReplica = existsSync(path.join(repo, 'dist', 'components', 'smr', 'node.js'));
const STACK = TEST_STACKS.rollingUpdate;
const SESSIONS = 4;

const topology = (batchSize: number) =>
  fourLocalClouds(STACK, `  ledger: { kind: smr, f: 1, clouds: [a, b, c, d], batchSize: ${batchSize} }`);

let dir = '';
let stackDir = '';

/** How many replicas fail GET /health at once, at most, while `running()` holds: sampled as fast as they answer. */
async function watchDown(running: () => boolean): Promise<number> {
  const state = await readState(stackDir);
  const nodes = Object.values(state?.nodes ?? {});
  let most = 0;
  while (running()) {
    const probes = await Promise.all(nodes.map((n) => probeHealth(n.host, n.controlPort, 2000)));
    most = Math.max(most, probes.filter((p) => !p.ok).length);
    await sleep(20);
  }
  return most;
}

/** Writers in SESSIONS sessions until `stop()`: what was acknowledged, and every failure with its reason. */
function writeLoad(client: SmrClient, stop: () => boolean) {
  const acked = new Map<string, string>();
  const failures: string[] = [];
  const done = Promise.all(
    Array.from({ length: SESSIONS }, async (_, s) => {
      const session = client.session(`roll${s}`);
      for (let j = 0; !stop(); j++) {
        const key = `k${s}-${j}`;
        const value = `v${s}-${j}`;
        try {
          const r = await session.invoke(encodeKvOp({ op: 'put', key, value }));
          expect(decodeKvResult(r.result)).toMatchObject({ ok: true });
          acked.set(key, value);
        } catch (e) {
          failures.push(`${key}: ${(e as Error).message}`);
        }
      }
    }),
  );
  return { acked, failures, done };
}

describe.skipIf(!hasReplica)('rolling update of an SMR component', () => {
  beforeAll(async () => {
    dir = await tempDir('rolling');
    stackDir = path.join(dir, '.tclouds', STACK);
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), topology(400));
    const d = await cli(['deploy', '--yes', '--json'], dir);
    expect(d.code, d.stderr).toBe(0);
  }, 180_000);
  afterAll(async () => {
    if (dir) await cli(['destroy', '--yes', '--json'], dir);
  }, 120_000);

  it('plan names the field before and after; deploy rolls one replica at a time under load, no request fails', {
    timeout: 300_000,
  }, async () => {
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), topology(200));
    const plan = await cli(['plan'], dir);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(
      '~ ledger-replica-0, ledger-replica-1, ledger-replica-2, ledger-replica-3 restart ' +
        '(spec changed: config.batchSize 400 -> 200)',
    );
    const planJson = summaryOf(await cli(['plan', '--json'], dir)) as { resources: Record<string, unknown>[] };
    expect(planJson.resources.find((r) => r.type === 'local:process' && r.name === 'ledger-replica-2')).toMatchObject({
      op: 'update',
      restart: 'spec changed',
      changes: [{ field: 'config.batchSize', before: '400', after: '200' }],
    });

    const client = await clientFromOutputs(stackDir, 'ledger', { retransmitMs: 300, timeoutMs: 120_000 });
    expect(await client.connect(4)).toBe(4);
    let deploying = true;
    const load = writeLoad(client, () => !deploying);
    const down = watchDown(() => deploying);
    // Some writes before the update, so it happens under load rather than before it.
    while (load.acked.size < 50 && load.failures.length === 0) await sleep(20);
    const deploy = await cli(['deploy', '--yes', '--json'], dir).finally(() => {
      deploying = false;
    });
    await load.done;
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    expect(load.failures).toEqual([]);
    expect(await down).toBeLessThanOrEqual(1);

    // One wave per replica, in order: a replica starts restarting only after the one before it is done.
    const events = deploy.lines.flatMap((l) => (l.event ? [l.event as Record<string, string>] : []));
    const rolling = events.filter((e) => e.type === 'local:process' && /rolling update/.test(e.message ?? ''));
    expect(rolling.map((e) => `${e.state} ${e.id}`)).toEqual(
      [0, 1, 2, 3].flatMap((i) => [`running ledger-replica-${i}`, `done ledger-replica-${i}`]),
    );
    expect(summaryOf(deploy)).toMatchObject({ changes: 4 });

    // Every acknowledged write is there, and the group runs the new spec.
    const reader = client.session('check');
    for (const [key, value] of [...load.acked].slice(-200)) {
      const r = await reader.invoke(encodeKvOp({ op: 'get', key }));
      expect(decodeKvResult(r.result), key).toEqual({ ok: true, value });
    }
    await client.close();
    for (const i of [0, 1, 2, 3]) {
      const spec = JSON.parse(
        await fs.readFile(path.join(stackDir, 'nodes', `ledger-replica-${i}`, 'spec.json'), 'utf8'),
      );
      expect(spec.config.batchSize).toBe(200);
    }
    const again = await cli(['deploy', '--yes', '--json'], dir);
    expect(summaryOf(again)).toMatchObject({ nothingToDo: true });
  });
  it('a replica that does not come back stops the rollout (TC318): the rest keep their spec and serve; deploy resumes', {
    timeout: 300_000,
  }, async () => {
    // replica-1 cannot start again: its write-ahead log directory is a file now. It runs on until restarted, and
    // without requests it opens no new log segment.
    const data = (i: number) => path.join(stackDir, 'nodes', `ledger-replica-${i}`, 'data');
    const specOf = async (i: number) =>
      JSON.parse(await fs.readFile(path.join(stackDir, 'nodes', `ledger-replica-${i}`, 'spec.json'), 'utf8'));
    const pidsBefore = await readState(stackDir);
    await fs.rename(path.join(data(1), 'wal'), path.join(data(1), 'wal.kept'));
    await fs.writeFile(path.join(data(1), 'wal'), 'not a directory');
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), topology(100));
    const stopped = await cli(['deploy', '--yes', '--json'], dir);
    expect(stopped.code, stopped.stdout).toBe(1);
    const err = stopped.lines.find((l) => 'error' in l)?.error as Record<string, string>;
    expect(err.code).toBe('TC318');
    expect(err.message).toMatch(/^rollout stopped: node ledger-replica-1 did not become healthy/);
    expect(err.hint).toContain('deploy` again to resume');
    // replica-0 was rolled, replica-1 tried; 2 and 3 were never touched and still serve with the old batch size.
    expect((await specOf(0)).config.batchSize).toBe(100);
    for (const i of [2, 3]) expect((await specOf(i)).config.batchSize).toBe(200);
    const sup = await readSupervisorStatus(stackDir);
    for (const i of [2, 3]) {
      const id = `ledger-replica-${i}`;
      expect(sup?.nodes[id]?.pid, id).toBeTruthy();
      expect(sup?.nodes[id]?.specHash, id).toBe(pidsBefore?.nodes[id]?.specHash);
    }
    const client = await clientFromOutputs(stackDir, 'ledger', { retransmitMs: 300, timeoutMs: 120_000 });
    expect(await client.connect(3)).toBeGreaterThanOrEqual(3);
    const put = await client.session('during').invoke(encodeKvOp({ op: 'put', key: 'during', value: 'stopped' }));
    expect(decodeKvResult(put.result)).toMatchObject({ ok: true });
    await client.close();

    // The cause fixed, a deploy resumes where the rollout stopped and finishes it.
    await fs.rm(path.join(data(1), 'wal'));
    await fs.rename(path.join(data(1), 'wal.kept'), path.join(data(1), 'wal'));
    const resumed = await cli(['deploy', '--yes', '--json'], dir);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    for (const i of [0, 1, 2, 3]) expect((await specOf(i)).config.batchSize).toBe(100);
    const status = await cli(['status', '--json'], dir);
    expect(status.code, status.stdout).toBe(0);
  });
});
