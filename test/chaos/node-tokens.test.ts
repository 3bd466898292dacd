/**
 * Chaos against nodes that each hold their own admin token (as cloud nodes do: keys/<node>.admin.token) and refuse
 * the stack's: a local deployment whose nodes are switched to per-node tokens (their specs name their own token
 * file; each restarts through POST /admin/restart to read it). `chaos partition`, `heal` and `byzantine` then
 * reach every node with that node's own token, through the one admin helper (chaos/actions.ts `adminPost`).
 * Needs the built CLI (`npm run build`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../runtime/control-client.js';
import type { NodeOutput, NodeSpec } from '../../runtime/node-spec.js';
import { cli, repo, tempDir } from '../deploy/helpers.js';
import { fourLocalClouds, TEST_STACKS } from '../support/stacks.js';

const hasReplica = existsSync(path.join(repo, 'dist', 'components', 'smr', 'node.js'));
const STACK = TEST_STACKS.chaosNodeTokens;
/** Between two looks at a restarting node. */
const POLL_MS = 50;
const RESTART_TIMEOUT_MS = 60_000;

const topology = fourLocalClouds(STACK, '  ledger: { kind: smr, f: 1, clouds: [a, b, c, d] }');

let dir = '';
let stackDir = '';
let nodes: NodeOutput[] = [];
let stackToken = '';
const ownToken = new Map<string, string>();

async function health(n: NodeOutput): Promise<Record<string, unknown> | undefined> {
  const r = await controlRequest(n, '/health', { method: 'GET', timeoutMs: 2000 }).catch(() => undefined);
  return r?.status === 200 ? (JSON.parse(r.body) as Record<string, unknown>) : undefined;
}

/** The misbehaviour mode a node's /health reports. */
const faultOf = (h: Record<string, unknown> | undefined) => (h?.role as { fault?: string } | undefined)?.fault;

/** Gives a node its own token file and spec, and restarts it (with the token it holds now) to read them. */
async function switchToOwnToken(n: NodeOutput): Promise<void> {
  const token = randomBytes(32).toString('hex');
  const file = path.join(stackDir, 'keys', `${n.id}.admin.token`);
  await fs.writeFile(file, `${token}\n`, { mode: 0o600 });
  const specFile = path.join(stackDir, 'nodes', n.id, 'spec.json');
  const spec = JSON.parse(await fs.readFile(specFile, 'utf8')) as NodeSpec;
  await fs.writeFile(specFile, JSON.stringify({ ...spec, adminTokenFile: file }, null, 2));
  const pid = (await health(n))?.pid;
  const r = await controlRequest(n, '/admin/restart', { token: stackToken, body: {}, timeoutMs: 5000 });
  expect(r.status).toBe(202);
  const deadline = Date.now() + RESTART_TIMEOUT_MS;
  for (;;) {
    const h = await health(n);
    if (h?.status === 'ok' && h.pid !== pid) break;
    if (Date.now() > deadline) throw new Error(`${n.id} did not come back after its restart`);
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
  ownToken.set(n.id, token);
}

async function chaos(
  args: string[],
): Promise<{ ok: boolean; results: { node: string; ok: boolean; message: string }[] }> {
  const r = await cli(['chaos', ...args, '--yes', '--json'], dir);
  const summary = r.lines.find((l) => Array.isArray(l.results)) as
    | { results: { node: string; ok: boolean; message: string }[] }
    | undefined;
  expect(summary, r.stderr || r.stdout).toBeDefined();
  return { ok: r.code === 0, results: summary!.results };
}

describe.skipIf(!hasReplica)('chaos with per-node admin tokens', () => {
  beforeAll(async () => {
    dir = await tempDir('chaos-node-tokens');
    stackDir = path.join(dir, '.tclouds', STACK);
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), topology);
    const d = await cli(['deploy', '--yes', '--json'], dir);
    expect(d.code, d.stderr).toBe(0);
    const outputs = JSON.parse(await fs.readFile(path.join(stackDir, 'outputs.json'), 'utf8'));
    nodes = outputs.components.ledger.nodes as NodeOutput[];
    stackToken = (await fs.readFile(path.join(stackDir, 'keys', 'admin.token'), 'utf8')).trim();
    for (const n of nodes) await switchToOwnToken(n);
  }, 240_000);
  afterAll(async () => {
    if (dir) await cli(['destroy', '--yes', '--json'], dir);
  }, 120_000);

  it('each node now refuses the stack token and accepts only its own', async () => {
    for (const n of nodes) {
      const refused = await controlRequest(n, '/admin/heal', { token: stackToken, body: {}, timeoutMs: 5000 });
      expect(refused.status, n.id).toBe(401);
      const other = nodes.find((x) => x.id !== n.id)!;
      const foreign = await controlRequest(n, '/admin/heal', {
        token: ownToken.get(other.id)!,
        body: {},
        timeoutMs: 5000,
      });
      expect(foreign.status, n.id).toBe(401);
      const own = await controlRequest(n, '/admin/heal', { token: ownToken.get(n.id)!, body: {}, timeoutMs: 5000 });
      expect(own.status, n.id).toBe(200);
    }
  });

  it('partition and heal reach every node with its own token', { timeout: 120_000 }, async () => {
    const victim = nodes[0]!.id;
    const cut = await chaos(['partition', '--node', victim]);
    expect(cut.results.filter((r) => !r.ok)).toEqual([]);
    expect(cut.ok).toBe(true);
    expect((await health(nodes[0]!))?.partitionedFrom).toEqual(nodes.slice(1).map((n) => n.id));
    for (const n of nodes.slice(1)) expect((await health(n))?.partitionedFrom, n.id).toEqual([victim]);
    const healed = await chaos(['heal']);
    expect(healed.results.filter((r) => !r.ok)).toEqual([]);
    for (const n of nodes) expect((await health(n))?.partitionedFrom, n.id).toEqual([]);
  });

  it('byzantine switches a node with its own token, and heal sets it back', { timeout: 120_000 }, async () => {
    const victim = nodes[1]!;
    const on = await chaos(['byzantine', '--node', victim.id, '--mode', 'silent', '--no-check']);
    expect(on.results).toEqual([expect.objectContaining({ node: victim.id, ok: true, message: 'misbehaves: silent' })]);
    expect(faultOf(await health(victim))).toBe('silent');
    const off = await chaos(['heal', '--node', victim.id]);
    expect(off.results.filter((r) => !r.ok)).toEqual([]);
    expect(faultOf(await health(victim)) ?? 'none').toBe('none');
  });

  it('a node whose token file is gone and no stack token: TC328 names the node, nothing is switched', async () => {
    const n = nodes[2]!;
    const own = path.join(stackDir, 'keys', `${n.id}.admin.token`);
    const shared = path.join(stackDir, 'keys', 'admin.token');
    await fs.rename(own, `${own}.away`);
    await fs.rename(shared, `${shared}.away`);
    try {
      const r = await chaos(['partition', '--node', n.id]);
      expect(r.ok).toBe(false);
      const mine = r.results.find((x) => x.node === n.id)!;
      expect(mine.ok).toBe(false);
      expect(mine.message).toContain(`TC328 no admin token for node ${n.id}`);
    } finally {
      await fs.rename(`${own}.away`, own);
      await fs.rename(`${shared}.away`, shared);
      await chaos(['heal']);
    }
  });
});
