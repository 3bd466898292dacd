/**
 * The pure half of a cloud node's boot (stacks/pulumi/node-boot.ts): BootValues from refs, the secrets a node
 * fetches, a gateway's credential sources, and the notes `plan` prints. No Pulumi runtime involved.
 */
import { describe, expect, it } from 'vitest';
import { parseSoftwareRecord } from '../../runtime/cloud-boot/software.js';
import { storageAccountName } from '../../stacks/pulumi/names.js';
import {
  bootNotes,
  bootValuesOf,
  bucketCredentialsOf,
  foreignGateways,
  gatewayCredentialConfig,
  needsFederation,
  secretFilesOf,
  softwareRecordOf,
} from '../../stacks/pulumi/node-boot.js';
import { pinnedNodeRuntime } from '../../stacks/pulumi/node-runtime.js';
import { handPlan } from './plans.js';

const sha256 = 'ab'.repeat(32);
const secrets = [{ kind: 'spec' as const, ref: 'arn:aws:secretsmanager:x:1:secret:s', path: '/run/tclouds/spec.json' }];

/** A storage component over an AWS, an Azure and a GCP cloud, with one gateway in the AWS cloud. */
function gatewayPlan() {
  const plan = handPlan({
    clouds: {
      a: { provider: 'aws', region: 'eu-west-1' },
      z: { provider: 'azure', region: 'westeurope' },
      g: { provider: 'gcp', region: 'europe-west1' },
    },
    components: {
      vault: {
        kind: 'storage',
        role: 'gateway',
        nodes: [{ cloud: 'a', domain: 0 }],
        buckets: [
          { cloud: 'a', name: 'demo-vault-a' },
          { cloud: 'z', name: 'demo-vault-z' },
          { cloud: 'g', name: 'demo-vault-g' },
        ],
      },
    },
  });
  plan.components.vault!.nodes[0]!.config = { buckets: {}, clouds: ['a', 'z', 'g'], f: 0 };
  return plan;
}

function thrownCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('boot values', () => {
  it('the runtime of the first boot and the secret refs as given; no software (a new build changes none of it)', () => {
    const v = bootValuesOf('n-0', 'aws', pinnedNodeRuntime(), { region: 'eu-west-1', secrets });
    expect(v).toEqual({
      nodeId: 'n-0',
      provider: 'aws',
      region: 'eu-west-1',
      nodeRuntime: pinnedNodeRuntime(),
      secrets,
    });
  });

  it('the software record: the artifact locator and checksum, or the package; the runtime; never the local path', () => {
    const r = softwareRecordOf({ artifact: { path: '/tmp/x.tgz', sha256 } }, pinnedNodeRuntime(), 's3://b/t.tgz');
    expect(r).toEqual({ version: 1, artifact: { locator: 's3://b/t.tgz', sha256 }, nodeRuntime: pinnedNodeRuntime() });
    expect(JSON.stringify(r)).not.toContain('/tmp/x.tgz');
    // What the VM parses before every start.
    expect(parseSoftwareRecord(JSON.stringify(r))).toEqual(r);
    const p = softwareRecordOf({ packageSpec: 'tclouds@0.1.0' }, pinnedNodeRuntime(), undefined);
    expect(parseSoftwareRecord(JSON.stringify(p))).toEqual({
      version: 1,
      package: 'tclouds@0.1.0',
      nodeRuntime: pinnedNodeRuntime(),
    });
    expect(() => softwareRecordOf({ artifact: { path: 'x', sha256 } }, pinnedNodeRuntime(), undefined)).toThrow(
      /no locator/,
    );
    for (const bad of [
      { ...r, artifact: { locator: 's3://b/$(id)', sha256 } },
      { ...r, package: 'x@1' },
      { version: 2 },
    ]) {
      expect(thrownCode(() => parseSoftwareRecord(JSON.stringify(bad)))).toBe('TC371');
    }
  });
});

