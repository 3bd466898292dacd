/**
 * A deployment whose records are damaged while every node runs: a truncated outputs.json gets one code (TC501) and
 * one exit code (3) from every command that reads it (the clients of every kind among them), and `deploy` rewrites
 * it; a truncated state.json is reported the same way by chaos, and `deploy` rebuilds it from the node specs
 * without restarting a node. Real processes, the built CLI (`npx tsc -p tsconfig.build.json` first).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalState } from '../../stacks/local/control.js';
import { fourLocalClouds, TEST_STACKS } from '../support/stacks.js';
import { cli, repo, tempDir } from './helpers.js';

const hasReplica = existsSync(path.join(repo, 'dist', 'components', 'smr', 'node.js'));
const STACK = TEST_STACKS.damagedState;

const TOPOLOGY = fourLocalClouds(
  STACK,
  `  vault: { kind: storage, protocol: depsky-a, f: 1, clouds: [a, b, c, d] }
  ledger: { kind: smr, f: 1, clouds: [a, b, c, d] }`,
);

let dir = '';
let stackDir = '';

async function pids(): Promise<Record<string, number | null>> {
  const v = await readLocalState(stackDir);
  return Object.fromEntries((v?.nodes ?? []).map((n) => [n.id, n.pid]));
}

/** Keep the first bytes only, as a full disk or a crash in the middle of a copy would. */
async function truncate(file: string): Promise<void> {
  const text = await fs.readFile(file, 'utf8');
  await fs.writeFile(file, text.slice(0, Math.floor(text.length / 3)));
}

function errorJson(stdout: string): { code?: string; message?: string; hint?: string } {
  try {
    return (JSON.parse(stdout) as { error?: Record<string, string> }).error ?? {};
  } catch {
    return {};
  }
}

describe.skipIf(!hasReplica)('damaged deployment records', () => {
  beforeAll(async () => {
    dir = await tempDir('damaged-state');
    stackDir = path.join(dir, '.tclouds', STACK);
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
    const d = await cli(['deploy', '--yes', '--json'], dir);
    expect(d.code, d.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    if (dir) await cli(['destroy', '--yes', '--json'], dir);
  }, 120_000);

  it('truncated outputs.json: TC501 and exit 3 from every command; deploy rewrites it, no node restarts', {
    timeout: 180_000,
  }, async () => {
    const before = await pids();
    expect(Object.values(before).every((p) => typeof p === 'number')).toBe(true);
    await truncate(path.join(stackDir, 'outputs.json'));
    const commands = [
      ['status'],
      ['outputs'],
      ['smr', 'get', 'ledger', 'alice'],
      ['storage', 'ls', 'vault'],
      ['chaos', 'kill', '--node', 'ledger-replica-1', '--yes'],
      // The other kinds' clients read the same record before they look for their component.
      ['log', 'query', 'audit'],
      ['workflow', 'ls'],
      ['mapreduce', 'ls'],
    ];
    for (const args of commands) {
      const r = await cli([...args, '--json'], dir);
      const err = errorJson(r.stdout);
      expect({ args, code: r.code, error: err.code }).toEqual({ args, code: 3, error: 'TC501' });
      expect(err.message).toMatch(/^deployment state unreadable: outputs\.json is not valid JSON/);
      expect(err.hint).toContain('tclouds deploy');
    }
    const redeploy = await cli(['deploy', '--yes', '--json'], dir);
    expect(redeploy.code, redeploy.stderr).toBe(0);
    expect(await pids()).toEqual(before);
    const get = await cli(['smr', 'get', 'ledger', 'alice', '--json'], dir);
    expect(get.code, get.stdout).toBe(0);
  });

  it('truncated state.json: chaos says TC501 and how to rebuild it; deploy rebuilds it from the specs, no node restarts', {
    timeout: 180_000,
  }, async () => {
    const before = await pids();
    await truncate(path.join(stackDir, 'state.json'));
    const kill = await cli(['chaos', 'kill', '--node', 'ledger-replica-1', '--yes', '--json'], dir);
    expect(kill.code).toBe(3);
    expect(errorJson(kill.stdout)).toMatchObject({ code: 'TC501' });
    expect(errorJson(kill.stdout).hint).toContain('rebuilds state.json from the node specs');
    // Nothing was killed: the refusal came before any action.
    expect(await fs.readdir(path.join(stackDir, 'nodes', 'ledger-replica-1'))).not.toContain('hold');
    const redeploy = await cli(['deploy', '--yes'], dir);
    expect(redeploy.code, redeploy.stderr).toBe(0);
    expect(redeploy.stdout).toMatch(/state\.json is not valid JSON .*: rebuilt it from 4 node spec\(s\)/);
    expect(JSON.parse(await fs.readFile(path.join(stackDir, 'state.json'), 'utf8')).nodes).toHaveProperty(
      'ledger-replica-3',
    );
    expect(await pids()).toEqual(before);
    const again = await cli(['chaos', 'kill', '--node', 'ledger-replica-1', '--yes', '--json'], dir);
    expect(again.code, again.stdout).toBe(0);
    const heal = await cli(['chaos', 'heal', '--json'], dir);
    expect(heal.code, heal.stdout).toBe(0);
  });
});
