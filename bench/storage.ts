/**
 * DepSky storage speed, measured in one run on this machine, over four local-directory clouds (n=4, f=1):
 *   - DepSky-A and DepSky-CA write and read latency/throughput for 1 KiB, 1 MiB and 64 MiB objects, against a plain
 *     single-directory copy of the same bytes (write: temp file + fsync + rename, the same durability as our local
 *     driver; read: readFile). Runs are interleaved so that load noise hits both alike. Each DepSky operation uses a
 *     fresh client (as the CLI does: the write includes its metadata query).
 *   - erasure-code encode and decode speed per core, WebAssembly and JavaScript kernels side by side (bench/erasure.ts),
 *     target >= 1,000 MB/s per core for 64 MiB;
 *   - bytes stored per cloud for DepSky-CA, target about 1/(f+1) of the object (n/(f+1) less than DepSky-A in total);
 *   - where a streamed 64 MiB CA write and read spend their time (stage timers of the client: encrypt, erasure,
 *     hash, waiting for the clouds...);
 *   - a 4 GiB streamed CA round trip through files in a child process (bench/storage-rss.ts), whose peak RSS must
 *     stay under 300 MB (BENCH_RSS_BYTES changes the size).
 * Targets (ratio DepSky / single copy, judged on the 64 MiB object where fixed per-operation costs do not dominate):
 * A read <= 1.5x, A write <= 4x, CA read <= 2x, CA write <= 3x.
 * Run: `npx tsx bench/storage.ts` (BENCH_RUNS=N scales the repetitions). Writes bench/results/storage.json.
 * Last section: scrub of 10,000 small objects (bench/storage-scrub.ts), under `scrub` in the same JSON.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DepSkyClient } from '../components/storage/client.js';
import { LocalDirectoryDriver } from '../components/storage/drivers/local.js';
import { containerOf } from '../components/storage/protocol/names.js';
import type { Protocol } from '../components/storage/protocol/types.js';
import { writeFileAtomic, writeJsonAtomic } from '../kernel/atomic-file.js';
import { type ErasureResult, erasureVerdicts, measureErasure, printErasure } from './erasure.js';
import { storageCliBench } from './storage-cli.js';
import { storageScrubBench } from './storage-scrub.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scale = Number(process.env.BENCH_RUNS ?? 1);
const SIZES = [
  { label: '1 KiB', bytes: 1024, runs: 30 },
  { label: '1 MiB', bytes: 1 << 20, runs: 12 },
  { label: '64 MiB', bytes: 64 << 20, runs: 4 },
];
const TARGETS = { aRead: 1.5, aWrite: 4, caRead: 2, caWrite: 3, peakRssBytes: 300e6 };
const RSS_BYTES = Number(process.env.BENCH_RSS_BYTES ?? 4 * 2 ** 30);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

/** Median write and read times of one way of storing `bytes`, with the throughput they mean. */
const speeds = (bytes: number, writeMs: number, readMs: number) => ({
  writeMs,
  readMs,
  writeMBps: mbps(bytes, writeMs),
  readMBps: mbps(bytes, readMs),
});

/** One protocol's figures in a result row: its speeds and its times relative to the single copy. */
type ProtocolRow = ReturnType<typeof speeds> & { writeRatio: number; readRatio: number };

/** A ratio target's verdict: met when the measured ratio is at most the target. */
const atMost = (value: number, target: number) => ({ value, target: `<= ${target}x`, met: value <= target });

type Fresh = (protocol: Protocol) => DepSkyClient;
type SizeRow = {
  size: string;
  bytes: number;
  runs: number;
  plain: ReturnType<typeof speeds>;
  depskyA: ProtocolRow;
  depskyCA: ProtocolRow;
};

