/**
 * `tclouds storage scrub` on a real local deployment (four clouds as directories), with the built CLI
 * (`npm run build` first): one cloud's directory deleted and a block corrupted on another; scrub reports both,
 * `--repair` rewrites them at the same version, `status` sees the lost cloud, and after the repair one more cloud
 * can go with every object still readable byte for byte. Also: damaged metadata on more than f clouds (TC214) and
 * names too long for the clouds (TC208).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/cli.js';
import { TEST_STACKS } from '../support/stacks.js';
import { pattern } from './support.js';

const STACK = TEST_STACKS.storageScrub;
const TOPOLOGY = `name: ${STACK}
mode: client-resident
clouds:
  c1: { provider: local }
  c2: { provider: local }
  c3: { provider: local }
  c4: { provider: local }
components:
  vault: { kind: storage, f: 1, clouds: [c1, c2, c3, c4] }
  plain: { kind: storage, protocol: depsky-a, f: 1, clouds: [c1, c2, c3, c4] }
`;
/** Objects per component: a multi-segment one (streamed CA segments are 4 MiB), a small one, an empty one. */
const OBJECTS: Record<string, number> = { 'big.bin': 9_000_000, 'docs/small.txt': 1_000, 'empty.bin': 0 };

let dir: string;
const cli = (args: string[]) => runCli(args, dir);
const json = (r: { stdout: string }) => JSON.parse(r.stdout);
const bucket = (component: string, cloud: string) =>
  path.join(dir, '.tclouds', STACK, 'clouds', cloud, `${STACK}-${component}-${cloud}`);
const unitDir = (component: string, cloud: string, du: string) =>
  path.join(bucket(component, cloud), encodeURIComponent(du).replace(/\./g, '%2E'));

interface Finding {
  du: string;
  state: string;
  stateAfter: string;
  repaired: string[];
  clouds: { cloud: string; state: string; detail: string }[];
}
const states = (f: Finding) =>
  Object.fromEntries(f.clouds.filter((c) => c.state !== 'ok').map((c) => [c.cloud, c.state]));

