/**
 * `tclouds storage ...` as a user runs it: the built CLI (dist/, `npx tsc -p tsconfig.build.json`) in a temp
 * project with four local clouds. Checks outputs, --json shapes, files and exit codes.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pattern, tempDir } from './support.js';

const bin = path.resolve('bin/run.js');
let tmp: { dir: string; cleanup: () => Promise<void> };

function cli(args: string[], input?: Uint8Array): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: tmp.dir,
    input,
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() };
}
const json = (r: { stdout: Buffer }) => JSON.parse(r.stdout.toString());

beforeAll(async () => {
  tmp = await tempDir('tclouds-storage-cli-');
  await fs.writeFile(
    path.join(tmp.dir, 'tclouds.yaml'),
    [
      'name: demo',
      'clouds:',
      '  l1: { provider: local }',
      '  l2: { provider: local }',
      '  l3: { provider: local }',
      '  l4: { provider: local }',
      'components:',
      '  vault: { kind: storage, f: 1, clouds: [l1, l2, l3, l4] }',
      '  plain: { kind: storage, protocol: depsky-a, f: 1, clouds: [l1, l2, l3, l4] }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('tclouds storage', () => {
  it('keygen, put, get (file and stdout), ls, gc, lock, rm with --json shapes and exit codes', async () => {
    const kg = cli(['storage', 'keygen', 'vault', '--json']);
    expect(kg.code).toBe(0);
    const keys = json(kg);
    expect(keys).toMatchObject({ component: 'vault', fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect((await fs.stat(keys.privateKey)).mode & 0o777).toBe(0o600);
    expect(cli(['storage', 'keygen', 'vault']).code).toBe(3);

    const data = pattern(2_000_000, 42);
    await fs.writeFile(path.join(tmp.dir, 'report.pdf'), data);
    const put = cli(['storage', 'put', 'vault', 'report.pdf', '--as', 'reports/2026/q3.pdf', '--json']);
    expect(put.code).toBe(0);
    expect(json(put)).toMatchObject({
      du: 'reports/2026/q3.pdf',
      version: expect.stringMatching(/^1\./),
      protocol: 'depsky-ca',
      size: 2_000_000,
    });
    // put returned at the n-f quorum; the late copy finished before the command exited (bounded), and says so.
    expect(json(put).acked.length).toBeGreaterThanOrEqual(3);
    expect(json(put).holders).toHaveLength(4);
    expect(json(put).unfinished).toEqual([]);

    const viaStdin = cli(['storage', 'put', 'vault', '-', '--as', 'stdin.bin'], data);
    expect(viaStdin.code).toBe(0);

    const get = cli(['storage', 'get', 'vault', 'reports/2026/q3.pdf', '-o', 'out.pdf', '--json']);
    expect(get.code).toBe(0);
    expect(json(get)).toMatchObject({ du: 'reports/2026/q3.pdf', size: 2_000_000, output: 'out.pdf' });
    expect((await fs.readFile(path.join(tmp.dir, 'out.pdf'))).equals(Buffer.from(data))).toBe(true);
    const cheap = cli([
      'storage',
      'get',
      'vault',
      'reports/2026/q3.pdf',
      '-o',
      'cheap.pdf',
      '--prefer',
      'l4',
      '--json',
    ]);
    expect(json(cheap).from).toContain('l4');
    expect(cli(['storage', 'get', 'vault', 'reports/2026/q3.pdf', '-o', 'x.pdf', '--prefer', 'nope']).code).toBe(2);
    const toStdout = cli(['storage', 'get', 'vault', 'stdin.bin']);
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout.equals(Buffer.from(data))).toBe(true);
    const dash = cli(['storage', 'get', 'vault', 'stdin.bin', '--out', '-']);
    expect(dash.stdout.equals(Buffer.from(data))).toBe(true);

    const ls = cli(['storage', 'ls', 'vault', '--long', '--json']);
    expect(json(ls).dataUnits.map((d: { name: string }) => d.name)).toEqual(['reports/2026/q3.pdf', 'stdin.bin']);

    cli(['storage', 'put', 'vault', 'report.pdf', '--as', 'reports/2026/q3.pdf']);
    const gc = cli(['storage', 'gc', 'vault', 'reports/2026/q3.pdf', '--keep', '1', '--json']);
    // Streamed CA: version 1 was one segment and one manifest per cloud.
    expect(json(gc)).toMatchObject({ removed: 8, current: expect.stringMatching(/^2\./) });

    expect(cli(['storage', 'lock', 'vault', 'stdin.bin', '--lease', '1m']).code).toBe(0);
    const taken = cli(['storage', 'lock', 'vault', 'stdin.bin', '--writer-id', 'beef', '--json']);
    expect(taken.code).toBe(6);
    expect(json(taken)).toMatchObject({ acquired: false, holder: { seenOn: expect.any(Number) } });
    expect(cli(['storage', 'lock', 'vault', 'stdin.bin', '--release']).code).toBe(0);

    expect(cli(['storage', 'rm', 'vault', 'stdin.bin']).code).toBe(0);
    const missing = cli(['storage', 'get', 'vault', 'stdin.bin', '-o', 'x', '--json']);
    expect(missing.code).toBe(4);
    expect(json(missing).error.code).toBe('TC202');
    // A reader with no writer key on disk but the public key works; wrong component kind/name errors are clear.
    const noComp = cli(['storage', 'ls', 'nope']);
    expect(noComp.code).toBe(4);
    expect(noComp.stderr).toMatch(/TC209.*no component "nope"/);
    const noKeys = cli(['storage', 'ls', 'plain']);
    expect(noKeys.code).toBe(4);
    expect(noKeys.stderr).toMatch(/TC205/);
  }, 300_000);
});
