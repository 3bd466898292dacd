/**
 * The cloud targets as a user drives them: the built CLI (`bin/run.js`, dist/) on a topology from `tclouds init`.
 * `plan --target aws` works offline through the mock runtime; `deploy --target aws` without the pulumi CLI stops
 * with exit 7; a recorded lock conflict (TCLOUDS_PULUMI_REPLAY) is exit 6.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';
import { ROOT } from './plans.js';

const RUN = join(ROOT, 'bin', 'run.js');
let dir: string;
let file: string;

function tclouds(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [RUN, ...args], {
    encoding: 'utf8',
    timeout: 180_000,
    env: {
      ...process.env,
      // No pulumi CLI anywhere this process could look.
      PATH: tempDir('tc-path-'),
      PULUMI_HOME: tempDir('tc-home-'),
      NO_COLOR: '1',
      ...env,
    },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = tempDir('tc-cli-');
  file = join(dir, 'tclouds.yaml');
  const init = tclouds(['init', '--mode', 'mediator', '--clouds', 'aws', '--name', 'demo', '--file', file]);
  expect(init.code, init.stderr).toBe(0);
});

describe('tclouds with --target aws', () => {
  it('plan --json lists the resources of the real program under mocks, offline, secrets hidden', () => {
    const r = tclouds(['plan', file, '--target', 'aws', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { summary } = JSON.parse(r.stdout) as {
      summary: {
        target: string;
        resources: { type: string; name: string; inputs: Record<string, unknown>; op: string }[];
      };
    };
    expect(summary.target).toBe('aws');
    const vms = summary.resources.filter((x) => x.type === 'aws:ec2/instance:Instance');
    expect(vms.map((v) => v.name).sort()).toEqual([
      'ledger-replica-0',
      'ledger-replica-1',
      'ledger-replica-2',
      'ledger-replica-3',
      'vault-gateway-0',
      'vault-gateway-1',
    ]);
    // User data: boot values only (shown, nothing secret); the secrets are secret-store entries, hidden.
    for (const v of vms) expect(String(v.inputs.userData)).toMatch(/^#cloud-config\n/);
    const versions = summary.resources.filter((x) => x.type === 'aws:secretsmanager/secretVersion:SecretVersion');
    expect(versions).toHaveLength(vms.length * 3 + 2 * 2); // gateways also get the writer key and bucket credentials
    for (const v of versions) expect(v.inputs.secretString).toBe('[secret]');
    // The artifact (this build, packed), its checksum and its readers.
    const object = summary.resources.find((x) => x.type === 'aws:s3/bucketObjectv2:BucketObjectv2')!;
    const sha256 = (object.inputs.metadata as { sha256: string }).sha256;
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    const policy = summary.resources.find(
      (x) => x.type === 'aws:s3/bucketPolicy:BucketPolicy' && x.name === 'artifact-readers',
    )!;
    for (const v of vms) expect(String(policy.inputs.policy)).toContain(`${v.name}-role`);
    expect(summary.resources.filter((x) => x.type === 'aws:s3/bucket:Bucket')).toHaveLength(5);
    expect(r.stdout).not.toMatch(/PRIVATE KEY|mock-secret/);
    expect(existsSync(join(dir, '.tclouds', 'state'))).toBe(false);
  });

  it('plan (text) names the software and its full checksum', () => {
    const r = tclouds(['plan', file, '--target', 'aws']);
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(
      /node software: this build, sha256 [0-9a-f]{64}, readable only by the 6 node/,
    );
  });

  it('deploy without the pulumi CLI: TC350, exit 7, how to install it, no state written', () => {
    const r = tclouds(['deploy', file, '--target', 'aws', '--yes'], { TCLOUDS_PASSPHRASE: 'x' });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('TC350');
    expect(r.stderr).toContain('https://www.pulumi.com/docs/install/');
    // Checked first: no "deploying ..." progress that ends in "deploy failed" for a tool that was never there.
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/deploying|deploy failed/);
    expect(existsSync(join(dir, '.tclouds', 'state'))).toBe(false);
  });

  it('destroy without the pulumi CLI: the same TC350 before any question or progress', () => {
    const r = tclouds(['destroy', file, '--target', 'aws', '--yes'], { TCLOUDS_PASSPHRASE: 'x' });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('TC350');
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/destroying|destroy failed/);
  });

  it('deploy against a stack another update holds (recorded): TC356, exit 6', () => {
    const r = tclouds(['deploy', file, '--target', 'aws', '--yes'], {
      TCLOUDS_PASSPHRASE: 'x',
      TCLOUDS_PULUMI_REPLAY: join(ROOT, 'test', 'pulumi', 'fixtures', 'up-locked.json'),
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('TC356');
    expect(r.stderr).toContain('pulumi cancel --stack demo-aws');
  });
});
