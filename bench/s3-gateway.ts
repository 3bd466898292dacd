/**
 * The S3 gateway against the library client, in one run on this machine, over four local-directory clouds
 * (n=4, f=1, DepSky-CA): PutObject and GetObject of 1 MiB and 64 MiB objects through the AWS SDK for JavaScript
 * against a gateway on loopback (in its own process, as deployed), next to the DepSky client's put/get of the same bytes (a fresh client per
 * operation, as the CLI does). Runs are interleaved so load noise hits both alike. Target: the gateway within
 * 1.3x of the library client's time (judged per size and direction).
 * Then the issue's large object: a LARGE_MIB (default 200) MiB multipart upload (lib-storage, 8 MiB parts) and its
 * download through the gateway while one of the four clouds is down.
 * Run: `npx tsx bench/s3-gateway.ts` (BENCH_RUNS=N scales the repetitions, LARGE_MIB=0 skips the large object).
 * Writes bench/results/s3-gateway.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DepSkyClient } from '../components/storage/client.js';
import { LocalDirectoryDriver } from '../components/storage/drivers/local.js';
import { readSigningKey, readVerifyKey } from '../components/storage/keys.js';
import { writeJsonAtomic } from '../kernel/atomic-file.js';
import { bytesOf, CLOUDS, s3, startGateways } from '../test/storage/s3-support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env.BENCH_RUNS ?? 1);
const LARGE_MIB = Number(process.env.LARGE_MIB ?? 200);
const SIZES = [
  { label: '1 MiB', bytes: 1 << 20, runs: 10 },
  { label: '64 MiB', bytes: 64 << 20, runs: 3 },
];
const TARGET_RATIO = 1.3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** `--serve DIR`: the gateway runs in its own process (as deployed), printing its URL and a key on stdout. */
async function serve(dir: string): Promise<void> {
  const gws = await startGateways(dir, 'vault', 1);
  const creds = await gws.issue();
  process.stdout.write(`${JSON.stringify({ url: gws.urls[0], creds })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void gws.stop().then(() => process.exit(0)));
}

async function startServer(
  dir: string,
): Promise<{ child: ChildProcess; url: string; creds: { accessKeyId: string; secretAccessKey: string } }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.on('exit', (code) => reject(new Error(`gateway process exited ${code}`)));
  });
  return { child, ...(JSON.parse(line) as { url: string; creds: { accessKeyId: string; secretAccessKey: string } }) };
}

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-bench-s3-'));
  const server = await startServer(dir);
  const cloudDir = (c: string) => path.join(dir, 'clouds', c);
  try {
    const client = s3(server.url, server.creds);
    const keyFile = path.join(dir, 'keys', 'storage-vault-writer.key');
    const [signKey, verifyKey] = [await readSigningKey(keyFile), await readVerifyKey(keyFile)];
    const library = () =>
      new DepSkyClient({
        drivers: CLOUDS.map((c) => new LocalDirectoryDriver(c, cloudDir(c))),
        f: 1,
        protocol: 'depsky-ca',
        verifyKey,
        signKey,
        writer: 'be',
      });
    const rows = [];
    for (const size of SIZES) {
      const data = bytesOf(size.bytes, size.bytes);
      const t = { libPut: [] as number[], libGet: [] as number[], gwPut: [] as number[], gwGet: [] as number[] };
      for (let i = 0; i < size.runs * scale; i++) {
        const lib = library();
        t.libPut.push(await timed(() => lib.put(`lib/${size.label}`, data)));
        t.libGet.push(await timed(() => library().get(`lib/${size.label}`)));
        await lib.close();
        t.gwPut.push(
          await timed(() =>
            client.send(new PutObjectCommand({ Bucket: 'vault', Key: `gw/${size.label}`, Body: data })),
          ),
        );
        t.gwGet.push(
          await timed(async () => {
            const r = await client.send(new GetObjectCommand({ Bucket: 'vault', Key: `gw/${size.label}` }));
            await r.Body!.transformToByteArray();
          }),
        );
      }
      const m = { libPut: median(t.libPut), libGet: median(t.libGet), gwPut: median(t.gwPut), gwGet: median(t.gwGet) };
      const put = m.gwPut / m.libPut;
      const get = m.gwGet / m.libGet;
      rows.push({
        size: size.label,
        runs: t.libPut.length,
        libraryMs: { put: m.libPut, get: m.libGet },
        gatewayMs: { put: m.gwPut, get: m.gwGet },
        ratio: { put, get },
        met: { put: put <= TARGET_RATIO, get: get <= TARGET_RATIO },
      });
      console.log(
        `${size.label.padEnd(7)} put: library ${m.libPut.toFixed(1)} ms, gateway ${m.gwPut.toFixed(1)} ms (${put.toFixed(2)}x)` +
          `   get: library ${m.libGet.toFixed(1)} ms, gateway ${m.gwGet.toFixed(1)} ms (${get.toFixed(2)}x)   target <= ${TARGET_RATIO}x`,
      );
    }
    const large = LARGE_MIB > 0 ? await largeObject(cloudDir('l4'), client) : undefined;
    const result = {
      when: new Date().toISOString(),
      loadavg: os.loadavg(),
      cpus: os.cpus().length,
      targetRatio: TARGET_RATIO,
      rows,
      large,
    };
    await writeJsonAtomic(path.join(root, 'bench', 'results', 's3-gateway.json'), result);
  } finally {
    server.child.stdin!.end();
    await new Promise((r) => server.child.once('exit', r));
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The large object, multipart up and down through the gateway, with one cloud's bucket replaced by a file. */
async function largeObject(cloudDir: string, client: S3Client) {
  const bytes = bytesOf(LARGE_MIB << 20, 42);
  await fs.rename(cloudDir, `${cloudDir}.away`);
  await fs.writeFile(cloudDir, 'cloud down\n');
  try {
    const putMs = await timed(() =>
      new Upload({
        client,
        params: { Bucket: 'vault', Key: 'large.bin', Body: bytes },
        partSize: 8 << 20,
        queueSize: 2,
      }).done(),
    );
    let back: Uint8Array | undefined;
    const getMs = await timed(async () => {
      const r = await client.send(new GetObjectCommand({ Bucket: 'vault', Key: 'large.bin' }));
      back = await r.Body!.transformToByteArray();
    });
    const same = Buffer.from(back!).equals(bytes);
    console.log(
      `${LARGE_MIB} MiB (one cloud down): multipart put ${(putMs / 1000).toFixed(1)} s (${(LARGE_MIB / (putMs / 1000)).toFixed(1)} MiB/s), ` +
        `get ${(getMs / 1000).toFixed(1)} s (${(LARGE_MIB / (getMs / 1000)).toFixed(1)} MiB/s), bytes ${same ? 'identical' : 'DIFFER'}`,
    );
    return { mib: LARGE_MIB, putMs, getMs, identical: same };
  } finally {
    await fs.rm(cloudDir, { force: true });
    await fs.rename(`${cloudDir}.away`, cloudDir);
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3]!);
else await main();
