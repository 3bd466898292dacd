/**
 * The VM's software installer (runtime/cloud-boot/software.ts) on real files, against the loopback stand-ins of
 * IMDS and S3: each version in its own directory behind a link, the version before kept for a rollback (which
 * downloads nothing), older ones removed, a new pinned runtime installed beside the old one, and a refused
 * runtime leaving everything in use as it was. Small hand-made packages stand in for the packed build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcError } from '../../kernel/errors.js';
import type { BootFile } from '../../runtime/cloud-boot/boot-file.js';
import { installSoftware, readInstalled, type SoftwareRecord } from '../../runtime/cloud-boot/software.js';
import { tempDir } from '../support/tmp.js';
import { type StandIns, sha256, startStandIns } from './boot-support.js';

let stand: StandIns;
let work: string;
const runtimes: Record<'one' | 'two', { version: string; url: string; sha256: string }> = {
  one: { version: 'v1.0.0', url: '', sha256: '' },
  two: { version: 'v2.0.0', url: '', sha256: '' },
};

/** A tarball holding `top/` with the given files. */
function tarball(name: string, top: string, files: Record<string, string | { link: string }>): Buffer {
  const dir = join(work, 'src', name);
  for (const [rel, content] of Object.entries(files)) {
    const file = join(dir, top, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    if (typeof content === 'string') writeFileSync(file, content);
    else symlinkSync(content.link, file);
  }
  const out = join(work, `${name}.tgz`);
  expect(spawnSync('tar', ['-czf', out, '-C', dir, top]).status).toBe(0);
  return readFileSync(out);
}

beforeAll(async () => {
  work = tempDir('tc-install-');
  stand = await startStandIns();
  for (const v of ['a', 'b', 'c']) {
    const bytes = tarball(v, 'package', { 'bin/run.js': `// build ${v}\n`, VERSION: v });
    stand.objects.set(`sw/${v}.tgz`, bytes);
  }
  for (const [key, rt] of Object.entries(runtimes)) {
    const bytes = tarball(`node-${key}`, `node-${rt.version}`, { 'bin/node': { link: process.execPath } });
    stand.objects.set(`files/node-${key}.tgz`, bytes);
    Object.assign(rt, { url: `${stand.base}/files/node-${key}.tgz`, sha256: sha256(bytes) });
  }
});

afterAll(async () => {
  await stand?.close();
});

function bootIn(root: string): BootFile {
  return {
    version: 1,
    nodeId: 'n0',
    provider: 'aws',
    region: 'eu-west-1',
    secrets: [],
    paths: { app: join(root, 'opt/app'), node: join(root, 'opt/node'), spec: join(root, 'run/spec.json') },
    endpoints: stand.endpoints,
  };
}

function record(v: string, runtime: keyof typeof runtimes = 'one'): SoftwareRecord {
  const bytes = stand.objects.get(`sw/${v}.tgz`)!;
  return {
    version: 1,
    artifact: { locator: `s3://sw/${v}.tgz`, sha256: sha256(bytes) },
    nodeRuntime: runtimes[runtime],
  };
}

const inUse = (boot: BootFile) => readFileSync(join(boot.paths.app, 'VERSION'), 'utf8');
const downloads = (v: string) => stand.seen.filter((x) => x === `GET /s3/sw/${v}.tgz`).length;

describe('the software installer', () => {
  it('keeps the version before for a rollback without a download, removes older ones, switches runtimes', async () => {
    const boot = bootIn(tempDir('tc-vm-'));
    expect((await installSoftware(boot, record('a'))).changed).toBe(true);
    expect(inUse(boot)).toBe('a');
    expect((await installSoftware(boot, record('a'))).changed).toBe(false);
    expect(downloads('a')).toBe(1);
    await installSoftware(boot, record('b'));
    expect(inUse(boot)).toBe('b');
    expect(readInstalled(boot)).toMatchObject({ current: { what: record('b').artifact!.sha256 } });
    // Rollback to A: from disk.
    const back = await installSoftware(boot, record('a'));
    expect([back.changed, inUse(boot), downloads('a')]).toEqual([true, 'a', 1]);
    expect(back.previous?.what).toBe(record('b').artifact!.sha256);
    // C on a new runtime: B kept (the one before), the runtime of A and B kept with it, nothing older.
    await installSoftware(boot, record('c', 'two'));
    expect(inUse(boot)).toBe('c');
    const versions = readdirSync(join(boot.paths.app, '..', 'versions')).sort();
    expect(versions).toEqual(
      [`sha256-${record('a').artifact!.sha256}`, `sha256-${record('c').artifact!.sha256}`].sort(),
    );
    expect(realpathSync(boot.paths.node)).toContain('node-v2.0.0-');
    expect(readdirSync(join(boot.paths.app, '..', 'runtimes'))).toHaveLength(2);
  });

  it('a runtime whose SHA-256 is not the pinned one is TC372: nothing of it on disk, the links unchanged', async () => {
    const boot = bootIn(tempDir('tc-vm-'));
    await installSoftware(boot, record('a'));
    const app = realpathSync(boot.paths.app);
    const node = realpathSync(boot.paths.node);
    const bad = { ...record('b'), nodeRuntime: { ...runtimes.two, sha256: 'f'.repeat(64) } };
    const e = (await installSoftware(boot, bad).catch((x) => x)) as TcError;
    expect(e.code).toBe('TC372');
    expect(e.message).toContain(`the pinned one is ${'f'.repeat(64)}: refusing to install it`);
    expect([realpathSync(boot.paths.app), realpathSync(boot.paths.node)]).toEqual([app, node]);
    expect(readdirSync(join(boot.paths.app, '..', 'runtimes'))).toHaveLength(1);
    expect(existsSync(join(boot.paths.app, '..', 'versions', `sha256-${record('b').artifact!.sha256}`))).toBe(false);
  });
});