/** Interleaved runs of one object size: plain copy, DepSky-A and DepSky-CA write then read, medians compared. */
async function measureSize(
  size: (typeof SIZES)[number],
  dir: string,
  fresh: Fresh,
): Promise<{ row: SizeRow; runs: number }> {
  const data = randomBytes(size.bytes);
  const runs = Math.max(2, Math.round(size.runs * scale));
  const t: Record<string, number[]> = { plainW: [], plainR: [], aW: [], aR: [], caW: [], caR: [] };
  const plainFile = path.join(dir, 'plain', `obj-${size.bytes}`);
  for (let r = 0; r < runs; r++) {
    let t0 = performance.now();
    await writeFileAtomic(plainFile, data, { mkdir: true });
    t.plainW!.push(performance.now() - t0);
    t0 = performance.now();
    const back = await fs.readFile(plainFile);
    t.plainR!.push(performance.now() - t0);
    if (back.length !== data.length) throw new Error('plain copy mismatch');
    for (const [protocol, w, rd] of [
      ['depsky-a', 'aW', 'aR'],
      ['depsky-ca', 'caW', 'caR'],
    ] as const) {
      const du = `${protocol}-${size.bytes}`;
      const writer = fresh(protocol);
      t0 = performance.now();
      await writer.put(du, data);
      t[w]!.push(performance.now() - t0);
      // The n-th cloud's copy finishes in the background; let it land before the next timing.
      await writer.close();
      const reader = fresh(protocol);
      t0 = performance.now();
      const got = await reader.get(du);
      t[rd]!.push(performance.now() - t0);
      if (!Buffer.from(got.bytes).equals(data)) throw new Error(`${protocol} read mismatch`);
    }
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<string, number>;
  const row: SizeRow = {
    size: size.label,
    bytes: size.bytes,
    runs,
    plain: speeds(size.bytes, m.plainW!, m.plainR!),
    depskyA: { ...speeds(size.bytes, m.aW!, m.aR!), writeRatio: m.aW! / m.plainW!, readRatio: m.aR! / m.plainR! },
    depskyCA: { ...speeds(size.bytes, m.caW!, m.caR!), writeRatio: m.caW! / m.plainW!, readRatio: m.caR! / m.plainR! },
  };
  return { row, runs };
}

/** Bytes of value files each cloud holds for one data unit, per version written (every run wrote one). */
function storedPerCloud(drivers: LocalDirectoryDriver[], du: string, versions: number): Promise<number[]> {
  return Promise.all(
    drivers.map(async (d) => {
      const c = path.join(d.root, containerOf(du));
      let total = 0;
      for (const f of await fs.readdir(c)) if (f.startsWith('value')) total += (await fs.stat(path.join(c, f))).size;
      return total / versions;
    }),
  );
}

/** Stage timers of one streamed 64 MiB CA write and read (ms summed over segments; stages overlap with I/O). */
async function profileCA(
  dir: string,
  fresh: Fresh,
): Promise<{ write: Record<string, number>; read: Record<string, number> }> {
  const data = randomBytes(64 << 20);
  const stages = (c: DepSkyClient) => c.opts.profile!;
  const w = fresh('depsky-ca');
  w.opts.profile = {};
  let t0 = performance.now();
  await w.put('profiled', data);
  stages(w).total = performance.now() - t0;
  await w.close();
  const r = fresh('depsky-ca');
  r.opts.profile = {};
  const out = path.join(dir, 'profiled.out');
  t0 = performance.now();
  await r.getToFile('profiled', out);
  stages(r).total = performance.now() - t0;
  await fs.rm(out, { force: true });
  const round = (p: Record<string, number>) =>
    Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Math.round(v * 10) / 10]));
  return { write: round(stages(w)), read: round(stages(r)) };
}

