/**
 * End to end, as a user would: a storage-only topology deployed to the local target with the built CLI,
 * redeployed (nothing to do), then destroyed (nothing left behind). Needs `npx tsc -p tsconfig.build.json` first.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePlan } from '../../components/plan.js';
import { unsupported, unsupportedError } from '../../stacks/local/design.js';
import { loadTopology } from '../../topology/load.js';
import { TEST_STACKS } from '../support/stacks.js';
import { cli, errorOf, summaryOf, tempDir, tree } from './helpers.js';

const STACK = TEST_STACKS.deployStorage;
const TOPOLOGY = `name: ${STACK}
mode: client-resident
clouds:
  c1: { provider: local }
  c2: { provider: local }
  c3: { provider: local }
  c4: { provider: local, path: far/away/c4 }
components:
  vault: { kind: storage, f: 1, clouds: [c1, c2, c3, c4] }
`;

let dir: string;
beforeAll(async () => {
  dir = await tempDir('deploy-storage');
  await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
});
afterAll(async () => {
  await cli(['destroy', '--yes', '--json'], dir);
});

describe('local deploy of a storage-only topology', () => {
  it('plan --exit-code reports pending changes before the first deploy', async () => {
    const r = await cli(['plan', '--json', '--exit-code'], dir);
    expect(r.code).toBe(5);
    const s = summaryOf(r);
    expect(s.changes).toBeGreaterThan(0);
    const types = (s.resources as Array<{ type: string }>).map((x) => x.type);
    expect(types.filter((t) => t === 'local:bucket')).toHaveLength(4);
    expect(JSON.stringify(s)).not.toContain('PRIVATE KEY');
  });

  it('a cloud target without clouds of that provider is a usage error', async () => {
    const r = await cli(['plan', '--target', 'gcp', '--json'], dir);
    expect(r.code).toBe(2);
    expect(errorOf(r)?.code).toBe('TC302');
  });

  it('refuses to deploy without a terminal unless --yes', async () => {
    const r = await cli(['deploy', '--json'], dir);
    expect(r.code).toBe(2);
    expect(errorOf(r)?.code).toBe('TC307');
    expect(await tree(dir)).toEqual(['tclouds.yaml']);
  });

  it('deploys buckets as directories and keys with mode 0600, then does nothing the second time', async () => {
    const r = await cli(['deploy', '--yes', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    // every stdout line is JSON: events first, the summary last
    const lines = r.stdout.trim().split('\n');
    expect(lines.every((l) => l.startsWith('{'))).toBe(true);
    expect(Object.keys(JSON.parse(lines.at(-1) as string))).toEqual(['summary']);
    const s = summaryOf(r);
    expect(s).toMatchObject({ command: 'deploy', target: 'local', stack: STACK, nothingToDo: false, buckets: 4 });
    const stack = path.join(dir, '.tclouds', STACK);
    for (const c of ['c1', 'c2', 'c3']) {
      expect((await fs.stat(path.join(stack, 'clouds', c, `${STACK}-vault-${c}`))).isDirectory()).toBe(true);
    }
    expect((await fs.stat(path.join(dir, 'far', 'away', 'c4', `${STACK}-vault-c4`))).isDirectory()).toBe(true);
    for (const f of ['client-vault.key', 'storage-vault-writer.key', 'admin.token']) {
      expect((await fs.stat(path.join(stack, 'keys', f))).mode & 0o777).toBe(0o600);
    }
    const outputs = JSON.parse(await fs.readFile(path.join(stack, 'outputs.json'), 'utf8'));
    expect(outputs.components.vault.buckets).toHaveLength(4);
    expect(outputs.components.vault.clientKeys['writer-vault'].keyFile).toContain('storage-vault-writer.key');
    expect(outputs.planDigest).toMatch(/^[0-9a-f]{64}$/);

    const before = await fs.readFile(path.join(stack, 'outputs.json'), 'utf8');
    const again = await cli(['deploy', '--yes', '--json'], dir);
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again)).toMatchObject({ changes: 0, nothingToDo: true });
    expect(await fs.readFile(path.join(stack, 'outputs.json'), 'utf8')).toBe(before);
    expect((await cli(['plan', '--exit-code'], dir)).code).toBe(0);
  });

  it('outputs prints the deployment; a deploy lock held by a live process makes deploy exit 6', async () => {
    const out = await cli(['outputs', '--json'], dir);
    expect(out.code).toBe(0);
    expect((out.lines[0] as { stack: string }).stack).toBe(STACK);
    const lock = path.join(dir, '.tclouds', STACK, 'deploy.lock');
    // The test runner itself is a live process holding the lock.
    await fs.writeFile(
      lock,
      JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), command: 'test', since: 'now' }),
    );
    const locked = await cli(['deploy', '--yes', '--json'], dir);
    expect(locked.code).toBe(6);
    expect(errorOf(locked)?.code).toBe('TC305');
    // A lock of a dead process is stale and taken over.
    await fs.writeFile(
      lock,
      JSON.stringify({
        pid: 2 ** 22 + 12345,
        host: (await import('node:os')).hostname(),
        command: 'test',
        since: 'then',
      }),
    );
    const taken = await cli(['deploy', '--yes', '--json'], dir);
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stdout).toContain('stale lock');
    await expect(fs.access(lock)).rejects.toThrow();
  });

  it('destroy leaves nothing behind, and a second destroy has nothing to do', async () => {
    const r = await cli(['destroy', '--yes', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r)).toMatchObject({ command: 'destroy', nothingToDo: false });
    expect(await tree(dir)).toEqual(['tclouds.yaml']);
    const again = await cli(['destroy', '--yes', '--json'], dir);
    expect(summaryOf(again)).toMatchObject({ nothingToDo: true, removed: 0 });
    const none = await cli(['outputs', '--json'], dir);
    expect(none.code).toBe(4);
    expect(errorOf(none)?.code).toBe('TC306');
  });

  it('destroy --keep-data keeps buckets and keys only', async () => {
    expect((await cli(['deploy', '--yes', '--json'], dir)).code).toBe(0);
    const bucket = path.join(dir, '.tclouds', STACK, 'clouds', 'c1', `${STACK}-vault-c1`);
    await fs.writeFile(path.join(bucket, 'object'), 'payload');
    const r = await cli(['destroy', '--yes', '--keep-data', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const left = await tree(dir);
    expect(left).toContain(`.tclouds/${STACK}/clouds/c1/${STACK}-vault-c1/object`);
    expect(left).toContain(`.tclouds/${STACK}/keys/storage-vault-writer.key`);
    expect(left.filter((f) => /state\.json|outputs\.json|deploy\.lock/.test(f))).toEqual([]);
    // a new deploy picks the kept data and keys up again
    expect((await cli(['deploy', '--yes', '--json'], dir)).code).toBe(0);
    expect(await fs.readFile(path.join(bucket, 'object'), 'utf8')).toBe('payload');
    expect((await cli(['destroy', '--yes', '--json'], dir)).code).toBe(0);
    expect(await tree(dir)).toEqual(['tclouds.yaml']);
  });

  it('a role this build has no node software for is named by TC303', async () => {
    // Every kind of this release runs; a plan from a newer release (a role this build lacks) is what TC303 is for.
    const other = await tempDir('deploy-unsupported');
    const file = path.join(other, 'tclouds.yaml');
    await fs.writeFile(
      file,
      'name: x\nclouds:\n  a: { provider: local }\n  b: { provider: local }\n  c: { provider: local }\n  d: { provider: local }\ncomponents:\n  audit: { kind: log, f: 1, clouds: [a, b, c, d] }\n',
    );
    const plan = compilePlan(await loadTopology(file));
    expect(await unsupported(plan)).toEqual([]);
    for (const n of plan.components.audit?.nodes ?? []) if (n.role === 'console') n.role = 'oracle';
    const gone = await unsupported(plan);
    expect(gone.map((u) => [u.name, u.roles])).toEqual([['audit', ['oracle']]]);
    const err = unsupportedError(gone[0]!, 0);
    expect([err.code, err.exit]).toEqual(['TC303', 3]);
    expect(err.message).toBe(
      'component "audit" (log) cannot run on the local target: this release has no node software for its role oracle',
    );
  });
});
