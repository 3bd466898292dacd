/**
 * The rendered cloud-init of a real plan node, run as a program: its files written under a throwaway root, its
 * boot script run unprivileged with that root, the object store, instance metadata and secret store stood in for
 * on loopback, and `systemctl` by a script that runs the unit (restarting it as systemd does). The node must start
 * from the installed files (the real packed artifact, unpacked) and answer GET /health with the spec the stand-in
 * secret store held; a new build in its software secret must be installed at its next restart beside the old one,
 * and one whose checksum is wrong refused with the old one still in use.
 *
 * The Node runtime served is a tarball holding a link to the Node running this test, with its own checksum: the
 * pinned official tarball cannot be downloaded here (its constant is checked in cloud-init.test.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlannedNode } from '../../components/plan-types.js';
import type { Installed } from '../../runtime/cloud-boot/software.js';
import { type ControlEndpoint, controlRequest } from '../../runtime/control-client.js';
import { controlTlsFileText } from '../../runtime/control-tls.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import { packArtifact } from '../../stacks/pulumi/artifact.js';
import type { BootValues, NodeSecretRef, SoftwareRecord } from '../../stacks/pulumi/boot-refs.js';
import { cloudNodeSpec, renderCloudInit, SECRET_PATHS } from '../../stacks/pulumi/cloud-init.js';
import { ephemeralKeys } from '../../stacks/pulumi/keys.js';
import { freePort } from '../smr/cluster.js';
import { tempDir } from '../support/tmp.js';
import {
  type CloudInitDoc,
  parseCloudInit,
  type Ran,
  runBoot,
  type StandIns,
  sha256,
  standInBin,
  startStandIns,
  writeFiles,
} from './boot-support.js';
import { compileText, denseTopology, ROOT } from './plans.js';

const SOURCES_NEWER_THAN_DIST = [
  'runtime/cloud-boot/secrets.ts',
  'commands/node/fetch-secrets.ts',
  'runtime/cloud-boot/artifact.ts',
];

/** The artifact is packed from dist/: build it when it is missing or older than the boot code. */
function ensureBuilt(): void {
  const stale = SOURCES_NEWER_THAN_DIST.some((src) => {
    const out = join(ROOT, 'dist', src.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, src)).mtimeMs;
  });
  if (!stale) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
}

let stand: StandIns;
let work: string;
let bin: string;
const artifact = { sha256: '', bytes: 0 };
/** Build B: the same package with one more file, so another SHA-256 (a new build of the deploy). */
const buildB = { sha256: '' };
const nodeRuntime = { version: process.version, url: '', sha256: '' };
/** Roots of the booted VMs: their unit loops and nodes are stopped after the tests. */
const roots: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  work = tempDir('tc-boot-');
  bin = standInBin(join(work, 'bin'));
  stand = await startStandIns();
  const packed = await packArtifact({ outDir: join(work, 'artifact') });
  Object.assign(artifact, { sha256: packed.sha256, bytes: packed.bytes });
  const data = readFileSync(packed.path);
  stand.objects.set('tclouds-demo-artifacts/node/tclouds.tgz', data);
  stand.objects.set('tclouds-demo-gcp/node/tclouds.tgz', data);
  stand.objects.set('tclouds-demo-artifacts/node/tampered.tgz', Buffer.concat([data, Buffer.from('x')]));
  const b = buildWithMarker(packed.path, join(work, 'build-b'));
  buildB.sha256 = sha256(b);
  stand.objects.set('tclouds-demo-artifacts/node/b.tgz', b);
  // A Node "release" tarball: node-vX-linux-x64/bin/node, a link to the Node running this test.
  const rel = join(work, 'node-release', `node-${process.version}-linux-x64`, 'bin');
  mkdirSync(rel, { recursive: true });
  symlinkSync(process.execPath, join(rel, 'node'));
  const tarball = join(work, 'node.tar.gz');
  const t = spawnSync('tar', ['-czf', tarball, '-C', join(work, 'node-release'), `node-${process.version}-linux-x64`]);
  expect(t.status).toBe(0);
  const nodeTar = readFileSync(tarball);
  stand.objects.set('files/node.tar.gz', nodeTar);
  Object.assign(nodeRuntime, { url: `${stand.base}/files/node.tar.gz`, sha256: sha256(nodeTar) });
}, 600_000);