async function readAll(component: string): Promise<void> {
  for (const [name, size] of Object.entries(OBJECTS)) {
    const out = path.join(dir, 'out', component, name);
    const r = await cli(['storage', 'get', component, name, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect((await fs.readFile(out)).equals(Buffer.from(pattern(size, size % 251)))).toBe(true);
  }
}

beforeAll(async () => {
  dir = await tempDir('storage-scrub');
  await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
  const d = await cli(['deploy', '--yes', '--json']);
  expect(d.code, d.stderr).toBe(0);
  for (const [name, size] of Object.entries(OBJECTS)) {
    const file = path.join(dir, 'in', name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, pattern(size, size % 251));
    for (const component of ['vault', 'plain']) {
      const r = await cli(['storage', 'put', component, file, '--as', name]);
      expect(r.code, r.stderr).toBe(0);
    }
  }
});
afterAll(async () => {
  await cli(['destroy', '--yes', '--json']);
});

describe('storage scrub on a local deployment', () => {
  it('a clean component: every copy ok, exit 0', async () => {
    const r = await cli(['storage', 'scrub', 'vault', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ component: 'vault', objects: 3, unresolved: 0, findings: [] });
    expect(json(r).states).toEqual({ ok: 3, degraded: 0, atRisk: 0, lost: 0 });
  });

  it('finds a deleted cloud and a corrupt block, repairs both, and then survives losing another cloud', async () => {
    // c1 lost its data: vault's bucket emptied, plain's bucket directory deleted.
    for (const entry of await fs.readdir(bucket('vault', 'c1')))
      await fs.rm(path.join(bucket('vault', 'c1'), entry), { recursive: true });
    await fs.rm(bucket('plain', 'c1'), { recursive: true });
    const big = unitDir('vault', 'c2', 'big.bin');
    const segment = (await fs.readdir(big)).find((f) => f.endsWith('.s1'))!;
    const h = await fs.open(path.join(big, segment), 'r+');
    await h.write(Buffer.from('garbage'), 0, 7, 1000);
    await h.close();

    const found = await cli(['storage', 'scrub', 'vault', '--json']);
    expect(found.code).toBe(1);
    const report = json(found);
    expect(report.clouds).toEqual([
      { cloud: 'c1', ok: 0, missing: 3, stale: 0, corrupt: 0, unreachable: 0, repaired: 0 },
      { cloud: 'c2', ok: 2, missing: 0, stale: 0, corrupt: 1, unreachable: 0, repaired: 0 },
      { cloud: 'c3', ok: 3, missing: 0, stale: 0, corrupt: 0, unreachable: 0, repaired: 0 },
      { cloud: 'c4', ok: 3, missing: 0, stale: 0, corrupt: 0, unreachable: 0, repaired: 0 },
    ]);
    const byName = new Map<string, Finding>(report.findings.map((f: Finding) => [f.du, f]));
    expect(states(byName.get('big.bin')!)).toEqual({ c1: 'missing', c2: 'corrupt' });
    expect(byName.get('big.bin')!.clouds[1]!.detail).toBe('block of segment 1 corrupt');
    expect(byName.get('big.bin')!.state).toBe('atRisk');
    expect(states(byName.get('docs/small.txt')!)).toEqual({ c1: 'missing' });
    expect(report.states).toEqual({ ok: 0, degraded: 2, atRisk: 1, lost: 0 });

    // status sees the emptied bucket from one listing per bucket (not the corrupt block: scrub's job); a deleted
    // bucket directory shows as an unreachable cloud.
    const st = await cli(['status', '--json']);
    const vault = json(st).components.find((c: { name: string }) => c.name === 'vault');
    expect(vault).toMatchObject({ verdict: 'degraded', faultsLeft: 0, atRisk: 0 });
    expect(vault.clouds.map((c: { missingObjects: number }) => c.missingObjects)).toEqual([3, 0, 0, 0]);
    expect(vault.verdictLine).toMatch(/4\/4 clouds up \(1 lacking data units\)/);
    const plainStatus = json(st).components.find((c: { name: string }) => c.name === 'plain');
    expect(plainStatus).toMatchObject({ verdict: 'degraded', up: 3 });

    const before = await fs.readFile(path.join(unitDir('vault', 'c3', 'big.bin'), 'metadata'));
    const repaired = await cli(['storage', 'scrub', 'vault', '--repair', '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    const rr = json(repaired);
    expect(rr.unresolved).toBe(0);
    expect(rr.clouds.map((c: { repaired: number }) => c.repaired)).toEqual([3, 1, 0, 0]);
    const bigAfter = rr.findings.find((f: Finding) => f.du === 'big.bin');
    expect(bigAfter).toMatchObject({ stateAfter: 'ok', repaired: ['c1', 'c2'] });
    // Same version: the metadata of the repaired clouds is the signed file the others hold, byte for byte.
    expect((await fs.readFile(path.join(unitDir('vault', 'c1', 'big.bin'), 'metadata'))).equals(before)).toBe(true);
    const plain = await cli(['storage', 'scrub', 'plain', '--repair', '--json']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(json(plain).clouds[0]).toMatchObject({ cloud: 'c1', missing: 3, repaired: 3 });

    const statusAfter = json(await cli(['status', '--json'])).components.find(
      (c: { name: string }) => c.name === 'vault',
    );
    expect(statusAfter).toMatchObject({ verdict: 'ok', faultsLeft: 1 });

    // One more cloud gone: every object still reads back byte for byte, from the repaired copies.
    const away = path.join(dir, 'c3-away');
    await fs.rename(path.join(dir, '.tclouds', STACK, 'clouds', 'c3'), away);
    try {
      await readAll('vault');
      await readAll('plain');
    } finally {
      await fs.rename(away, path.join(dir, '.tclouds', STACK, 'clouds', 'c3'));
    }
    for (const component of ['vault', 'plain']) {
      const clean = await cli(['storage', 'scrub', component, '--json']);
      expect(clean.code, clean.stderr).toBe(0);
      expect(json(clean).findings).toEqual([]);
    }
  });

  it('damaged metadata on more than f clouds is reported as unreadable (TC214), and repaired from the others', async () => {
    for (const cloud of ['c1', 'c2'])
      await fs.writeFile(path.join(unitDir('plain', cloud, 'docs/small.txt'), 'metadata'), 'not metadata\n');
    const get = await cli(['storage', 'get', 'plain', 'docs/small.txt', '-o', 'x', '--json']);
    expect(get.code).toBe(1);
    expect(json(get).error).toMatchObject({
      code: 'TC214',
      message: expect.stringMatching(/unreadable on clouds c1, c2/),
    });
    expect(json(get).error.hint).not.toMatch(/--key/);
    const r = await cli(['storage', 'scrub', 'plain', '--repair', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(states(json(r).findings[0])).toEqual({ c1: 'corrupt', c2: 'corrupt' });
    expect((await cli(['storage', 'get', 'plain', 'docs/small.txt', '-o', 'x'])).code).toBe(0);
  });

  it('a name of 256-512 characters is refused up front (TC208), not after reaching the clouds', async () => {
    const r = await cli([
      'storage',
      'put',
      'vault',
      path.join(dir, 'in', 'empty.bin'),
      '--as',
      'n'.repeat(300),
      '--json',
    ]);
    expect(r.code).toBe(2);
    expect(json(r).error).toMatchObject({ code: 'TC208', message: expect.stringMatching(/too long for cloud c1/) });
  });
});
