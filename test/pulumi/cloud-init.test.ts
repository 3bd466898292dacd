/**
 * renderCloudInit: the user data of every provider carries where the software is and its checksums, and nothing
 * secret (no private key, no token, no spec); values the boot script would read as code are refused; the pinned
 * Node runtime is a well-formed official tarball reference.
 */
import { describe, expect, it } from 'vitest';
import type { TcError } from '../../kernel/errors.js';
import type { BootValues } from '../../stacks/pulumi/boot-refs.js';
import { cloudNodeSpec, renderCloudInit, SECRET_PATHS } from '../../stacks/pulumi/cloud-init.js';
import { ephemeralKeys } from '../../stacks/pulumi/keys.js';
import { AWS_USER_DATA_MAX_BYTES } from '../../stacks/pulumi/limits.js';
import {
  NODE_LINUX_ARM64_SHA256,
  NODE_LINUX_X64_SHA256,
  NODE_RUNTIME_VERSION,
  pinnedNodeRuntime,
} from '../../stacks/pulumi/node-runtime.js';
import { parseCloudInit, writtenFile } from './boot-support.js';
import { compileText, denseTopology } from './plans.js';

const PROVIDERS = [
  {
    provider: 'aws',
    region: 'eu-west-1',
    locator: 's3://demo-artifacts-x1/node/tclouds-0.1.0.tgz',
    ref: (n: string, k: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:tclouds/demo/${n}/${k}-AbCdEf`,
  },
  {
    provider: 'azure',
    region: 'westeurope',
    locator: 'https://demoartifacts.blob.core.windows.net/node/tclouds-0.1.0.tgz',
    ref: (n: string, k: string) => `https://demo-vault.vault.azure.net/secrets/${n}-${k}`,
  },
  {
    provider: 'gcp',
    region: 'europe-west1',
    locator: 'gs://demo-artifacts-x1/node/tclouds-0.1.0.tgz',
    ref: (n: string, k: string) => `projects/demo/secrets/${n}-${k}`,
  },
] as const;

const KINDS = [
  'spec',
  'node-key',
  'admin-token',
  'control-tls',
  'writer-key',
  'bucket-credentials',
  'software',
] as const;

describe('renderCloudInit', () => {
  for (const p of PROVIDERS) {
    it(`${p.provider}: the first boot's runtime and its checksum, the secret refs, no software and no secret`, async () => {
      const plan = await compileText(denseTopology(p.provider, p.region, 4));
      const node = plan.components.ledger!.nodes[0]!;
      const keys = ephemeralKeys(plan);
      const spec = cloudNodeSpec(plan, node, '10.0.0.5', () => '10.0.0.6', keys.publicKeys, keys.signingPublicKeys);
      const v: BootValues = {
        nodeId: node.id,
        provider: p.provider,
        region: p.region,
        nodeRuntime: pinnedNodeRuntime(),
        // Every kind, as a storage gateway has: the longest user data a node gets.
        secrets: KINDS.map((kind) => ({ kind, ref: p.ref(node.id, kind), path: SECRET_PATHS[kind] })),
      };
      const text = renderCloudInit(v);
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(AWS_USER_DATA_MAX_BYTES);
      // The software is the `software` secret's: a new build changes nothing here.
      expect(text).not.toContain(p.locator);
      expect(text).not.toMatch(/ARTIFACT|PACKAGE_SPEC/);
      expect(text).toContain(`NODE_SHA256=${NODE_LINUX_X64_SHA256}\n`);
      expect(text).toContain(
        `NODE_URL=https://nodejs.org/dist/${NODE_RUNTIME_VERSION}/node-${NODE_RUNTIME_VERSION}-linux-x64.tar.xz\n`,
      );
      // Nothing secret: no key (PEM or its base64), no admin token, no spec contents.
      expect(text).not.toContain('PRIVATE KEY');
      for (const pem of Object.values(keys.privatePem)) {
        expect(text).not.toContain(pem.split('\n')[1]!);
        expect(text).not.toContain(Buffer.from(pem).toString('base64').slice(0, 40));
      }
      for (const token of Object.values(keys.adminTokens)) {
        expect(text).not.toContain(token);
        expect(text).not.toContain(Buffer.from(token).toString('base64').slice(0, 40));
      }
      expect(text).not.toContain(spec.publicKey);
      expect(text).not.toContain('"peers"');
      const doc = parseCloudInit(text);
      const boot = JSON.parse(writtenFile(doc, '/etc/tclouds/boot.json'));
      expect(boot).toEqual({
        version: 1,
        nodeId: node.id,
        provider: p.provider,
        region: p.region,
        secrets: v.secrets,
        paths: { app: '/opt/tclouds/app', node: '/opt/tclouds/node', spec: SECRET_PATHS.spec },
      });
      expect(boot.endpoints).toBeUndefined();
      const unit = writtenFile(doc, '/etc/systemd/system/tclouds-node.service');
      // First, as root, the installer of the software record's version; then the secrets, as the node's user.
      expect(unit).toContain(
        'ExecStartPre=+/opt/tclouds/node/bin/node /usr/local/lib/tclouds-boot/fetch-artifact.js --boot /etc/tclouds/boot.json\n' +
          'ExecStartPre=/opt/tclouds/node/bin/node /opt/tclouds/app/bin/run.js node fetch-secrets --boot /etc/tclouds/boot.json\n',
      );
      expect(unit).toContain(
        `ExecStart=/opt/tclouds/node/bin/node /opt/tclouds/app/bin/run.js node run --spec ${SECRET_PATHS.spec}\n`,
      );
      expect(unit).toMatch(/^User=tclouds$/m);
      expect(unit).toMatch(/^RuntimeDirectoryMode=0700$/m);
      expect(doc.runcmd).toEqual([['sh', '/usr/local/lib/tclouds-boot/boot.sh']]);
      // No setup script piped to a shell, no registry install by default.
      expect(text).not.toMatch(/curl[^\n]*\|\s*(ba)?sh/);
    });
  }

  it('the runtime of the first boot for the VM architecture', () => {
    const text = renderCloudInit({
      nodeId: 'n-0',
      provider: 'gcp',
      nodeRuntime: pinnedNodeRuntime('arm64'),
      secrets: [],
    });
    expect(text).toContain(`NODE_SHA256=${NODE_LINUX_ARM64_SHA256}\n`);
  });

  it('refuses values the boot script would read as code, and malformed checksums (TC364)', () => {
    const ok: BootValues = {
      nodeId: 'n-0',
      provider: 'aws',
      region: 'eu-west-1',
      nodeRuntime: pinnedNodeRuntime(),
      secrets: [],
    };
    const bad: BootValues[] = [
      { ...ok, nodeId: 'n-0; reboot' },
      { ...ok, nodeRuntime: { ...ok.nodeRuntime, url: 'https://x/$(id)' } },
      { ...ok, nodeRuntime: { ...ok.nodeRuntime, sha256: 'AB'.repeat(32) } },
      { ...ok, nodeRuntime: { ...ok.nodeRuntime, sha256: 'abc' } },
      { ...ok, secrets: [{ kind: 'spec', ref: 'x y', path: '/run/tclouds/spec.json' }] },
    ];
    for (const v of bad) {
      try {
        renderCloudInit(v);
        expect.unreachable(JSON.stringify(v));
      } catch (e) {
        expect((e as TcError).code).toBe('TC364');
      }
    }
  });

  it('pins one Node LTS with 64-hex official checksums', () => {
    expect(NODE_RUNTIME_VERSION).toMatch(/^v(22|24)\.\d+\.\d+$/);
    for (const sha of [NODE_LINUX_X64_SHA256, NODE_LINUX_ARM64_SHA256]) expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(pinnedNodeRuntime().url).toMatch(
      /^https:\/\/nodejs\.org\/dist\/v\d+\.\d+\.\d+\/node-v[\d.]+-linux-x64\.tar\.xz$/,
    );
  });
});
