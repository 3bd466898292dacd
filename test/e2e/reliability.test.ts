import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../dashboard/status-model.js';
import { built, pidAlive, type Run, sleep, tc, tcJson, tempDir, until } from './helpers.js';

/**
 * Reliability suite on a local deployment of the quickstart topology (vault: DepSky storage over 4 local
 * clouds; ledger: BFT SMR, 4 replicas, f=1), driven through the CLI as a user would. Needs deploy, the node
 * host and the SMR replica role; skips with a message when they are not built yet.
 */
const parts = built();
const ready = parts.deploy && parts.nodeHost && parts.smr && parts.status;
if (!ready) {
  console.warn(
    `[e2e reliability] skipped: needs deploy, node host and SMR (built: ${JSON.stringify(parts)}); compile with npx tsc -p tsconfig.build.json`,
  );
}

let dir: string;
const seenPids = new Set<number>();

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function status(): Promise<StatusReport> {
  const s = await tcJson<StatusReport>(['status'], dir);
  for (const n of s.components.flatMap((c) => c.nodes)) if (n.pid) seenPids.add(n.pid);
  return s;
}

const ledgerOf = (s: StatusReport) => s.components.find((c) => c.name === 'ledger')!;

async function invoke(...args: string[]): Promise<Run> {
  return tc(['smr', 'invoke', 'ledger', ...args], dir, { timeoutMs: 30_000 });
}

