/**
 * Pulumi state without an account: the backend and passphrase choices (stacks/pulumi/backend.ts) and the workspace
 * options the engine gives the Automation API (stacks/pulumi/engine.ts), as pure functions; the passphrase file on
 * a real directory.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalRealizer } from '../../stacks/local/index.js';
import { backendNotice, ensureStackPassphrase, resolveBackend, resolveSecrets } from '../../stacks/pulumi/backend.js';
import { workspaceOptions } from '../../stacks/pulumi/engine.js';
import { rejectedTcError } from '../support/tc-error.js';
import { tempDir } from '../support/tmp.js';

const stackDir = '/home/me/app/.tclouds/demo';

describe('state backend', () => {
  it('defaults to a file backend in the stack directory', () => {
    expect(resolveBackend(stackDir, undefined, {})).toEqual({
      url: 'file:///home/me/app/.tclouds/demo/pulumi-state',
      kind: 'file',
      source: 'default',
      dir: '/home/me/app/.tclouds/demo/pulumi-state',
    });
  });

  it('takes --backend over TCLOUDS_PULUMI_BACKEND over the default', () => {
    const env = { TCLOUDS_PULUMI_BACKEND: 'gs://team-state' };
    expect(resolveBackend(stackDir, 's3://team-bucket/tclouds', env)).toMatchObject({
      url: 's3://team-bucket/tclouds',
      kind: 's3',
      source: 'flag',
    });
    expect(resolveBackend(stackDir, undefined, env)).toMatchObject({ kind: 'gs', source: 'TCLOUDS_PULUMI_BACKEND' });
    expect(resolveBackend(stackDir, undefined, { TCLOUDS_BACKEND: 'azblob://state' })).toMatchObject({
      kind: 'azblob',
      source: 'TCLOUDS_BACKEND',
    });
    expect(resolveBackend(stackDir, 'file:///srv/state', {})).toMatchObject({ kind: 'file', dir: '/srv/state' });
  });

  it.each(['https://api.pulumi.com', 'pulumi://x', 'S3://upper', 's3://', '/just/a/path', 'bucket'])(
    'refuses %s with TC320 (exit 2) naming the accepted forms',
    async (url) => {
      const err = await rejectedTcError(Promise.resolve().then(() => resolveBackend(stackDir, url, {})));
      expect([err.code, err.exit]).toEqual(['TC320', 2]);
      expect(err.message).toContain(url);
      expect(err.hint).toMatch(/s3:\/\/.*azblob:\/\/.*gs:\/\/.*file:\/\//);
    },
  );

  it('names the environment variable a bad value came from', async () => {
    const err = await rejectedTcError(
      Promise.resolve().then(() => resolveBackend(stackDir, undefined, { TCLOUDS_PULUMI_BACKEND: 'ftp://x' })),
    );
    expect(err.message).toContain('TCLOUDS_PULUMI_BACKEND');
  });
});

describe('secrets passphrase', () => {
  it('PULUMI_CONFIG_PASSPHRASE, then PULUMI_CONFIG_PASSPHRASE_FILE, then TCLOUDS_PASSPHRASE, then the stack file', () => {
    const all = {
      PULUMI_CONFIG_PASSPHRASE: 'p1',
      PULUMI_CONFIG_PASSPHRASE_FILE: '/run/secrets/pass',
      TCLOUDS_PASSPHRASE: 'p3',
    };
    expect(resolveSecrets(stackDir, all)).toEqual({ source: 'PULUMI_CONFIG_PASSPHRASE', passphrase: 'p1' });
    const { PULUMI_CONFIG_PASSPHRASE: _, ...noPass } = all;
    expect(resolveSecrets(stackDir, noPass)).toEqual({
      source: 'PULUMI_CONFIG_PASSPHRASE_FILE',
      file: '/run/secrets/pass',
    });
    expect(resolveSecrets(stackDir, { TCLOUDS_PASSPHRASE: 'p3' })).toEqual({
      source: 'TCLOUDS_PASSPHRASE',
      passphrase: 'p3',
    });
    expect(resolveSecrets(stackDir, {})).toEqual({ source: 'stack-file', file: join(stackDir, 'pulumi-passphrase') });
  });

  it('the stack file is generated once, 0600, and kept', async () => {
    const dir = join(tempDir('tc-pass-'), '.tclouds', 'demo');
    const choice = resolveSecrets(dir, {});
    await ensureStackPassphrase(choice);
    const file = join(dir, 'pulumi-passphrase');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const first = readFileSync(file, 'utf8');
    await Promise.all([ensureStackPassphrase(choice), ensureStackPassphrase(choice)]);
    expect(readFileSync(file, 'utf8')).toBe(first);
  });

  it('a named passphrase file that cannot be read is TC321 (exit 4), never created', async () => {
    const missing = join(tempDir('tc-pass-'), 'nope');
    const err = await rejectedTcError(
      ensureStackPassphrase(resolveSecrets(stackDir, { PULUMI_CONFIG_PASSPHRASE_FILE: missing })),
    );
    expect([err.code, err.exit]).toEqual(['TC321', 4]);
  });

  it('the notice says where state and passphrase are, never the passphrase', () => {
    const text = backendNotice(resolveBackend(stackDir, undefined, {}), {
      source: 'TCLOUDS_PASSPHRASE',
      passphrase: 'hunter2',
    });
    expect(text).toContain('file backend in /home/me/app/.tclouds/demo/pulumi-state');
    expect(text).toContain('TCLOUDS_PASSPHRASE');
    expect(text).not.toContain('hunter2');
  });
});

describe('workspace options of the Automation API', () => {
  const ref = { projectName: 'tclouds', stackName: 'demo-aws', backendUrl: 'file:///s/pulumi-state' };

  it('a passphrase file goes as PULUMI_CONFIG_PASSPHRASE_FILE, the backend in project settings and env', () => {
    const o = workspaceOptions({ ...ref, passphraseFile: '/s/pulumi-passphrase' });
    expect(o.secretsProvider).toBe('passphrase');
    expect(o.projectSettings).toEqual({
      name: 'tclouds',
      runtime: 'nodejs',
      backend: { url: 'file:///s/pulumi-state' },
    });
    expect(o.envVars).toEqual({
      PULUMI_CONFIG_PASSPHRASE_FILE: '/s/pulumi-passphrase',
      PULUMI_BACKEND_URL: 'file:///s/pulumi-state',
      PULUMI_SKIP_UPDATE_CHECK: '1',
      PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: '1',
    });
  });

  it('a passphrase from the environment goes as PULUMI_CONFIG_PASSPHRASE', () => {
    const o = workspaceOptions({ ...ref, backendUrl: 's3://team', passphrase: 'p' });
    expect(o.envVars.PULUMI_CONFIG_PASSPHRASE).toBe('p');
    expect(o.envVars).not.toHaveProperty('PULUMI_CONFIG_PASSPHRASE_FILE');
    expect(o.projectSettings.backend.url).toBe('s3://team');
  });
});

describe('the stack directory is shared with the local target', () => {
  it('a local destroy removes its own files and leaves the Pulumi state and passphrase', async () => {
    const dir = join(tempDir('tc-shared-'), '.tclouds', 'demo');
    mkdirSync(join(dir, 'pulumi-state', '.pulumi'), { recursive: true });
    writeFileSync(join(dir, 'pulumi-state', '.pulumi', 'meta.yaml'), 'version: 1\n');
    await ensureStackPassphrase(resolveSecrets(dir, {}));
    writeFileSync(join(dir, 'left-over.json'), '{}');
    await createLocalRealizer().destroy({
      topologyFile: join(dir, '..', '..', 'tclouds.yaml'),
      stackDir: dir,
      signal: new AbortController().signal,
      onEvent: () => {},
      keepData: false,
    });
    expect(readdirSync(dir).sort()).toEqual(['pulumi-passphrase', 'pulumi-state']);
  });
});