/** The streamed CA round trip of RSS_BYTES in its own process: peak RSS and times. */
async function measureRss(): Promise<{
  bytes: number;
  writeMs: number;
  readMs: number;
  peakRssBytes: number;
  equal: boolean;
}> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-bench-rss-'));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'bench', 'storage-rss.ts'), dir],
      { env: { ...process.env, STORAGE_RSS_BYTES: String(RSS_BYTES) }, cwd: root, maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function printReport(
  rows: SizeRow[],
  ec: ErasureResult,
  stored: { perCloud: number[]; caFraction: number; reductionVsA: number },
  verdicts: Record<string, { value: number; target: string; met: boolean }>,
): void {
  const f1 = (x: number) => x.toFixed(1);
  const f2 = (x: number) => x.toFixed(2);
  console.log('size     op     plain ms  A ms (ratio)        CA ms (ratio)       A MB/s  CA MB/s');
  for (const r of rows) {
    for (const op of ['write', 'read'] as const) {
      const p = r.plain[`${op}Ms`];
      const a = r.depskyA;
      const c = r.depskyCA;
      console.log(
        `${r.size.padEnd(8)} ${op.padEnd(6)} ${f2(p).padStart(8)}  ${`${f2(a[`${op}Ms`])} (${f1(a[`${op}Ratio`])}x)`.padEnd(18)}  ${`${f2(c[`${op}Ms`])} (${f1(c[`${op}Ratio`])}x)`.padEnd(18)}  ${f1(a[`${op}MBps`]).padStart(6)}  ${f1(c[`${op}MBps`]).padStart(7)}`,
      );
    }
  }
  printErasure(ec);
  console.log(
    `DepSky-CA bytes per cloud for a 64 MiB object: ${stored.perCloud.map((b) => (b / (1 << 20)).toFixed(2)).join(', ')} MiB ` +
      `(${f2(stored.caFraction)} of the object; ${f2(stored.reductionVsA)}x less than DepSky-A in total)`,
  );
  for (const [k, v] of Object.entries(verdicts))
    console.log(`${v.met ? 'MET ' : 'MISS'} ${k}: ${f2(v.value)} (target ${v.target})`);
}

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-bench-storage-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const drivers = [0, 1, 2, 3].map((i) => new LocalDirectoryDriver(`c${i}`, path.join(dir, `c${i}`)));
  const fresh: Fresh = (protocol) =>
    new DepSkyClient({
      drivers,
      f: 1,
      protocol,
      verifyKey: publicKey,
      signKey: privateKey,
      writer: 'be5c',
      lingerMs: 60_000,
    });
  const rows: SizeRow[] = [];
  let caPerCloud: number[] = [];
  let aPerCloud: number[] = [];
  const object = 64 << 20;
  let profile: Awaited<ReturnType<typeof profileCA>>;
  try {
    for (const size of SIZES) {
      const { row, runs } = await measureSize(size, dir, fresh);
      rows.push(row);
      if (size.bytes !== object) continue;
      caPerCloud = await storedPerCloud(drivers, `depsky-ca-${size.bytes}`, runs);
      aPerCloud = await storedPerCloud(drivers, `depsky-a-${size.bytes}`, runs);
    }
    profile = await profileCA(dir, fresh);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  const rss = await measureRss();
  const ec = measureErasure(scale);
  const big = rows.at(-1)!;
  const caFraction = Math.max(...caPerCloud) / object;
  const reductionVsA = aPerCloud.reduce((a, b) => a + b, 0) / caPerCloud.reduce((a, b) => a + b, 0);
  const erasureTargets = erasureVerdicts(ec);
  const verdicts = {
    aRead: atMost(big.depskyA.readRatio, TARGETS.aRead),
    aWrite: atMost(big.depskyA.writeRatio, TARGETS.aWrite),
    caRead: atMost(big.depskyCA.readRatio, TARGETS.caRead),
    caWrite: atMost(big.depskyCA.writeRatio, TARGETS.caWrite),
    erasureEncode: erasureTargets.encode,
    erasureDecode: erasureTargets.decode,
    caPerCloud: { value: caFraction, target: '~ 1/(f+1) = 0.5 of the object per cloud', met: caFraction < 0.51 },
    caRoundTripPeakRss: {
      value: rss.peakRssBytes,
      target: `< ${TARGETS.peakRssBytes} bytes for ${RSS_BYTES} bytes`,
      met: rss.equal && rss.peakRssBytes < TARGETS.peakRssBytes,
    },
  };
  const result = {
    benchmark: 'storage',
    machine: { cpus: os.cpus().length, node: process.version },
    clouds: { n: 4, f: 1, driver: 'local-directory' },
    note: 'ratios = DepSky time / single-directory copy time of the same bytes; targets judged at 64 MiB',
    sizes: rows,
    erasure: ec,
    storedBytes: {
      object,
      depskyCAPerCloud: caPerCloud,
      depskyAPerCloud: aPerCloud,
      caFractionPerCloud: caFraction,
      reductionVsA,
    },
    caProfile64MiB: {
      note: 'ms per stage, summed over segments; hash = time segments waited for the digest threads; waitClouds = time the pipeline waited on puts/gets',
      ...profile,
    },
    caRoundTrip: rss,
    targets: verdicts,
  };
  await writeJsonAtomic(path.join(root, 'bench', 'results', 'storage.json'), result);
  printReport(rows, ec, { perCloud: caPerCloud, caFraction, reductionVsA }, verdicts);
  console.log(`CA 64 MiB stages (ms): write ${JSON.stringify(profile.write)}; read ${JSON.stringify(profile.read)}`);
  console.log(
    `CA round trip of ${(rss.bytes / 2 ** 30).toFixed(2)} GiB: write ${(rss.writeMs / 1000).toFixed(1)} s, read ${(rss.readMs / 1000).toFixed(1)} s, peak RSS ${(rss.peakRssBytes / 1e6).toFixed(0)} MB, equal ${rss.equal}`,
  );
  // The command line's fixed cost (1 MiB put/get through the built CLI vs `node -e 0`): bench/storage-cli.ts.
  await storageCliBench();
  await scrubSection(result);
}

// --- scrub: `storage scrub` of 10,000 small objects (bench/storage-scrub.ts), added to storage.json -------------
async function scrubSection(result: Record<string, unknown>): Promise<void> {
  const scrub = await storageScrubBench();
  await writeJsonAtomic(path.join(root, 'bench', 'results', 'storage.json'), { ...result, scrub });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
