/**
 * `--target clouds` as a user drives it (the built CLI, `bin/run.js`): a topology from `tclouds init --clouds
 * aws,azure,gcp` plans as one program with every provider's resources, offline; `--target aws` alone on it is
 * TC335; a component with peers on a local cloud and on cloud clouds is TC389; a single-provider topology takes
 * `clouds` as its provider's target.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';
import { MIXED_LOCAL_TOPOLOGY, ROOT } from './plans.js';

const RUN = join(ROOT, 'bin', 'run.js');
const SPAWN_TIMEOUT_MS = 180_000;
let file: string;

function tclouds(args: string[]) {
  const r = spawnSync(process.execPath, [RUN, ...args], {
    encoding: 'utf8',
    timeout: SPAWN_TIMEOUT_MS,
    // No pulumi CLI anywhere this process could look: plan never needs it.
    env: { ...process.env, PATH: tempDir('tc-path-'), PULUMI_HOME: tempDir('tc-home-'), NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The `{"error":...}` line of a --json run. */
function errorOf(stdout: string): { code: string; hint?: string } | undefined {
  const line = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { error?: { code: string; hint?: string } })
    .find((x) => x.error);
  return line?.error;
}

beforeAll(() => {
  const dir = tempDir('tc-clouds-');
  file = join(dir, 'tclouds.yaml');
  const init = tclouds(['init', '--mode', 'mediator', '--clouds', 'aws,azure,gcp', '--name', 'demo', '--file', file]);
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(file, `${readFileSync(file, 'utf8')}\nclients:\n  cidrs: [198.51.100.0/24]\n`);
});

describe('tclouds with --target clouds', () => {
  it('plan --json shows every provider resources in the one program', () => {
    const r = tclouds(['plan', file, '--target', 'clouds', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { summary } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      summary: { target: string; resources: { type: string; name: string }[]; quota: { provider: string }[] };
    };
    expect(summary.target).toBe('clouds');
    const types = new Set(summary.resources.map((x) => x.type));
    for (const t of [
      'aws:ec2/instance:Instance',
      'azure-native:compute:VirtualMachine',
      'gcp:compute/instance:Instance',
    ])
      expect(types.has(t), t).toBe(true);
    expect(new Set(summary.quota.map((q) => q.provider))).toEqual(new Set(['aws', 'azure', 'gcp']));
    expect(r.stdout).not.toContain('PRIVATE KEY');
  });

  it('plan --target aws alone on a topology spanning providers is TC335, pointing at --target clouds', () => {
    const r = tclouds(['plan', file, '--target', 'aws', '--json']);
    expect(r.code).toBe(2);
    const error = errorOf(r.stdout);
    expect(error?.code).toBe('TC335');
    expect(error?.hint).toContain('--target clouds');
  });

  it('a component with nodes on a local cloud and on cloud clouds is TC389', () => {
    const mixed = join(tempDir('tc-clouds-mixed-'), 'tclouds.yaml');
    writeFileSync(mixed, MIXED_LOCAL_TOPOLOGY);
    const r = tclouds(['plan', mixed, '--target', 'clouds', '--json']);
    expect(r.code).toBe(3);
    const error = errorOf(r.stdout);
    expect(error?.code).toBe('TC389');
    expect(error?.hint).toContain('--target local');
  });

  it('a single-provider topology takes clouds as its provider target (one stack)', () => {
    const single = join(tempDir('tc-clouds-single-'), 'tclouds.yaml');
    const init = tclouds(['init', '--mode', 'native', '--clouds', 'gcp', '--name', 'solo', '--file', single]);
    expect(init.code, init.stderr).toBe(0);
    const r = tclouds(['plan', single, '--target', 'clouds', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { summary: { target: string } }).summary.target).toBe(
      'gcp',
    );
  });
});
