/**
 * End to end on real processes: an SMR component deployed to the local target with the built CLI. Four replica
 * processes on their own 127.x addresses answer GET /health; the supervisor restarts a crashed replica, keeps a
 * replica held down by chaos down, leaves a paused one alone; a redeploy without changes touches nothing; destroy
 * leaves no process (checked by pid) and no file. Needs `npx tsc -p tsconfig.build.json` first.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePlan } from '../../components/plan.js';
import { assignAddresses } from '../../stacks/local/addresses.js';
import { killNode, pauseNode, readLocalState, restartNode, resumeNode, sleep } from '../../stacks/local/control.js';
import { probeHealth } from '../../stacks/local/health.js';
import { pidAlive, procCmdline, readSupervisorStatus } from '../../stacks/local/state.js';
import { loadTopology } from '../../topology/load.js';
import { fourLocalClouds, TEST_STACKS } from '../support/stacks.js';
import { bin, cli, repo, summaryOf, tempDir, tree } from './helpers.js';

const hasReplica = existsSync(path.join(repo, 'dist', 'components', 'smr', 'node.js'));

const STACK = TEST_STACKS.deploySmr;
const TOPOLOGY = fourLocalClouds(STACK, '  ledger: { kind: smr, f: 1, clouds: [a, b, c, d] }', 'mediator');

let dir: string;
let stackDir: string;
const seenPids = new Set<number>();

/** Polls `fn` until it gives a value; `ms` is a deadline for what never comes, generous for a loaded machine. */
async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Live supervisor processes of a stack (scan of /proc). */
function supervisorsOf(stack: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      const cmd = procCmdline(pid);
      return cmd?.includes('supervisor-main') && cmd.includes(stack) && pidAlive(pid);
    });
}

/** Until the supervisor has finished `rounds` more reconcile rounds (each one rewrites supervisor.json). */
async function supervisorRounds(rounds: number): Promise<void> {
  let last = (await readSupervisorStatus(stackDir))?.updatedAt;
  for (let i = 0; i < rounds; i++) {
    last = await waitFor('a supervisor round', async () => {
      const at = (await readSupervisorStatus(stackDir))?.updatedAt;
      return at !== undefined && at !== last ? at : undefined;
    });
  }
}

async function pidOf(id: string): Promise<number | null> {
  const v = await readLocalState(stackDir);
  return v?.nodes.find((n) => n.id === id)?.pid ?? null;
}

