/**
 * `tclouds doctor` as a user runs it: the built CLI in a real process with a crafted HOME and environment
 * (credential files present or absent, a stand-in `pulumi` on PATH, a port of the topology held by a listener).
 * Nothing is contacted beyond this machine, and no secret value ever reaches the output.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../components/plan-types.js';
import { assignAddresses } from '../../stacks/local/addresses.js';
import { repo } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

const RUN = join(repo, 'bin', 'run.js');
const SECRET = 'wJalrXUtnFEMI-DO-NOT-PRINT-K7MDENG';

interface Report {
  target: string;
  ok: boolean;
  checks: { id: string; status: string; needed: boolean; message: string; fix?: string }[];
  counts: Record<string, number>;
}

/** The CLI with nothing of this machine's own credentials: HOME, PATH and cloud variables are the test's. */
function doctor(args: string[], opts: { home: string; env?: Record<string, string>; cwd?: string; path?: string }) {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(AWS_|AZURE_|ARM_|GOOGLE_|GCLOUD_|CLOUDSDK_|PULUMI_|TCLOUDS_)/.test(k)) continue;
    base[k] = v;
  }
  const r = spawnSync(process.execPath, [RUN, 'doctor', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd: opts.cwd ?? opts.home,
    env: { ...base, HOME: opts.home, PATH: opts.path ?? tempDir('tc-nopath-'), NO_COLOR: '1', ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function report(stdout: string): Report {
  expect(stdout.trim().split('\n')).toHaveLength(1); // one compact document
  return JSON.parse(stdout) as Report;
}

const check = (r: Report, id: string) => r.checks.find((c) => c.id === id)!;

/** A stand-in `pulumi` that answers `pulumi version` as the real one does. */
function fakePulumi(version: string): string {
  const dir = tempDir('tc-pulumi-');
  const file = join(dir, 'pulumi');
  writeFileSync(file, `#!/bin/sh\n[ "$1" = version ] && echo ${version}\n`);
  chmodSync(file, 0o755);
  return `${dir}:/usr/bin:/bin`;
}

function write(file: string, text: string) {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

describe('doctor --target aws', () => {
  it('empty home, no pulumi: fails on pulumi and credentials, exit 1, says what to do', () => {
    const home = tempDir('tc-home-');
    const r = doctor(['--target', 'aws', '--json'], { home });
    expect(r.code).toBe(1);
    const rep = report(r.stdout);
    expect(rep.ok).toBe(false);
    expect(check(rep, 'pulumi')).toMatchObject({ status: 'fail', needed: true });
    expect(check(rep, 'pulumi').fix).toContain('https://www.pulumi.com/docs/install/');
    expect(check(rep, 'aws.credentials')).toMatchObject({ status: 'fail', needed: true });
    expect(check(rep, 'aws.credentials').fix).toContain('aws configure');
    expect(check(rep, 'node').status).toBe('ok');
    expect(rep.checks.map((c) => c.id)).not.toContain('ports');
    expect(rep.checks.some((c) => c.id.startsWith('gcp.'))).toBe(false);
  });

  it('shared credentials file, region in config, pulumi 3: every line ok, exit 0, the secret never printed', () => {
    const home = tempDir('tc-home-');
    write(
      join(home, '.aws', 'credentials'),
      `[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = ${SECRET}\n`,
    );
    write(join(home, '.aws', 'config'), '[default]\nregion = eu-west-1\n');
    const r = doctor(['--target', 'aws', '--json'], { home, path: fakePulumi('v3.140.0') });
    expect(r.code, r.stdout).toBe(0);
    const rep = report(r.stdout);
    expect(check(rep, 'pulumi').message).toContain('pulumi 3.140.0');
    expect(check(rep, 'aws.credentials')).toMatchObject({ status: 'ok' });
    expect(check(rep, 'aws.credentials').message).toContain(join(home, '.aws', 'credentials'));
    expect(check(rep, 'aws.region').message).toContain('eu-west-1');
    expect(check(rep, 'state-backend').status).toBe('ok');
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).not.toContain('AKIAEXAMPLE');
    // The text form: one line per check, the same verdict.
    const text = doctor(['--target', 'aws'], { home, path: fakePulumi('v3.140.0') });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ok\s+aws\.credentials\s+profile "default" in /m);
    expect(`${text.stdout}${text.stderr}`).not.toContain(SECRET);
  });

  it('an SSO profile with an expired cached login fails with `aws sso login`', () => {
    const home = tempDir('tc-home-');
    write(join(home, '.aws', 'config'), '[profile work]\nsso_session = corp\nregion = us-east-1\n');
    write(
      join(home, '.aws', 'sso', 'cache', 'abc.json'),
      JSON.stringify({ accessToken: SECRET, expiresAt: '2020-01-01T00:00:00Z' }),
    );
    const r = doctor(['--target', 'aws', '--json'], { home, env: { AWS_PROFILE: 'work' } });
    const rep = report(r.stdout);
    expect(check(rep, 'aws.credentials')).toMatchObject({ status: 'fail' });
    expect(check(rep, 'aws.credentials').fix).toContain('aws sso login --profile work');
    expect(r.stdout).not.toContain(SECRET);
  });

  it('a bad --backend is a failed state-backend line', () => {
    const home = tempDir('tc-home-');
    const rep = report(doctor(['--target', 'aws', '--json', '--backend', 'https://api.pulumi.com'], { home }).stdout);
    expect(check(rep, 'state-backend')).toMatchObject({ status: 'fail' });
    expect(check(rep, 'state-backend').message).toContain('https://api.pulumi.com');
  });
});

describe('doctor --target gcp and azure', () => {
  it('gcp: a key file found through GOOGLE_APPLICATION_CREDENTIALS, project missing, then set', () => {
    const home = tempDir('tc-home-');
    const key = join(home, 'sa.json');
    write(key, JSON.stringify({ type: 'service_account', private_key: SECRET }));
    const env = { GOOGLE_APPLICATION_CREDENTIALS: key };
    const r = doctor(['--target', 'gcp', '--json'], { home, env, path: fakePulumi('3.150.0') });
    expect(r.code).toBe(1);
    const rep = report(r.stdout);
    expect(check(rep, 'gcp.credentials')).toMatchObject({ status: 'ok' });
    expect(check(rep, 'gcp.credentials').message).toContain(`service_account in ${key}`);
    expect(check(rep, 'gcp.project')).toMatchObject({ status: 'fail' });
    expect(r.stdout).not.toContain(SECRET);
    const ok = doctor(['--target', 'gcp', '--json'], {
      home,
      env: { ...env, GOOGLE_PROJECT: 'my-proj' },
      path: fakePulumi('3.150.0'),
    });
    expect(ok.code, ok.stdout).toBe(0);
  });

  it('gcp: gcloud application default credentials in the crafted home', () => {
    const home = tempDir('tc-home-');
    write(
      join(home, '.config', 'gcloud', 'application_default_credentials.json'),
      JSON.stringify({ type: 'authorized_user', refresh_token: SECRET }),
    );
    const rep = report(doctor(['--target', 'gcp', '--json'], { home, env: { GOOGLE_PROJECT: 'p' } }).stdout);
    expect(check(rep, 'gcp.credentials').message).toContain('application default credentials (authorized_user)');
  });

  it('azure: the az login cache and its default subscription; a half service principal fails', () => {
    const home = tempDir('tc-home-');
    write(join(home, '.azure', 'msal_token_cache.json'), JSON.stringify({ AccessToken: { x: { secret: SECRET } } }));
    write(
      join(home, '.azure', 'azureProfile.json'),
      `\uFEFF${JSON.stringify({ subscriptions: [{ id: 'sub-1', isDefault: true }] })}`,
    );
    const r = doctor(['--target', 'azure', '--json'], { home, path: fakePulumi('v3.140.0') });
    expect(r.code, r.stdout).toBe(0);
    const rep = report(r.stdout);
    expect(check(rep, 'azure.credentials').message).toContain('az login cache');
    expect(check(rep, 'azure.subscription').status).toBe('ok');
    expect(r.stdout).not.toContain(SECRET);
    const half = report(doctor(['--target', 'azure', '--json'], { home, env: { ARM_CLIENT_ID: 'x' } }).stdout);
    expect(check(half, 'azure.credentials')).toMatchObject({ status: 'fail' });
  });
});

describe('doctor for the local target', () => {
  let dir: string;
  let file: string;
  let plan: Plan;

  beforeAll(() => {
    dir = tempDir('tc-doctor-');
    file = join(dir, 'tclouds.yaml');
    const init = spawnSync(
      process.execPath,
      [RUN, 'init', '--mode', 'mediator', '--clouds', 'local', '--name', 'doctor-probe', '--file', file],
      { encoding: 'utf8' },
    );
    expect(init.status, init.stderr).toBe(0);
    const p = spawnSync(process.execPath, [RUN, 'plan', '-f', file, '--json'], { encoding: 'utf8' });
    plan = (JSON.parse(p.stdout) as { summary: { plan: Plan } }).summary.plan;
  });

  it('without a topology: the ports are skipped with a note, providers listed for information only', () => {
    const home = tempDir('tc-home-');
    const r = doctor(['--json'], { home });
    expect(r.code, r.stdout).toBe(0);
    const rep = report(r.stdout);
    expect(rep.target).toBe('local');
    expect(check(rep, 'ports')).toMatchObject({ status: 'skip' });
    expect(check(rep, 'ports').message).toContain('no topology');
    expect(check(rep, 'aws.credentials')).toMatchObject({ status: 'warn', needed: false });
    expect(check(rep, 'pulumi')).toMatchObject({ needed: false });
  });

  it('with TCLOUDS_FILE: every port free; then a listener on one of them fails the ports line, exit 1', async () => {
    const home = tempDir('tc-home-');
    const free = report(doctor(['--json'], { home, env: { TCLOUDS_FILE: file } }).stdout);
    expect(check(free, 'ports').status).toBe('ok');
    expect(check(free, 'loopback').status).toBe('ok');
    const node = Object.values(plan.components).flatMap((c) => c.nodes)[0]!;
    const host = assignAddresses(plan).get(node.id)!;
    // The listener is another process, as a user's stray server would be.
    const holder = spawn(
      process.execPath,
      ['-e', `require('net').createServer().listen(${node.controlPort}, '${host}', () => console.log('up'))`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
      const r = doctor(['-f', file, '--json'], { home });
      expect(r.code).toBe(1);
      const rep = report(r.stdout);
      expect(check(rep, 'ports')).toMatchObject({ status: 'fail', needed: true });
      expect(check(rep, 'ports').message).toContain(`${host}:${node.controlPort} (${node.id})`);
      const text = doctor(['-f', file], { home });
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^fail\s+ports\s+1 port\(s\) in use/m);
      expect(text.stderr).toContain('TC322');
    } finally {
      holder.kill();
    }
  });
});