describe('gateway credentials', () => {
  it('secrets: spec, key, own token, control TLS; gateways also the writer key (where the gateway looks) and bucket credentials', () => {
    const plan = gatewayPlan();
    expect(secretFilesOf(plan, plan.components.vault!.nodes[0]!)).toEqual([
      { kind: 'spec', path: '/run/tclouds/spec.json' },
      { kind: 'node-key', path: '/run/tclouds/node.key' },
      { kind: 'admin-token', path: '/run/tclouds/admin.token' },
      { kind: 'control-tls', path: '/run/tclouds/control-tls.pem' },
      { kind: 'writer-key', path: '/run/tclouds/writer.key' },
      { kind: 'bucket-credentials', path: '/run/tclouds/bucket-credentials.json' },
      { kind: 'software', path: '/run/tclouds/software.json' },
    ]);
    const ledger = handPlan({
      clouds: { a: { provider: 'aws', region: 'eu-west-1' } },
      components: { ledger: { nodes: [{ cloud: 'a', domain: 0 }] } },
    });
    expect(secretFilesOf(ledger, ledger.components.ledger!.nodes[0]!)).toHaveLength(5);
  });

  it('own provider by identity, GCP by federation, others by file; the Azure account of each container', () => {
    const plan = gatewayPlan();
    expect(gatewayCredentialConfig(plan, 'vault', 'aws', 'k3x9q2')).toEqual({
      credentials: {
        a: { source: 'aws-instance-role' },
        z: { source: 'file', file: '/run/tclouds/bucket-credentials.json' },
        // No key: the VM's own AWS role, exchanged at Google's STS (the audience arrives in the bucket's record).
        g: { source: 'federated', identity: 'aws', file: '/run/tclouds/bucket-credentials.json' },
      },
      accounts: { z: storageAccountName('demo', 'z', 'demo-vault-z', 'k3x9q2') },
      // The names in the clouds: the stack's suffix on S3 and GCS, the container on Azure.
      buckets: { a: 'demo-vault-a-k3x9q2', z: 'demo-vault-z', g: 'demo-vault-g-k3x9q2' },
      // The writer key arrives as a secret in the unit's runtime directory, not next to the node key.
      writerKeyFile: '/run/tclouds/writer.key',
    });
    expect(gatewayCredentialConfig(plan, 'vault', 'azure', 'k3x9q2').credentials.z).toEqual({
      source: 'azure-managed-identity',
    });
    const azureRecord = { credentials: { sasToken: 'sv=x', container: 'demo-vault-z' } };
    const creds = bucketCredentialsOf(plan, 'vault', 'aws', { 'z/demo-vault-z': azureRecord });
    expect(creds).toEqual({
      version: 1,
      clouds: {
        a: { provider: 'aws', bucket: 'demo-vault-a', source: 'identity' },
        z: { provider: 'azure', bucket: 'demo-vault-z', source: 'credentials', credentials: azureRecord },
        g: { provider: 'gcp', bucket: 'demo-vault-g', source: 'missing' },
      },
    });
    const notes = bootNotes(plan, 'aws', 1, { artifact: { path: 'x', sha256 } }, { 'z/demo-vault-z': azureRecord });
    expect(notes[0]).toBe(
      `node software: this build, sha256 ${sha256}, readable only by the 1 node identities of this target`,
    );
    expect(notes.slice(1)).toEqual([
      'gateways of vault on aws reach g by workload identity federation only when the GCP clouds are deployed after them; `deploy --target clouds` realizes both in one pass',
    ]);
    // The GCP record of the bucket holds the audiences only (no key): the gateway's secret carries it.
    const gcpRecord = { credentials: { audiences: { aws: '//iam.googleapis.com/projects/1/x' } } };
    expect(bucketCredentialsOf(plan, 'vault', 'aws', { 'g/demo-vault-g': gcpRecord }).clouds.g).toEqual({
      provider: 'gcp',
      bucket: 'demo-vault-g',
      source: 'credentials',
      credentials: gcpRecord,
    });
  });

  it('the GCP deploy: foreign gateways with their recorded identity, a note for those not deployed yet', () => {
    const plan = gatewayPlan();
    const gw = plan.components.vault!.nodes.find((n) => plan.clouds[n.cloud]?.provider === 'aws')!;
    expect(needsFederation(plan, gw)).toBe(true);
    expect(foreignGateways(plan, 'gcp', {})).toEqual([{ nodeId: gw.id, component: 'vault', provider: 'aws' }]);
    const identity = { provider: 'aws' as const, accountId: '210987654321', roleName: 'r' };
    expect(foreignGateways(plan, 'gcp', { [gw.id]: identity })[0]!.identity).toEqual(identity);
    // An identity of another provider than the node's is ignored.
    const wrong = { provider: 'azure' as const, tenantId: 't', principalId: 'p' };
    expect(foreignGateways(plan, 'gcp', { [gw.id]: wrong })[0]!.identity).toBeUndefined();
    const notes = bootNotes(plan, 'gcp', 0, { artifact: { path: 'x', sha256 } }, {}, {});
    expect(notes.some((n) => n.startsWith(`gateway ${gw.id} on aws gets no access`))).toBe(true);
    expect(bootNotes(plan, 'gcp', 0, { artifact: { path: 'x', sha256 } }, {}, { [gw.id]: identity })).toHaveLength(1);
  });
});
