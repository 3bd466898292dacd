/**
 * The Azure side of the boot fetchers, in-process against the loopback stand-ins: the node software from Blob
 * storage and the secrets from Key Vault, each with a managed-identity token for its own resource; a refusal is
 * TC408 naming the role to grant, a tampered blob is TC417 and leaves no file.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcError } from '../../kernel/errors.js';
import { fetchArtifact } from '../../runtime/cloud-boot/artifact.js';
import { type BootFile, readBootFile } from '../../runtime/cloud-boot/boot-file.js';
import { fetchSecrets } from '../../runtime/cloud-boot/secrets.js';
import { tempDir } from '../support/tmp.js';
import { type StandIns, sha256, startStandIns } from './boot-support.js';

let stand: StandIns;
let dir: string;
const artifact = Buffer.from('a stand-in for the packed node software');

beforeAll(async () => {
  stand = await startStandIns();
  dir = tempDir('tc-azure-boot-');
  stand.objects.set('demoartifacts/node/tclouds.tgz', artifact);
  stand.objects.set('demoartifacts/node/tampered.tgz', Buffer.concat([artifact, Buffer.from('!')]));
  stand.secrets.set('n0-spec', '{"id":"n0"}');
  stand.secrets.set('n0-admin-token', 'f'.repeat(64));
});

afterAll(async () => {
  await stand?.close();
});

const wanted = (blob: string) => ({
  locator: `https://demoartifacts.blob.core.windows.net/node/${blob}`,
  sha256: sha256(artifact),
});

function bootFile(): BootFile {
  const file = join(dir, 'boot.json');
  const boot: BootFile = {
    version: 1,
    nodeId: 'n0',
    provider: 'azure',
    secrets: ['spec', 'admin-token'].map((kind) => ({
      kind,
      ref: `https://demo-vault.vault.azure.net/secrets/n0-${kind}`,
      path: join(dir, 'run', `${kind}.secret`),
    })),
    paths: { app: join(dir, 'app'), node: join(dir, 'node'), spec: join(dir, 'run', 'spec.secret') },
    endpoints: stand.endpoints,
  };
  writeFileSync(file, JSON.stringify(boot));
  return readBootFile(file);
}

describe('Azure boot fetchers', () => {
  it('downloads the blob with a storage token and checks it; reads Key Vault with a vault token into 0600 files', async () => {
    const out = join(dir, 'cache', 'tclouds.tgz');
    const boot = bootFile();
    expect(await fetchArtifact(boot, wanted('tclouds.tgz'), out)).toEqual({
      bytes: artifact.length,
      sha256: sha256(artifact),
    });
    expect(readFileSync(out)).toEqual(artifact);
    const written = await fetchSecrets(boot);
    expect(written.map((w) => w.kind)).toEqual(['spec', 'admin-token']);
    expect(readFileSync(join(dir, 'run', 'spec.secret'), 'utf8')).toBe('{"id":"n0"}');
    expect(statSync(join(dir, 'run', 'admin-token.secret')).mode & 0o777).toBe(0o600);
  });

  it('a tampered blob is TC417 and leaves no file; a refused secret is TC408 naming the role', async () => {
    const out = join(dir, 'cache', 'tampered.tgz');
    const e1 = (await fetchArtifact(bootFile(), wanted('tampered.tgz'), out).catch((e) => e)) as TcError;
    expect(e1.code).toBe('TC417');
    expect(existsSync(out)).toBe(false);
    stand.denied.add('n0-admin-token');
    const e2 = (await fetchSecrets(bootFile()).catch((e) => e)) as TcError;
    stand.denied.delete('n0-admin-token');
    expect(e2.code).toBe('TC408');
    expect(e2.message).toBe(
      'azure: cannot read the admin-token secret https://demo-vault.vault.azure.net/secrets/n0-admin-token: refused (HTTP 403)',
    );
    expect(e2.hint).toContain('Key Vault Secrets User');
  });
});