describe.skipIf(!ready)('reliability: quickstart on the local target under faults', () => {
  beforeAll(async () => {
    dir = await tempDir('e2e-reliability');
    ok(await tc(['init', '--mode', 'client-resident', '--clouds', 'local', '--name', 'quickstart'], dir));
    ok(await tc(['deploy', '--yes'], dir, { timeoutMs: 90_000 }));
    const s = await until(async () => {
      const r = await status();
      return ledgerOf(r).up === 4 ? r : null;
    }, 20_000);
    expect(s && ledgerOf(s).verdict).toBe('ok');
  }, 120_000);

  afterAll(async () => {
    if (!dir) return;
    await tc(['chaos', 'resume'], dir);
    await tc(['destroy', '--yes'], dir, { timeoutMs: 60_000 });
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('kill f replicas and keep invoking', async () => {
    const before = ledgerOf(await status());
    const victim = before.nodes.find((n) => !n.isLeader)!.id;
    ok(await tc(['chaos', 'kill', '--node', victim, '--yes'], dir));
    const s = ledgerOf(await status());
    expect(s).toMatchObject({ up: 3, faultsLeft: 0, quorumLost: false, verdict: 'degraded' });
    ok(await invoke('put', 'k1', 'v1'));
    expect(ok(await invoke('get', 'k1')).stdout).toContain('v1');
    ok(await tc(['chaos', 'resume', '--node', victim], dir));
  }, 60_000);

  it('restarted nodes catch up with the others (state transfer)', async () => {
    for (let i = 0; i < 5; i++) ok(await invoke('put', `c${i}`, `x${i}`));
    const caughtUp = await until(async () => {
      const l = ledgerOf(await status());
      const decided = l.nodes.map((n) => n.roleInfo.lastDecided as number | undefined);
      return l.up === 4 && decided.every((d) => d !== undefined && d === l.lastDecided) ? l : null;
    }, 30_000);
    expect(caughtUp, 'every replica reaches the same last decided instance').toBeTruthy();
  }, 60_000);

  it('pause the leader: status shows the leader change', async () => {
    const before = ledgerOf(await status());
    const leader = before.nodes.find((n) => n.isLeader)!;
    ok(await tc(['chaos', 'pause', '--node', leader.id, '--yes'], dir));
    // Requests time out at the frozen leader; the replicas change regency and elect another one.
    const invoking = invoke('put', 'after-pause', 'yes');
    const changed = await until(
      async () => {
        const l = ledgerOf(await status());
        return l.leader !== null && l.leader !== before.leader ? l : null;
      },
      30_000,
      500,
    );
    expect(changed, 'a new leader is elected').toBeTruthy();
    expect(changed!.nodes.find((n) => n.id === leader.id)!.state).toBe('paused');
    expect(changed!.regency).toBeGreaterThan(before.regency ?? 0);
    ok(await invoking);
    ok(await tc(['chaos', 'resume'], dir));
  }, 90_000);

  it('kill a whole fault domain (every VM on one PM), invoke, then resume', async () => {
    const s = ledgerOf(await status());
    const d = s.nodes.find((n) => !n.isLeader)!;
    const r = await tcJson<{ targets: string[] }>(
      ['chaos', 'kill', '--host', String(d.domain), '--cloud', d.cloud, '--yes'],
      dir,
    );
    expect(r.targets).toContain(d.id);
    expect(ledgerOf(await status()).quorumLost).toBe(false);
    ok(await invoke('put', 'k2', 'v2'));
    ok(await tc(['chaos', 'resume'], dir));
    const back = await until(async () => ledgerOf(await status()).up === 4, 30_000);
    expect(back).toBe(true);
  }, 90_000);

  it('partition one replica through the node host admin endpoint, keep invoking, heal', async () => {
    const s = ledgerOf(await status());
    const victim = s.nodes.find((n) => !n.isLeader)!;
    ok(await tc(['chaos', 'partition', '--node', victim.id, '--yes'], dir));
    const cut = ledgerOf(await status());
    const others = cut.nodes
      .filter((n) => n.id !== victim.id)
      .map((n) => n.id)
      .sort();
    expect(cut.nodes.find((n) => n.id === victim.id)!.partitionedFrom).toEqual(others);
    for (const o of cut.nodes.filter((n) => n.id !== victim.id)) expect(o.partitionedFrom).toEqual([victim.id]);
    ok(await invoke('put', 'k3', 'v3'));
    const healed = await tcJson<{ results: { ok: boolean }[] }>(['chaos', 'heal'], dir);
    expect(healed.results.every((r) => r.ok)).toBe(true);
    expect(ledgerOf(await status()).nodes.every((n) => n.partitionedFrom.length === 0)).toBe(true);
  }, 60_000);

  it('chaos run applies seeded draws and reports them next to the advisor', async () => {
    const r = await tcJson<{
      applied: boolean;
      components: {
        component: string;
        predicted: number | null;
        keptRate: number;
        observedRate: number;
        runs: { observed: { quorumKept: boolean } }[];
      }[];
    }>(
      [
        'chaos',
        'run',
        '--faults',
        '1',
        '--runs',
        '2',
        '--seed',
        '3',
        '--component',
        'ledger',
        '--settle',
        '800',
        '--yes',
      ],
      dir,
      120_000,
    );
    expect(r.applied).toBe(true);
    const c = r.components[0]!;
    // Quickstart: one replica per cloud, so one byzantine-vm fault takes one PM of four: the majority holds.
    expect(c.predicted).toBe(1);
    expect(c.keptRate).toBe(1);
    expect(c.runs.every((x) => x.observed.quorumKept)).toBe(true);
  }, 150_000);

  it('destroy leaves no process behind', async () => {
    const s = await status();
    expect(seenPids.size).toBeGreaterThanOrEqual(4);
    const supervisor = JSON.parse(
      await fs.readFile(path.join(dir, '.tclouds', 'quickstart', 'supervisor.json'), 'utf8').catch(() => '{}'),
    ) as { pid?: number };
    if (supervisor.pid) seenPids.add(supervisor.pid);
    expect(s.summary.nodes).toBe(4);
    ok(await tc(['destroy', '--yes'], dir, { timeoutMs: 60_000 }));
    await sleep(300);
    const alive = [...seenPids].filter(pidAlive);
    expect(alive, `processes still alive: ${alive.join(', ')}`).toEqual([]);
    const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes(dir))).toEqual([]);
  }, 90_000);
});
