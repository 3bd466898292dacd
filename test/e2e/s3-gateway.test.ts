/**
 * Real S3 clients against a local mediator deployment, while one of the four clouds is down: the AWS SDK for
 * JavaScript (client-s3, lib-storage for multipart), the AWS CLI and rclone (each skipped with a message when not
 * installed; `.ci/run` installs rclone) each upload, list, download and delete a 0-byte, a 1 MiB and a 200 MiB
 * object. The 200 MiB object is a file on disk, streamed up and down (the test never holds it in memory) and
 * compared by SHA-256. Access keys come from `tclouds storage credentials`; `storage put|get|ls|rm --via-gateway`
 * go through the same gateways.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf } from '../storage/s3-support.js';
import { TEST_STACKS } from '../support/stacks.js';
import { built, type Run, tc, tcJson, tempDir } from './helpers.js';

const STACK = TEST_STACKS.s3Gateway;
/**
 * The large object: multipart with every client (the CLI splits at 8 MiB, lib-storage and rclone at 5).
 * 200 MiB on the machine's Node; `.ci/run` lowers it (S3_LARGE_OBJECT_MIB) on the other Node majors, where the
 * test checks the runtime, not the clients, and the whole run must stay well under 30 minutes.
 */
const LARGE_MIB = Number(process.env.S3_LARGE_OBJECT_MIB ?? 200);
const LARGE = `${Number.isInteger(LARGE_MIB) && LARGE_MIB > 8 ? LARGE_MIB : 200} MiB`;
const LARGE_BYTES = Number.parseInt(LARGE, 10) << 20;
const SIZES = { zero: 0, one: 1 << 20, large: LARGE_BYTES } as const;
/** Chunk in which the large file is generated on disk. */
const CHUNK_BYTES = 1 << 20;

const parts = built();
const ready = parts.deploy && parts.nodeHost && parts.storage;
if (!ready) console.warn(`[e2e s3 gateway] skipped: built parts ${JSON.stringify(parts)} (run npm run build)`);
const awsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
if (!awsCli) console.warn('[e2e s3 gateway] AWS CLI tests skipped: `aws` is not installed (pip install awscli)');
const rclone = spawnSync('rclone', ['version'], { encoding: 'utf8' }).status === 0;
if (!rclone) console.warn('[e2e s3 gateway] rclone tests skipped: `rclone` is not installed (apt-get install rclone)');

const TOPOLOGY = `name: ${STACK}
mode: mediator
clouds:
  local-1: { provider: local }
  local-2: { provider: local }
  local-3: { provider: local }
  local-4: { provider: local }
components:
  vault:
    kind: storage
    protocol: depsky-ca
    f: 1
    clouds: [local-1, local-2, local-3, local-4]
    gateways: 2
`;

let dir: string;
let endpoint: string;
let creds: { accessKeyId: string; secretAccessKey: string };
let downBucket: string;

/** The source file of an object of `size` bytes (the large one written chunk by chunk, never whole in memory). */
const sources = new Map<number, { file: string; sha256: string }>();
async function sourceOf(size: number): Promise<{ file: string; sha256: string }> {
  const known = sources.get(size);
  if (known) return known;
  const file = path.join(dir, `source-${size}`);
  const h = createHash('sha256');
  const out = createWriteStream(file);
  for (let at = 0; at < size; at += CHUNK_BYTES) {
    const chunk = bytesOf(Math.min(CHUNK_BYTES, size - at), size + at);
    h.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  const s = { file, sha256: h.digest('hex') };
  sources.set(size, s);
  return s;
}

async function sha256Of(input: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of input) h.update(chunk as Buffer);
  return h.digest('hex');
}

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

