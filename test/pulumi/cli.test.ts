/**
 * The cloud targets as a user drives them: the built CLI (`bin/run.js`, dist/) on a topology from `tclouds init`.
 * `plan --target aws` works offline through the mock runtime; `deploy --target aws` without the pulumi CLI stops
 * with exit 7; a recorded lock conflict (TCLOUDS_PULUMI_REPLAY) is exit 6.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinnedNodeRuntime } from '../../stacks/pulumi/node-runtime.js';
import { tempDir } from '../support/tmp.js';
import { compileText, ROOT } from './plans.js';

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
        quota: { provider: string; region: string; resource: string; count: number }[];
        targetNotes: string[];
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
    // Spec, node key, admin token, control TLS and software record each; gateways also the writer key and bucket
    // credentials.
    expect(versions).toHaveLength(vms.length * 5 + 2 * 2);
    for (const v of versions) expect(v.inputs.secretString).toBe('[secret]');
    // The artifact (this build, packed), its checksum and its readers.
    const object = summary.resources.find((x) => x.type === 'aws:s3/bucketObjectv2:BucketObjectv2')!;
    const sha256 = (object.inputs.metadata as { sha256: string }).sha256;
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    const policy = summary.resources.find(
      (x) => x.type === 'aws:s3/bucketPolicy:BucketPolicy' && x.name === 'artifact-readers',
    )!;
    for (const v of vms) expect(String(policy.inputs.policy)).toContain(`${v.name}-role`);
    // What needs quota, before anything exists: one Elastic IP per node of each region.
    const eips = summary.quota.filter((q) => q.resource === 'Elastic IP addresses');
    expect(eips.reduce((n, q) => n + q.count, 0)).toBe(6);
    // No client networks declared: the control ports stay shut, and plan says what that means for status.
    expect(summary.targetNotes.join('\n')).toContain('`tclouds status` from outside the clouds cannot reach the nodes');
    // Buckets get the stack's name suffix; before the first deploy plan shows a placeholder of its length.
    const buckets = summary.resources.filter((x) => x.type === 'aws:s3/bucket:Bucket' && x.name !== 'artifact');
    for (const b of buckets) expect(String(b.inputs.bucket)).toMatch(/-xxxxxx$/);
    expect(buckets).toHaveLength(4);
    expect(r.stdout).not.toMatch(/PRIVATE KEY|mock-secret/);
    expect(existsSync(join(dir, '.tclouds', 'state'))).toBe(false);
  });

  it('plan says where a deploy would keep state and passphrase, and creates neither', () => {
    const r = tclouds(['plan', file, '--target', 'aws', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { summary } = JSON.parse(r.stdout) as { summary: { stateBackend?: string } };
    expect(summary.stateBackend).toContain(`file backend in ${join(dir, '.tclouds', 'demo', 'pulumi-state')}`);
    expect(summary.stateBackend).toContain(join(dir, '.tclouds', 'demo', 'pulumi-passphrase'));
    const text = tclouds(['plan', file, '--target', 'aws']);
    expect(text.stdout.match(/Pulumi state: /g)).toHaveLength(1);
    expect(existsSync(join(dir, '.tclouds', 'demo', 'pulumi-state'))).toBe(false);
    expect(existsSync(join(dir, '.tclouds', 'demo', 'pulumi-passphrase'))).toBe(false);
    const team = tclouds(['plan', file, '--target', 'aws', '--json', '--backend', 's3://team-state']);
    expect((JSON.parse(team.stdout) as { summary: { stateBackend: string } }).summary.stateBackend).toContain(
      'Pulumi state: s3://team-state (from --backend)',
    );
  });

  it('a backend that is not s3://, azblob://, gs:// or file:// is TC320 (exit 2) before anything runs', () => {
    for (const args of [
      ['deploy', file, '--target', 'aws', '--yes', '--backend', 'https://api.pulumi.com'],
      ['destroy', file, '--target', 'aws', '--yes', '--backend', 'ftp://x'],
      ['plan', file, '--target', 'aws', '--backend', 'bucket'],
    ]) {
      const r = tclouds(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('TC320');
      expect(r.stderr).toMatch(/s3:\/\/.*azblob:\/\/.*gs:\/\//);
    }
    const env = tclouds(['deploy', file, '--target', 'aws', '--yes', '--json'], {
      TCLOUDS_PULUMI_BACKEND: 'pulumi://x',
    });
    expect(env.code).toBe(2);
    expect(JSON.parse(env.stdout).error).toMatchObject({ code: 'TC320' });
    expect(env.stdout).toContain('TCLOUDS_PULUMI_BACKEND');
  });

  it('plan (text) names the software and its full checksum', () => {
    const r = tclouds(['plan', file, '--target', 'aws']);
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(
      /node software: this build, sha256 [0-9a-f]{64}, readable only by the 6 node/,
    );
  });

  it('plan after a deploy of another build: each deployed VM is an update in place, SHA-256 before and after', async () => {
    // A stack directory as a deploy of an older build leaves it (its own copy: the record changes what destroy does).
    const own = tempDir('tc-cli-sw-');
    const text = readFileSync(file, 'utf8');
    writeFileSync(join(own, 'tclouds.yaml'), text);
    const deployed = await compileText(text);
    const old = 'a'.repeat(64);
    const records = join(own, '.tclouds', deployed.stack, 'pulumi');
    mkdirSync(records, { recursive: true });
    writeFileSync(join(records, 'aws.plan.json'), JSON.stringify(deployed));
    writeFileSync(
      join(records, 'aws.software.json'),
      JSON.stringify({ artifact: { path: '/gone.tgz', sha256: old }, nodeRuntime: pinnedNodeRuntime() }),
    );
    const r = tclouds(['plan', join(own, 'tclouds.yaml'), '--target', 'aws', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { summary } = JSON.parse(r.stdout) as {
      summary: { resources: { type: string; name: string; op: string; changes?: unknown[]; restart?: string }[] };
    };
    const vms = summary.resources.filter((x) => x.type === 'aws:ec2/instance:Instance');
    expect(vms).toHaveLength(6);
    for (const vm of vms) {
      expect(vm.op, vm.name).toBe('update');
      expect(vm.restart).toContain('software changed');
      expect(vm.changes).toEqual([
        { field: 'software.sha256', before: old, after: expect.stringMatching(/^[0-9a-f]{64}$/) },
      ]);
    }
    expect(summary.resources.some((x) => x.op === 'replace')).toBe(false);
  });

  it('deploy without the pulumi CLI: TC350, exit 7, how to install it, no state written', () => {
    const r = tclouds(['deploy', file, '--target', 'aws', '--yes'], { TCLOUDS_PASSPHRASE: 'x' });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('TC350');
    expect(r.stderr).toContain('https://www.pulumi.com/docs/install/');
    // Checked first: no "deploying ..." progress that ends in "deploy failed" for a tool that was never there.
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/deploying|deploy failed/);
    expect(existsSync(join(dir, '.tclouds', 'state'))).toBe(false);
    expect(existsSync(join(dir, '.tclouds', 'demo', 'pulumi-passphrase'))).toBe(false);
  });

  it('plan (text) lists what needs quota under its own heading', () => {
    const r = tclouds(['plan', file, '--target', 'aws']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('needs quota');
    expect(r.stdout).toMatch(/aws eu-west-1 \(cloud [a-z0-9-]+\): \d+ Elastic IP addresses/);
  });

  it('destroy --keep-data and --delete-data exclude each other', () => {
    const r = tclouds(['destroy', file, '--target', 'aws', '--yes', '--keep-data', '--delete-data']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot also be provided|--delete-data/);
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