describe.skipIf(!hasReplica)('local deploy of an SMR component', () => {
  beforeAll(async () => {
    dir = await tempDir('deploy-smr');
    stackDir = path.join(dir, '.tclouds', STACK);
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
  });
  afterAll(async () => {
    if (dir) {
      await cli(['destroy', '--yes', '--json'], dir);
    }
  });

  it('refuses to start when a port a node needs is taken, naming address and port', { timeout: 180_000 }, async () => {
    const plan = compilePlan(await loadTopology(path.join(dir, 'tclouds.yaml')));
    const host = assignAddresses(plan).get('ledger-replica-2') as string;
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(7101, host, resolve));
    try {
      const r = await cli(['deploy', '--yes', '--json'], dir);
      expect(r.code).toBe(1);
      const err = r.lines.find((l) => 'error' in l)?.error as { code: string; message: string };
      expect(err.code).toBe('TC304');
      expect(err.message).toContain(`port 7101 on ${host}`);
      expect(existsSync(path.join(stackDir, 'deploy.lock'))).toBe(false);
      expect(existsSync(path.join(stackDir, 'supervisor.json'))).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('Ctrl-C during a deploy exits 130 and leaves no lock behind', { timeout: 180_000 }, async () => {
    const child = spawn(process.execPath, [bin, 'deploy', '--yes', '--json'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // Interrupt while the nodes are starting (after the first node event).
      if (!sent && out.includes('"kind":"node"')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(sent).toBe(true);
    expect(code).toBe(130);
    expect(out).toContain('TC309');
    expect(existsSync(path.join(stackDir, 'deploy.lock'))).toBe(false);
    // Whatever had started by then is cleaned up by destroy.
    expect((await cli(['destroy', '--yes', '--json'], dir)).code).toBe(0);
    expect(supervisorsOf(stackDir)).toEqual([]);
    expect(await tree(dir)).toEqual(['tclouds.yaml']);
  });

  it('starts 4 replicas on distinct loopback addresses, all healthy', { timeout: 240_000 }, async () => {
    const r = await cli(['deploy', '--yes', '--json'], dir);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(summaryOf(r)).toMatchObject({ nodes: 4, nothingToDo: false });
    const done = r.lines.filter((l) => (l.event as { kind?: string; state?: string })?.state === 'done');
    expect(done.filter((l) => (l.event as { kind: string }).kind === 'node')).toHaveLength(4);
    const outputs = JSON.parse(await fs.readFile(path.join(stackDir, 'outputs.json'), 'utf8'));
    const nodes = outputs.components.ledger.nodes as Array<{ id: string; host: string; controlPort: number }>;
    expect(new Set(nodes.map((n) => n.host)).size).toBe(4);
    for (const n of nodes) {
      expect(n.host).toMatch(/^127\./);
      const h = await probeHealth(n.host, n.controlPort, 2000);
      expect(h.ok, `${n.id}: ${JSON.stringify(h)}`).toBe(true);
      expect(h.body?.id).toBe(n.id);
    }
    const view = await readLocalState(stackDir);
    expect(view?.supervisor.alive).toBe(true);
    for (const n of view?.nodes ?? []) {
      expect(n.pid).not.toBeNull();
      seenPids.add(n.pid as number);
    }
    if (view?.supervisor.pid) seenPids.add(view.supervisor.pid);
  });

  it('writes the client signing key 0600 (outputs and specs carry public keys only); smr put --sign works', {
    timeout: 180_000,
  }, async () => {
    const signFile = path.join(stackDir, 'keys', 'client-ledger.sign.key');
    expect(statSync(signFile).mode & 0o777).toBe(0o600);
    const pemBody = (await fs.readFile(signFile, 'utf8')).split('\n')[1]!;
    const outputsText = await fs.readFile(path.join(stackDir, 'outputs.json'), 'utf8');
    const entry = JSON.parse(outputsText).components.ledger.clientKeys['client-ledger'];
    expect(entry).toMatchObject({ signingKeyFile: signFile, signingPublicKey: expect.stringMatching(/^[\w-]{43}$/) });
    expect(outputsText).not.toContain(pemBody);
    const spec = JSON.parse(await fs.readFile(path.join(stackDir, 'nodes', 'ledger-replica-0', 'spec.json'), 'utf8'));
    expect(spec.clientSigners).toEqual({ 'client-ledger': entry.signingPublicKey });
    expect(spec.config.clientAuth).toBe('mac');
    expect(JSON.stringify(spec)).not.toContain(pemBody);

    const put = await cli(['smr', 'put', 'ledger', 'signed-key', 'v1', '--sign', '--json'], dir);
    expect(put.code, put.stderr).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({
      result: { ok: true, value: null },
      ordered: true,
      auth: 'signature',
    });
    const get = await cli(['smr', 'get', 'ledger', 'signed-key', '--json'], dir);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ result: { ok: true, value: 'v1' }, auth: 'mac' });
  });

  it('a second deploy with no change does nothing and keeps the same processes', { timeout: 180_000 }, async () => {
    const before = (await readLocalState(stackDir))?.nodes.map((n) => n.pid);
    const r = await cli(['deploy', '--yes', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r)).toMatchObject({ changes: 0, nothingToDo: true });
    expect((await readLocalState(stackDir))?.nodes.map((n) => n.pid)).toEqual(before);
  });

  it('restarts a crashed replica, but not one held down or paused by chaos', { timeout: 240_000 }, async () => {
    const id = 'ledger-replica-1';
    const first = (await pidOf(id)) as number;
    process.kill(first, 'SIGKILL');
    const second = await waitFor('restart after a crash', async () => {
      const p = await pidOf(id);
      return p && p !== first ? p : undefined;
    });
    seenPids.add(second);
    expect(pidAlive(first)).toBe(false);

    await killNode(stackDir, id, { hold: true });
    expect(pidAlive(second)).toBe(false);
    await supervisorRounds(3); // it had the chance to restart it, three times
    const held = (await readLocalState(stackDir))?.nodes.find((n) => n.id === id);
    expect(held).toMatchObject({ pid: null, held: true });

    const { pid: third } = await restartNode(stackDir, id);
    seenPids.add(third);
    expect(third).not.toBe(second);
    const node = (await readLocalState(stackDir))?.nodes.find((n) => n.id === id);
    await waitFor('health after restart', async () =>
      (await probeHealth(node?.host as string, node?.controlPort as number)).ok ? true : undefined,
    );

    expect(supervisorsOf(stackDir), 'one supervisor per stack').toHaveLength(1);

    const other = 'ledger-replica-2';
    const pausedPid = (await pidOf(other)) as number;
    await pauseNode(stackDir, other);
    await supervisorRounds(3);
    expect(await pidOf(other)).toBe(pausedPid);
    await resumeNode(stackDir, other);
    expect((await readLocalState(stackDir))?.nodes.find((n) => n.id === other)?.paused).toBe(false);
  });

  it('a deploy after the supervisor died restarts the orphaned nodes under a new supervisor', {
    timeout: 240_000,
  }, async () => {
    const view = await readLocalState(stackDir);
    const supPid = view?.supervisor.pid as number;
    const orphans = (view?.nodes ?? []).map((n) => n.pid as number);
    process.kill(supPid, 'SIGKILL');
    await waitFor('supervisor gone', async () => (pidAlive(supPid) ? undefined : true));
    const r = await cli(['deploy', '--yes', '--json'], dir);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(summaryOf(r).changes).toBe(4);
    for (const pid of orphans) expect(pidAlive(pid)).toBe(false);
    const after = await readLocalState(stackDir);
    expect(after?.supervisor.alive).toBe(true);
    for (const n of after?.nodes ?? []) {
      seenPids.add(n.pid as number);
      expect((await probeHealth(n.host, n.controlPort, 2000)).ok).toBe(true);
    }
  });

  it('destroy stops every process (checked by pid) and removes every file', { timeout: 180_000 }, async () => {
    const view = await readLocalState(stackDir);
    for (const n of view?.nodes ?? []) if (n.pid) seenPids.add(n.pid);
    const r = await cli(['destroy', '--yes', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r)).toMatchObject({ removed: 4 });
    for (const pid of seenPids) expect(pidAlive(pid), `pid ${pid}`).toBe(false);
    expect(await tree(dir)).toEqual(['tclouds.yaml']);
  });
});
