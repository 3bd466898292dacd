/**
 * The cloud rolling-update driver (stacks/pulumi/rollout.ts) against real node processes: a local deployment's
 * nodes serve the same control API as a VM's (GET /health, POST /admin/restart with the admin token), and the
 * local supervisor starts a node that exits again, as systemd does on a VM. Under a client write load the driver
 * restarts the four replicas of an SMR component (f=1) one at a time, each only after the previous one is back
 * and caught up: no request fails, never more than one replica down. A wrong token restarts nothing (TC323), nor
 * does a node that does not present its pinned certificate (TC325), nor a wave whose group already has a node
 * down (TC318).
 * Needs the built CLI (`npm run build`).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../components/plan-types.js';
import { clientFromOutputs } from '../../components/smr/client.js';
import { decodeKvResult, encodeKvOp } from '../../components/smr/services/kv.js';
import { generateControlTls } from '../../runtime/control-tls.js';
import { sleep } from '../../stacks/local/control.js';
import { probeHealth } from '../../stacks/local/health.js';
import { readState } from '../../stacks/local/state.js';
import { changedNodes, type RolloutNode, rollCloudNodes } from '../../stacks/pulumi/rollout.js';
import type { DeployEvent } from '../../stacks/realizer.js';
import { rolloutWaves } from '../../stacks/rollout-plan.js';
import { cli, repo, summaryOf, tempDir } from '../deploy/helpers.js';
import { fourLocalClouds, TEST_STACKS } from '../support/stacks.js';
import { rejectedTcError } from '../support/tc-error.js';

const hasReplica = existsSync(path.join(repo, 'dist', 'components', 'smr', 'node.js'));
const STACK = TEST_STACKS.cloudRollout;
const SESSIONS = 3;

const topology = fourLocalClouds(STACK, '  ledger: { kind: smr, f: 1, clouds: [a, b, c, d] }');

let dir = '';
let stackDir = '';
let plan: Plan;
let nodes: Record<string, RolloutNode>;

const pidOf = async (n: RolloutNode) => (await probeHealth(n.host, n.controlPort, 2000)).body?.pid;

describe('changedNodes', () => {
  it('names the nodes whose spec digest changed, not new or removed ones', () => {
    expect(changedNodes({ a: '1', b: '2', c: '3' }, { a: '1', b: '9', d: '4' })).toEqual(['b']);
  });
});

describe.skipIf(!hasReplica)('cloud rollout driver on real nodes', () => {
  beforeAll(async () => {
    dir = await tempDir('cloud-rollout');
    stackDir = path.join(dir, '.tclouds', STACK);
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), topology);
    const d = await cli(['deploy', '--yes', '--json'], dir);
    expect(d.code, d.stderr).toBe(0);
    plan = (summaryOf(await cli(['plan', '--json'], dir)) as { plan: Plan }).plan;
    const state = await readState(stackDir);
    const token = (await fs.readFile(path.join(stackDir, 'keys', 'admin.token'), 'utf8')).trim();
    nodes = Object.fromEntries(
      Object.entries(state!.nodes).map(([id, n]) => [id, { id, host: n.host, controlPort: n.controlPort, token }]),
    );
  }, 180_000);
  afterAll(async () => {
    if (dir) await cli(['destroy', '--yes', '--json'], dir);
  }, 120_000);

  it('a wrong admin token: TC323, nothing restarted', async () => {
    const id = 'ledger-replica-0';
    const before = await pidOf(nodes[id]!);
    const bad = { ...nodes, [id]: { ...nodes[id]!, token: 'not-the-token' } };
    const err = await rejectedTcError(
      rollCloudNodes(plan, bad, [id], { signal: new AbortController().signal, onEvent: () => {} }),
    );
    expect(err.code).toBe('TC323');
    expect(err.message).toContain('HTTP 401');
    expect(await pidOf(nodes[id]!)).toBe(before);
  });

  it('a node that does not present its pinned certificate: TC325, nothing restarted, no token sent', async () => {
    const id = 'ledger-replica-0';
    const before = await pidOf(nodes[id]!);
    // The local node speaks plain HTTP; pinned to a certificate, the driver refuses to talk to it at all.
    const other = generateControlTls(id);
    const pinned = { ...nodes, [id]: { ...nodes[id]!, tls: { cert: other.certPem, sha256: other.sha256 } } };
    const err = await rejectedTcError(
      rollCloudNodes(plan, pinned, [id], { signal: new AbortController().signal, onEvent: () => {} }),
    );
    expect(err.code).toBe('TC325');
    expect(err.message).toContain(id);
    expect(await pidOf(nodes[id]!)).toBe(before);
  });

  it('a peer of the group already down: TC318 before anything restarts', async () => {
    const id = 'ledger-replica-0';
    const before = await pidOf(nodes[id]!);
    // replica-1 "down": its control address answers nothing (a closed port on this stack's loopback address).
    const down = { ...nodes, 'ledger-replica-1': { ...nodes['ledger-replica-1']!, controlPort: 1 } };
    const err = await rejectedTcError(
      rollCloudNodes(plan, down, [id], { signal: new AbortController().signal, onEvent: () => {} }),
    );
    expect(err.code).toBe('TC318');
    expect(err.message).toContain('ledger-replica-1');
    expect(await pidOf(nodes[id]!)).toBe(before);
  });

  it('restarts every replica one at a time under a write load: no failed request, at most one down', {
    timeout: 300_000,
  }, async () => {
    const ids = Object.keys(nodes).sort();
    expect(rolloutWaves(plan, ids, 1)).toEqual(ids.map((id) => [id]));
    const pidsBefore = await Promise.all(ids.map((id) => pidOf(nodes[id]!)));

    const client = await clientFromOutputs(stackDir, 'ledger', { retransmitMs: 300, timeoutMs: 120_000 });
    expect(await client.connect(4)).toBe(4);
    let rolling = true;
    const acked = new Map<string, string>();
    const failures: string[] = [];
    const load = Promise.all(
      Array.from({ length: SESSIONS }, async (_, s) => {
        const session = client.session(`cloudroll${s}`);
        for (let j = 0; rolling; j++) {
          try {
            const r = await session.invoke(encodeKvOp({ op: 'put', key: `k${s}-${j}`, value: `v${s}-${j}` }));
            if ((decodeKvResult(r.result) as { ok?: boolean }).ok) acked.set(`k${s}-${j}`, `v${s}-${j}`);
            else failures.push(`k${s}-${j}: not ok`);
          } catch (e) {
            failures.push(`k${s}-${j}: ${(e as Error).message}`);
          }
        }
      }),
    );
    let mostDown = 0;
    const watch = (async () => {
      while (rolling) {
        const probes = await Promise.all(ids.map((id) => probeHealth(nodes[id]!.host, nodes[id]!.controlPort, 2000)));
        mostDown = Math.max(mostDown, probes.filter((p) => !p.ok).length);
        await sleep(20);
      }
    })();
    while (acked.size < 30 && failures.length === 0) await sleep(20);

    const events: DeployEvent[] = [];
    const result = await rollCloudNodes(plan, nodes, ids, {
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
    }).finally(() => {
      rolling = false;
    });
    await Promise.all([load, watch]);

    expect(result.waves).toEqual(ids.map((id) => [id]));
    expect(failures).toEqual([]);
    expect(mostDown).toBeLessThanOrEqual(1);
    // In order: a replica starts restarting only once the one before it is done.
    expect(events.map((e) => `${e.state} ${e.id}`)).toEqual(ids.flatMap((id) => [`running ${id}`, `done ${id}`]));
    const pidsAfter = await Promise.all(ids.map((id) => pidOf(nodes[id]!)));
    pidsAfter.forEach((pid, i) => {
      expect(pid, ids[i]).toBeTruthy();
      expect(pid, ids[i]).not.toBe(pidsBefore[i]);
    });
    // Every acknowledged write reads back.
    const reader = client.session('check');
    for (const [key, value] of [...acked].slice(-100)) {
      const r = await reader.invoke(encodeKvOp({ op: 'get', key }));
      expect(decodeKvResult(r.result), key).toEqual({ ok: true, value });
    }
    await client.close();
  });
});