function run(cmd: string, args: string[], extra: Record<string, string>, drop: string[] = []): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of drop) delete env[k];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function aws(args: string[]): Promise<Run> {
  return run('aws', ['--endpoint-url', endpoint, ...args], {
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: path.join(dir, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
}

/** rclone with a remote `tc:` defined by environment variables only (no config file is read or written). */
function rcloneRun(args: string[]): Promise<Run> {
  return run(
    'rclone',
    ['--config', path.join(dir, 'rclone.conf'), ...args],
    {
      RCLONE_CONFIG_TC_TYPE: 's3',
      RCLONE_CONFIG_TC_PROVIDER: 'Other',
      RCLONE_CONFIG_TC_ENDPOINT: endpoint,
      RCLONE_CONFIG_TC_ACCESS_KEY_ID: creds.accessKeyId,
      RCLONE_CONFIG_TC_SECRET_ACCESS_KEY: creds.secretAccessKey,
      RCLONE_CONFIG_TC_REGION: 'us-east-1',
      RCLONE_CONFIG_TC_FORCE_PATH_STYLE: 'true',
    },
    // The gateway is plain HTTP on loopback; rclone's AWS SDK refuses to start when a CA bundle is set for it.
    ['AWS_CA_BUNDLE'],
  );
}

/** A downloaded file is the source, byte for byte (compared by SHA-256, streamed). */
async function expectSame(file: string, size: number): Promise<void> {
  const src = await sourceOf(size);
  expect((await fs.stat(file)).size).toBe(size);
  expect(await sha256Of(createReadStream(file))).toBe(src.sha256);
}

describe.skipIf(!ready)('S3 gateway of a local mediator deployment, one cloud down', () => {
  beforeAll(async () => {
    dir = await tempDir('e2e-s3-gateway');
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
    await fs.writeFile(path.join(dir, 'aws-config'), '[default]\ns3 =\n    addressing_style = path\n');
    await fs.writeFile(path.join(dir, 'aws-credentials'), '');
    ok(await tc(['deploy', '--yes'], dir));
    const key = await tcJson<{ accessKeyId: string; secretAccessKey: string; endpoints: string[] }>(
      ['storage', 'credentials', 'create', 'vault', '--label', 'e2e'],
      dir,
    );
    expect(key._code).toBe(0);
    expect(key.endpoints).toHaveLength(2);
    endpoint = key.endpoints[1]!;
    creds = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    // One cloud down: its bucket directory replaced by a file, so every call to it fails.
    downBucket = path.join(dir, '.tclouds', STACK, 'clouds', 'local-4', `${STACK}-vault-local-4`);
    await fs.rename(downBucket, `${downBucket}.away`);
    await fs.writeFile(downBucket, 'cloud down\n');
  }, 300_000);

  afterAll(async () => {
    if (!dir) return;
    if (downBucket) {
      await fs.rm(downBucket, { force: true });
      await fs.rename(`${downBucket}.away`, downBucket).catch(() => {});
    }
    await tc(['destroy', '--yes'], dir);
  }, 300_000);

  it('outputs prints the S3 endpoint and how to configure the AWS CLI and SDKs', async () => {
    const r = ok(await tc(['outputs'], dir));
    expect(r.stdout).toContain(`S3 endpoint ${endpoint}`);
    expect(r.stdout).toContain('aws --endpoint-url');
    expect(r.stdout).toContain('forcePathStyle: true');
    const ls = await tcJson<{ keys: { accessKeyId: string; label?: string }[] }>(
      ['storage', 'credentials', 'ls', 'vault'],
      dir,
    );
    expect(ls.keys.map((k) => [k.accessKeyId, k.label])).toEqual([[creds.accessKeyId, 'e2e']]);
    expect(JSON.stringify(ls)).not.toContain(creds.secretAccessKey);
  });

  it(`the AWS SDK uploads, lists, downloads and deletes 0 B, 1 MiB and ${LARGE} (multipart, streamed)`, async () => {
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds });
    for (const [name, size] of Object.entries(SIZES)) {
      const { file } = await sourceOf(size);
      if (size > 8 << 20) {
        await new Upload({
          client,
          params: { Bucket: 'vault', Key: `sdk/${name}`, Body: createReadStream(file) },
          partSize: 8 << 20,
          queueSize: 2,
        }).done();
      } else
        await client.send(new PutObjectCommand({ Bucket: 'vault', Key: `sdk/${name}`, Body: await fs.readFile(file) }));
    }
    const list = await client.send(new ListObjectsV2Command({ Bucket: 'vault', Prefix: 'sdk/' }));
    expect(list.Contents?.map((o) => [o.Key, o.Size])).toEqual(
      Object.entries(SIZES)
        .map(([n, s]) => [`sdk/${n}`, s])
        .sort(),
    );
    for (const [name, size] of Object.entries(SIZES)) {
      const r = await client.send(new GetObjectCommand({ Bucket: 'vault', Key: `sdk/${name}` }));
      const back = path.join(dir, `sdk-back-${name}`);
      await pipeline(r.Body as Readable, createWriteStream(back));
      await expectSame(back, size);
      await fs.rm(back);
      await client.send(new DeleteObjectCommand({ Bucket: 'vault', Key: `sdk/${name}` }));
    }
    expect((await client.send(new ListObjectsV2Command({ Bucket: 'vault', Prefix: 'sdk/' }))).KeyCount).toBe(0);
  }, 600_000);

  it.skipIf(!awsCli)(
    `the AWS CLI uploads, lists, downloads and deletes 0 B, 1 MiB and ${LARGE}`,
    async () => {
      for (const [name, size] of Object.entries(SIZES)) {
        const up = await aws(['s3', 'cp', (await sourceOf(size)).file, `s3://vault/cli/${name}`]);
        expect(up.code, up.stderr).toBe(0);
      }
      const ls = await aws(['s3', 'ls', 's3://vault/cli/']);
      expect(ls.code, ls.stderr).toBe(0);
      for (const [name, size] of Object.entries(SIZES)) expect(ls.stdout).toMatch(new RegExp(`\\s${size} ${name}\\n`));
      for (const [name, size] of Object.entries(SIZES)) {
        const down = await aws(['s3', 'cp', `s3://vault/cli/${name}`, `back-${name}`]);
        expect(down.code, down.stderr).toBe(0);
        await expectSame(path.join(dir, `back-${name}`), size);
        await fs.rm(path.join(dir, `back-${name}`));
      }
      const rm = await aws(['s3', 'rm', '--recursive', 's3://vault/cli/']);
      expect(rm.code, rm.stderr).toBe(0);
      expect((await aws(['s3', 'ls', 's3://vault/cli/'])).stdout).toBe('');
    },
    600_000,
  );

  it.skipIf(!rclone)(
    `rclone uploads, lists, downloads and deletes 0 B, 1 MiB and ${LARGE}`,
    async () => {
      for (const [name, size] of Object.entries(SIZES)) {
        const up = await rcloneRun(['copyto', (await sourceOf(size)).file, `tc:vault/rclone/${name}`]);
        expect(up.code, up.stderr).toBe(0);
      }
      const ls = await rcloneRun(['ls', 'tc:vault/rclone/']);
      expect(ls.code, ls.stderr).toBe(0);
      const listed = ls.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .map(([sz, n]) => [n, Number(sz)]);
      expect(listed.sort()).toEqual(Object.entries(SIZES).sort());
      for (const [name, size] of Object.entries(SIZES)) {
        const back = path.join(dir, `rclone-back-${name}`);
        const down = await rcloneRun(['copyto', `tc:vault/rclone/${name}`, back]);
        expect(down.code, down.stderr).toBe(0);
        await expectSame(back, size);
        await fs.rm(back);
      }
      const rm = await rcloneRun(['delete', 'tc:vault/rclone/']);
      expect(rm.code, rm.stderr).toBe(0);
      const after = await rcloneRun(['ls', 'tc:vault/rclone/']);
      expect(after.stdout.trim()).toBe('');
    },
    600_000,
  );

  it('storage put|get|ls|rm --via-gateway', async () => {
    await fs.writeFile(path.join(dir, 'via.bin'), bytesOf(1 << 20, 5));
    const put = await tcJson<{ version: string; gateway: string }>(
      ['storage', 'put', 'vault', 'via.bin', '--via-gateway'],
      dir,
    );
    expect(put._code).toBe(0);
    expect(put.gateway).toMatch(/^vault-gateway-/);
    const ls = await tcJson<{ dataUnits: { name: string }[] }>(['storage', 'ls', 'vault', '--via-gateway'], dir);
    expect(ls.dataUnits.map((d) => d.name)).toContain('via.bin');
    const get = await tcJson<{ version: string }>(
      ['storage', 'get', 'vault', 'via.bin', '-o', 'via-back.bin', '--via-gateway'],
      dir,
    );
    expect(get.version).toBe(put.version);
    expect((await fs.readFile(path.join(dir, 'via-back.bin'))).equals(bytesOf(1 << 20, 5))).toBe(true);
    ok(await tc(['storage', 'rm', 'vault', 'via.bin', '--via-gateway'], dir));
    const gone = await tc(['storage', 'get', 'vault', 'via.bin', '-o', 'x.bin', '--via-gateway'], dir);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain('TC202');
  }, 300_000);
});