/** The packed artifact with a file `BUILD-B` added at its top, packed again. */
function buildWithMarker(tgz: string, dir: string): Buffer {
  mkdirSync(dir, { recursive: true });
  expect(spawnSync('tar', ['-xzf', tgz, '-C', dir]).status).toBe(0);
  const top = readdirSync(dir)[0]!;
  writeFileSync(join(dir, top, 'BUILD-B'), 'b\n');
  const out = join(dir, '..', 'b.tgz');
  expect(spawnSync('tar', ['-czf', out, '-C', dir, top]).status).toBe(0);
  return readFileSync(out);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const STOP_WAIT_MS = 20_000;

const pidIn = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0);

/** Stops the unit loops, then the started nodes (SIGTERM, their clean stop), and waits until they are gone. */
afterAll(async () => {
  for (const root of roots) {
    const loop = pidIn(join(root, 'run/tclouds-unit.pid'));
    if (loop && alive(loop)) process.kill(loop, 'SIGTERM');
  }
  const running = roots.map((root) => pidIn(join(root, 'run/tclouds-node.pid'))).filter((p) => p > 0);
  for (const pid of running) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_WAIT_MS;
  while (running.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await stand?.close();
});

interface Booted {
  root: string;
  spec: NodeSpec;
  doc: CloudInitDoc;
  ran: Ran;
  token: string;
  /** The node's control port, with the certificate the operator's machine pins. */
  control: ControlEndpoint;
  /** The node's secret refs in the stand-in store (the `software` one last). */
  refs: NodeSecretRef[];
  softwareRef: string;
}

/** Boots so far: each VM gets its own secret store entries (every boot is of the same plan node). */
let boots = 0;

/** Secret refs of a node in the provider's form, at their paths on the VM; `vm` tells the boots apart. */
function refsOf(provider: 'aws' | 'gcp', nodeId: string, vm: number): NodeSecretRef[] {
  const kinds = ['spec', 'node-key', 'admin-token', 'control-tls', 'software'] as const;
  return kinds.map((kind) => ({
    kind,
    ref:
      provider === 'aws'
        ? `arn:aws:secretsmanager:eu-west-1:123456789012:secret:tclouds/demo${vm}/${nodeId}/${kind}-AbCdEf`
        : `projects/demo-project/secrets/tclouds-demo${vm}-${nodeId}-${kind}`,
    path: SECRET_PATHS[kind],
  }));
}

/** Renders, stocks the stand-in secret store, writes the files under a fresh root and runs the boot script. */
async function boot(provider: 'aws' | 'gcp', opts: { object?: string; nodeSha?: string } = {}): Promise<Booted> {
  const region = provider === 'aws' ? 'eu-west-1' : 'europe-west1';
  const plan = await compileText(denseTopology(provider, region, 4));
  const node: PlannedNode = plan.components.ledger!.nodes[0]!;
  const keys = ephemeralKeys(plan);
  const root = tempDir(`tc-boot-${provider}-`);
  const tls = keys.controlTls[node.id]!;
  const base = cloudNodeSpec(
    plan,
    node,
    '127.0.0.1',
    () => '127.0.0.1',
    keys.publicKeys,
    keys.signingPublicKeys,
    tls.sha256,
  );
  const spec: NodeSpec = {
    ...base,
    ports: { peer: await freePort('127.0.0.1'), client: await freePort('127.0.0.1') },
    controlPort: await freePort('127.0.0.1'),
    keyFile: join(root, SECRET_PATHS['node-key']),
    adminTokenFile: join(root, SECRET_PATHS['admin-token']),
    controlTls: { file: join(root, SECRET_PATHS['control-tls']), sha256: tls.sha256 },
    dataDir: join(root, 'var/lib/tclouds/data'),
  };
  const secrets = refsOf(provider, node.id, ++boots);
  const bucket = provider === 'aws' ? 'tclouds-demo-artifacts' : 'tclouds-demo-gcp';
  const scheme = provider === 'aws' ? 's3' : 'gs';
  const software = record(`${scheme}://${bucket}/node/${opts.object ?? 'tclouds.tgz'}`, artifact.sha256);
  const values = [
    JSON.stringify(spec, null, 2),
    keys.privatePem[node.id]!,
    keys.adminTokens[node.id]!,
    controlTlsFileText(tls),
    software,
  ];
  for (const [i, s] of secrets.entries()) stand.secrets.set(s.ref, values[i]!);
  const v: BootValues = {
    nodeId: node.id,
    provider,
    ...(provider === 'aws' ? { region } : {}),
    nodeRuntime: { ...nodeRuntime, sha256: opts.nodeSha ?? nodeRuntime.sha256 },
    secrets,
  };
  const doc = parseCloudInit(renderCloudInit(v));
  // boot.json gets the stand-in endpoints (a field only tests write) and the VM's paths under the root.
  writeFiles(doc, root, (path, text) => {
    if (path !== '/etc/tclouds/boot.json') return text;
    const b = JSON.parse(text.toString()) as {
      secrets: { path: string }[];
      paths: Record<string, string>;
      endpoints?: unknown;
    };
    for (const s of b.secrets) s.path = join(root, s.path);
    for (const k of Object.keys(b.paths)) b.paths[k] = join(root, b.paths[k]!);
    b.endpoints = stand.endpoints;
    return Buffer.from(JSON.stringify(b));
  });
  roots.push(root);
  const ran = await runBoot(doc, root, bin);
  const control = {
    id: spec.id,
    host: spec.host,
    controlPort: spec.controlPort,
    tls: { cert: tls.certPem, sha256: tls.sha256 },
  };
  const token = keys.adminTokens[node.id]!;
  return { root, spec, doc, ran, token, control, refs: secrets, softwareRef: secrets.at(-1)!.ref };
}

/** The text of a `software` secret, as a deploy writes it: an artifact of the stand-in store and the runtime. */
function record(locator: string, sha: string): string {
  const r: SoftwareRecord = { version: 1, artifact: { locator, sha256: sha }, nodeRuntime: { ...nodeRuntime } };
  return `${JSON.stringify(r)}\n`;
}

/** POST /admin/restart, as a rolling deploy asks a node (rollout.ts): it stops and exits for its unit to restart. */
async function askRestart(b: Booted): Promise<void> {
  const r = await controlRequest(b.control, '/admin/restart', { token: b.token, body: {}, timeoutMs: 10_000 });
  expect(r.status).toBe(202);
}

/** GET /health over TLS, pinned to the node's certificate, until a process other than `oldPid` answers healthy. */
async function waitNewProcess(b: Booted, oldPid: unknown, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await controlRequest(b.control, '/health', { method: 'GET', timeoutMs: 2000 }).catch(() => undefined);
    const h = r?.status === 200 ? (JSON.parse(r.body) as Record<string, unknown>) : undefined;
    if (h?.status === 'ok' && h.pid !== oldPid) return h;
    if (Date.now() > deadline) throw new Error(`${b.spec.id} did not come back: ${unitLog(b)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The node healthy, whichever process it is. */
const waitHealthy = (b: Booted) => waitNewProcess(b, undefined);

async function waitLog(b: Booted, text: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!unitLog(b).includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in the unit's log: ${unitLog(b)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const unitLog = (b: Booted) => {
  const f = join(b.root, 'var/log/tclouds-node.log');
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
};
const appDir = (b: Booted) => realpathSync(join(b.root, 'opt/tclouds/app'));
const versionDir = (b: Booted, sha: string) => realpathSync(join(b.root, 'opt/tclouds/versions', `sha256-${sha}`));
const installed = (b: Booted) =>
  JSON.parse(readFileSync(join(b.root, 'opt/tclouds/installed.json'), 'utf8')) as Installed;

/** `tclouds node fetch-secrets` of the installed app (async: the stand-ins answer from this process). */
async function fetchSecretsCli(b: Booted): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_ENV;
  const p = spawn(
    join(b.root, 'opt/tclouds/node/bin/node'),
    [
      join(b.root, 'opt/tclouds/app/bin/run.js'),
      'node',
      'fetch-secrets',
      '--boot',
      join(b.root, 'etc/tclouds/boot.json'),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
  return { code, stdout, stderr };
}

describe('the rendered boot script, run as a program', () => {
  let aws: Booted;

  it('AWS: installs Node and the artifact, fetches the secrets with the instance role, the node answers /health', async () => {
    aws = await boot('aws');
    expect(aws.ran.code, aws.ran.stderr).toBe(0);
    expect(aws.ran.stderr).toContain(`node ${aws.spec.id} started`);
    const health = await waitHealthy(aws);
    expect(health).toMatchObject({ id: aws.spec.id, status: 'ok' });
    // Installed from the artifact, started by the unit's ExecStart.
    expect(readFileSync(join(aws.root, 'systemctl.log'), 'utf8')).toBe(
      'daemon-reload\nenable --now tclouds-node.service\n',
    );
    expect(existsSync(join(aws.root, 'opt/tclouds/app/dist/commands/node/run.js'))).toBe(true);
    // A versioned directory behind a link: the one the software secret names.
    expect(appDir(aws)).toBe(versionDir(aws, artifact.sha256));
    expect(installed(aws).current.what).toBe(artifact.sha256);
    for (const kind of ['spec', 'node-key', 'admin-token', 'control-tls'] as const) {
      expect(statSync(join(aws.root, SECRET_PATHS[kind])).mode & 0o777).toBe(0o600);
    }
    expect(JSON.parse(readFileSync(join(aws.root, SECRET_PATHS.spec), 'utf8'))).toEqual(aws.spec);
    // The artifact came from S3 and the secrets from Secrets Manager, signed with the role the IMDS issued.
    expect(stand.seen).toContain('GET /s3/tclouds-demo-artifacts/node/tclouds.tgz');
    expect(stand.seen).toContain('POST /sm/');
  });

  it('AWS: a refused secret stops the start with TC408 and names the permission to grant', async () => {
    expect(aws).toBeDefined();
    const ref = aws.refs[1]!.ref;
    stand.denied.add(ref);
    const r = await fetchSecretsCli(aws);
    stand.denied.delete(ref);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`TC408 aws: cannot read the node-key secret ${ref}: refused`);
    expect(r.stderr).toContain(`secretsmanager:GetSecretValue on ${ref}`);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('GCP: the same boot with the metadata server token, GCS and Secret Manager', async () => {
    const gcp = await boot('gcp');
    expect(gcp.ran.code, gcp.ran.stderr).toBe(0);
    expect(await waitHealthy(gcp)).toMatchObject({ id: gcp.spec.id, status: 'ok' });
    expect(stand.seen).toContain('GET /gcs/storage/v1/b/tclouds-demo-gcp/o/node%2Ftclouds.tgz');
    const ref = gcp.refs[0]!.ref;
    stand.denied.add(ref);
    const r = await fetchSecretsCli(gcp);
    stand.denied.delete(ref);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`TC408 gcp: cannot read the spec secret ${ref}: refused (HTTP 403)`);
    expect(r.stderr).toContain(`roles/secretmanager.secretAccessor on ${ref}`);
  });

  it('an artifact whose SHA-256 differs stops the boot: nothing installed, no node started', async () => {
    const b = await boot('aws', { object: 'tampered.tgz' });
    expect(b.ran.code).toBe(1);
    expect(b.ran.stderr).toMatch(
      /error TC417 aws: the node software s3:\/\/\S+\/tampered\.tgz has SHA-256 [0-9a-f]{64}, its software record expects/,
    );
    expect(b.ran.stderr).toContain('the node was not started');
    expect(existsSync(join(b.root, 'opt/tclouds/app'))).toBe(false);
    expect(readdirSync(join(b.root, 'opt/tclouds/versions'))).toEqual([]);
    expect(readdirSync(join(b.root, 'opt/tclouds/downloads'))).toEqual([]);
    expect(existsSync(join(b.root, 'systemctl.log'))).toBe(false);
  });

  it('a Node tarball whose SHA-256 is not the pinned one is refused before anything of it runs', async () => {
    const b = await boot('aws', { nodeSha: 'f'.repeat(64) });
    expect(b.ran.code).toBe(1);
    expect(b.ran.stderr).toContain(`the pinned one is ${'f'.repeat(64)}: refusing to install it`);
    expect(existsSync(join(b.root, 'opt/tclouds/node'))).toBe(false);
    expect(existsSync(join(b.root, 'systemctl.log'))).toBe(false);
  });

  it('a new build is installed at the next restart beside the old one; a wrong checksum is refused, A starts again', async () => {
    expect(aws).toBeDefined();
    const a = artifact.sha256;
    const first = await waitHealthy(aws);
    // A build whose object does not have the SHA-256 its record names (a tampered or swapped object).
    const wrong = 'c'.repeat(64);
    stand.secrets.set(aws.softwareRef, record('s3://tclouds-demo-artifacts/node/b.tgz', wrong));
    await askRestart(aws);
    await waitLog(aws, 'error TC417 aws: the node software s3://tclouds-demo-artifacts/node/b.tgz has SHA-256');
    expect(unitLog(aws)).toContain(`its software record expects ${wrong}: refusing to install it`);
    // Nothing of it on disk, A still the version in use.
    expect(appDir(aws)).toBe(versionDir(aws, a));
    expect(readdirSync(join(aws.root, 'opt/tclouds/versions'))).toEqual([`sha256-${a}`]);
    expect(installed(aws).current.what).toBe(a);
    // Rolled back (the record of A again, as a deploy of A writes it): the node starts A, downloading nothing.
    const seenBefore = stand.seen.filter((x) => x.endsWith('/tclouds.tgz')).length;
    stand.secrets.set(aws.softwareRef, record('s3://tclouds-demo-artifacts/node/tclouds.tgz', a));
    const back = await waitNewProcess(aws, first.pid);
    expect(stand.seen.filter((x) => x.endsWith('/tclouds.tgz')).length).toBe(seenBefore);
    // Build B: installed at the next restart into its own directory, the link switched, A kept for a rollback.
    stand.secrets.set(aws.softwareRef, record('s3://tclouds-demo-artifacts/node/b.tgz', buildB.sha256));
    await askRestart(aws);
    const onB = await waitNewProcess(aws, back.pid);
    expect(onB).toMatchObject({ id: aws.spec.id, status: 'ok' });
    expect(appDir(aws)).toBe(versionDir(aws, buildB.sha256));
    expect(existsSync(join(aws.root, 'opt/tclouds/app/BUILD-B'))).toBe(true);
    expect(existsSync(join(versionDir(aws, a), 'bin/run.js'))).toBe(true);
    expect(installed(aws)).toMatchObject({ current: { what: buildB.sha256 }, previous: { what: a } });
    expect(unitLog(aws)).toContain('installed sha256-');
    expect(stand.seen).toContain('GET /s3/tclouds-demo-artifacts/node/b.tgz');
  }, 400_000);
});
