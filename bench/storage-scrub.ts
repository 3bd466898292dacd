/**
 * Benchmark: `storage scrub` of many small objects (components/storage/scrub.ts) over four local directory clouds,
 * next to a baseline measured in the same run: reading every file of the four buckets once, with no parsing,
 * signature checks or hashing (what any scrub must at least do).
 *
 * Target: a scrub of SCRUB_OBJECTS (10,000) small DepSky-CA objects in under 30 s. Also measured: a scrub that
 * finds one cloud emptied, and the repair of it.
 *
 * Run alone: `npx tsx bench/storage-scrub.ts` (BENCH_SCRUB_OBJECTS=N to change the count). Writes
 * bench/results/storage-scrub.json; bench/storage.ts runs it too and adds it to storage.json.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DepSkyClient } from '../components/storage/client.js';
import { LocalDirectoryDriver } from '../components/storage/drivers/local.js';
import { SCRUB_CONCURRENCY, scrub } from '../components/storage/scrub.js';
import { writeJsonAtomic } from '../kernel/atomic-file.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRUB_OBJECTS = Number(process.env.BENCH_SCRUB_OBJECTS ?? 10_000);
const OBJECT_BYTES = 1024;
/** Puts in flight while the objects are written (setup only, not measured). */
const SETUP_PUTS = 32;
const TARGET_MS = 30_000;

export interface ScrubBenchResult {
  objects: number;
  objectBytes: number;
  concurrency: number;
  baselineReadAllFilesMs: number;
  scrubMs: number;
  ratioToBaseline: number;
  scrubFindingOneCloudEmptyMs: number;
  repairOneCloudMs: number;
  loadAverage: number;
  target: { value: number; target: string; met: boolean };
}

/**
 * The baseline: every file of every data unit read once, as many data units in flight on each cloud as the scrub
 * has (SCRUB_CONCURRENCY per cloud), the files of one data unit one after the other.
 */
async function readEveryFile(dir: string): Promise<number> {
  const units: string[] = [];
  for (const cloud of await fs.readdir(dir))
    for (const unit of await fs.readdir(path.join(dir, cloud))) units.push(path.join(dir, cloud, unit));
  let files = 0;
  let next = 0;
  const worker = async () => {
    while (next < units.length) {
      const unit = units[next++]!;
      for (const f of await fs.readdir(unit)) {
        await fs.readFile(path.join(unit, f));
        files++;
      }
    }
  };
  await Promise.all(Array.from({ length: 4 * SCRUB_CONCURRENCY }, worker));
  return files;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Measure, print, and write bench/results/storage-scrub.json. */
export async function storageScrubBench(objects = SCRUB_OBJECTS): Promise<ScrubBenchResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-bench-scrub-'));
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const drivers = ['c1', 'c2', 'c3', 'c4'].map((c) => new LocalDirectoryDriver(c, path.join(dir, c)));
    const client = new DepSkyClient({
      drivers,
      f: 1,
      protocol: 'depsky-ca',
      verifyKey: publicKey,
      signKey: privateKey,
      writer: 'beef',
    });
    let next = 0;
    await Promise.all(
      Array.from({ length: SETUP_PUTS }, async () => {
        while (next < objects) await client.put(`obj-${next++}`, randomBytes(OBJECT_BYTES));
      }),
    );
    await client.close();
    const opts = { drivers, f: 1, verifyKey: publicKey, repair: false };
    const baseline = await timed(() => readEveryFile(dir));
    const clean = await timed(() => scrub(opts));
    if (clean.value.objects !== objects || clean.value.findings.length > 0) throw new Error('scrub: not all clean');
    await fs.rm(path.join(dir, 'c1'), { recursive: true });
    const finding = await timed(() => scrub(opts));
    if (finding.value.clouds[0]?.missing !== objects) throw new Error('scrub did not find the emptied cloud');
    const repair = await timed(() => scrub({ ...opts, repair: true }));
    if (repair.value.unresolved !== 0) throw new Error('repair left copies unresolved');
    const out: ScrubBenchResult = {
      objects,
      objectBytes: OBJECT_BYTES,
      concurrency: SCRUB_CONCURRENCY,
      baselineReadAllFilesMs: Math.round(baseline.ms),
      scrubMs: Math.round(clean.ms),
      ratioToBaseline: Number((clean.ms / baseline.ms).toFixed(2)),
      scrubFindingOneCloudEmptyMs: Math.round(finding.ms),
      repairOneCloudMs: Math.round(repair.ms),
      loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
      target: { value: Math.round(clean.ms), target: `< ${TARGET_MS} ms`, met: clean.ms < TARGET_MS },
    };
    console.log(
      `scrub of ${objects} objects of ${OBJECT_BYTES} B (4 clouds, f=1, CA): ${(out.scrubMs / 1000).toFixed(1)} s ` +
        `(baseline: reading their ${baseline.value} files ${(out.baselineReadAllFilesMs / 1000).toFixed(1)} s, ` +
        `${out.ratioToBaseline}x); one cloud emptied: found in ${(out.scrubFindingOneCloudEmptyMs / 1000).toFixed(1)} s, ` +
        `repaired in ${(out.repairOneCloudMs / 1000).toFixed(1)} s; target < ${TARGET_MS / 1000} s: ` +
        `${out.target.met ? 'PASS' : 'FAIL'} (load ${out.loadAverage})`,
    );
    await writeJsonAtomic(path.join(root, 'bench', 'results', 'storage-scrub.json'), out);
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await storageScrubBench();
