import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_STACKS } from '../support/stacks.js';
import { bin, built, type Run, tc, tcJson, tempDir } from './helpers.js';

const STACK = TEST_STACKS.storageChaos;

/**
 * Reliability suite, storage part: a local deployment of the quickstart's storage component (client-resident
 * DepSky over four local clouds), driven through the CLI. Runs whenever deploy and the storage commands are built.
 */
const parts = built();
const ready = parts.deploy && parts.storage && parts.status;
if (!ready)
  console.warn(
    `[e2e storage] skipped: built parts ${JSON.stringify(parts)} (compile with npx tsc -p tsconfig.build.json)`,
  );

let dir: string;
const data = randomBytes(40_000);

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe.skipIf(!ready)('storage under faults (CLI, local target)', () => {
  beforeAll(async () => {
    dir = await tempDir('e2e-storage');
    ok(await tc(['init', '--mode', 'client-resident', '--clouds', 'local', '--name', STACK], dir));
    // Storage only: the SMR part of the quickstart is exercised by reliability.test.ts.
    const yaml = await fs.readFile(path.join(dir, 'tclouds.yaml'), 'utf8');
    const start = yaml.indexOf('  # Byzantine fault-tolerant state machine');
    if (start < 0 || !yaml.includes('  # More components'))
      throw new Error('quickstart template changed: update this test');
    const end = yaml.indexOf('  # More components');
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), yaml.slice(0, start) + yaml.slice(end));
    ok(await tc(['deploy', '--yes'], dir));
    await tc(['storage', 'keygen', 'vault'], dir); // older deploys do not create the writer key
    await fs.writeFile(path.join(dir, 'report.bin'), data);
    ok(await tc(['storage', 'put', 'vault', 'report.bin'], dir));
  }, 240_000);

  afterAll(async () => {
    if (!dir) return;
    await tc(['destroy', '--yes'], dir);
  });

  it('status shows the four clouds holding the object', async () => {
    const s = await tcJson<{
      components: { name: string; verdict: string; clouds: { objects: number; bytes: number }[] }[];
    }>(['status'], dir);
    expect(s._code).toBe(0);
    const vault = s.components.find((c) => c.name === 'vault')!;
    expect(vault.verdict).toBe('ok');
    expect(vault.clouds.filter((c) => c.objects === 1 && c.bytes > 0).length).toBeGreaterThanOrEqual(3);
  });

  it('status --watch --json prints one document per line until interrupted', async () => {
    const child = spawn(process.execPath, [bin, 'status', '--watch', '--json', '--interval', '300'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const docs = await new Promise<{ stack: string }[]>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Complete lines only: a chunk may end in the middle of a document.
        const lines = out
          .split('\n')
          .slice(0, -1)
          .filter((l) => l.trim() !== '');
        if (lines.length >= 2) resolve(lines.map((l) => JSON.parse(l) as { stack: string }));
      });
      child.on('close', (code) => reject(new Error(`status --watch exited ${code} early:\n${out}`)));
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(docs.length).toBeGreaterThanOrEqual(2);
    expect(docs.every((d) => d.stack === STACK)).toBe(true);
    expect(code).toBe(0);
  }, 120_000);

  it('chaos corrupt refuses without a terminal and without --yes', async () => {
    const r = await tc(['chaos', 'corrupt', '--cloud', 'local-2', '--object', 'report.bin'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TC504');
    expect(r.stderr).toContain('--yes');
  });

  it('one corrupted cloud copy: the client still reads the right bytes; heal restores the copy', async () => {
    const c = await tcJson<{ cloud: string; files: { file: string }[] }>(
      ['chaos', 'corrupt', '--cloud', 'local-2', '--object', 'report.bin', '--bytes', '64', '--yes'],
      dir,
    );
    expect(c._code).toBe(0);
    expect(c.files.length).toBeGreaterThan(0);
    // Every file of the object on that cloud is damaged (a streamed CA object: its manifest and its segments).
    const damaged = await Promise.all(c.files.map((f) => fs.readFile(f.file)));
    ok(await tc(['storage', 'get', 'vault', 'report.bin', '-o', path.join(dir, 'back.bin')], dir));
    expect((await fs.readFile(path.join(dir, 'back.bin'))).equals(data)).toBe(true);
    const h = await tcJson<{ restored: string[] }>(['chaos', 'heal'], dir);
    expect([...h.restored].sort()).toEqual(c.files.map((f) => f.file).sort());
    for (const [i, f] of c.files.entries()) expect((await fs.readFile(f.file)).equals(damaged[i]!)).toBe(false);
  });

  it('two clouds gone (f=1): status reports the quorum lost and exits 8', async () => {
    const buckets = path.join(dir, '.tclouds', STACK, 'clouds');
    const moved: [string, string][] = [];
    for (const cloud of ['local-3', 'local-4']) {
      const from = path.join(buckets, cloud);
      moved.push([from, `${from}.away`]);
      await fs.rename(from, `${from}.away`);
    }
    try {
      const s = await tcJson<{
        summary: { quorumLost: string[] };
        components: { name: string; verdictLine: string }[];
      }>(['status'], dir);
      expect(s._code).toBe(8);
      expect(s.summary.quorumLost).toEqual(['vault']);
      expect(s.components[0]!.verdictLine).toBe('QUORUM LOST: 2/4 clouds up, quorum 3');
      const text = await tc(['status'], dir);
      expect(text.code).toBe(8);
      expect(text.stdout).toContain('QUORUM LOST: 2/4 clouds up, quorum 3');
    } finally {
      for (const [from, to] of moved) await fs.rename(to, from);
    }
  });

  it('chaos run on a deployment without nodes explains what to do', async () => {
    const r = await tc(['chaos', 'run', '--faults', '1', '--dry-run'], dir);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('client-resident storage has no nodes');
  });
});
