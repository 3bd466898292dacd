/**
 * The command line's fixed cost for storage: a 1 MiB `tclouds storage put` and `get` through the built CLI
 * (`node bin/run.js`, a fresh process each time, as a script storing many objects runs it), against bare
 * `node -e 0` in the same run. Also, for comparison, `tclouds --version` (oclif's start) and the same put through
 * oclif (`storage:put`, which never takes the lean path of cli/hot/).
 * Setup: a temp project with four local-directory clouds (n=4, f=1, DepSky-CA), keys from `storage keygen`;
 * nothing is deployed (the CLI resolves local clouds from the topology alone).
 * Runs are interleaved (node, --version, put, get, node, ...) so that load noise hits every case alike; medians.
 * Target: put and get within 2.5x of `node -e 0`. Wall time is the target; CPU time (steadier on a loaded
 * machine) is shown too.
 * Needs a built tree (`npm run build`: the lean storage path is dist/hot/, see cli/hot/dispatch.ts).
 * Run alone: `npx tsx bench/storage-cli.ts` (BENCH_RUNS=N, default 11). Writes bench/results/storage-cli.json.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOT_DIR, HOT_SIDECAR, type HotSidecar, inputsUnchanged } from '../cli/hot/dispatch.js';
import { writeJsonAtomic } from '../kernel/atomic-file.js';
import { childrenCpuMs, median } from './cli-startup.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_RATIO = 2.5;
const OBJECT_BYTES = 1 << 20;
const DEFAULT_RUNS = 11;
const WARMUP_RUNS = 2;

const TOPOLOGY = [
  'name: benchcli',
  'clouds:',
  '  l1: { provider: local }',
  '  l2: { provider: local }',
  '  l3: { provider: local }',
  '  l4: { provider: local }',
  'components:',
  '  vault: { kind: storage, f: 1, clouds: [l1, l2, l3, l4] }',
  '',
].join('\n');

interface Case {
  name: string;
  args: string[];
}

/** One run of a case in `cwd`: wall ms; its CPU ms (user + system) goes to `cpu` where the OS tells it. */
function time(c: Case, cwd: string, cpu: number[]): number {
  const c0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, c.args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const ms = performance.now() - t0;
  const c1 = childrenCpuMs();
  if (c0 !== undefined && c1 !== undefined) cpu.push(c1 - c0);
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr?.toString().slice(0, 500)}`);
  return ms;
}

/** Whether `storage put/get` ran on the lean path (cli/hot/): the bundle is there and matches its inputs. */
async function leanPathReady(): Promise<boolean> {
  try {
    const dir = path.join(root, ...HOT_DIR);
    const sidecar = JSON.parse(readFileSync(path.join(dir, HOT_SIDECAR), 'utf8')) as HotSidecar;
    return sidecar.commands['storage:put'] !== undefined && (await inputsUnchanged(root, sidecar.inputs));
  } catch {
    return false;
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

export interface StorageCliResult {
  bench: 'storage-cli';
  date: string;
  node: string;
  runs: number;
  loadAverage: number;
  leanPath: boolean;
  /** Node 22+: bin/run.js uses V8's module compile cache, warmed by the warm-up runs (Node 20: none). */
  compileCache: boolean;
  targetRatio: number;
  results: {
    name: string;
    medianMs: number;
    minMs: number;
    ratio: number;
    cpuMs: number | null;
    cpuRatio: number | null;
  }[];
  pass: boolean;
}

/** Measure, print, and write bench/results/storage-cli.json. */
export async function storageCliBench(
  runs = Number(process.env.BENCH_RUNS ?? DEFAULT_RUNS),
): Promise<StorageCliResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tclouds-bench-storage-cli-'));
  const bin = path.join(root, 'bin', 'run.js');
  try {
    await fs.writeFile(path.join(dir, 'tclouds.yaml'), TOPOLOGY);
    await fs.writeFile(path.join(dir, 'obj.bin'), randomBytes(OBJECT_BYTES));
    time({ name: 'keygen', args: [bin, 'storage', 'keygen', 'vault'] }, dir, []);
    const cases: Case[] = [
      { name: 'node -e 0 (baseline)', args: ['-e', '0'] },
      { name: 'tclouds --version', args: [bin, '--version'] },
      { name: 'tclouds storage put (1 MiB)', args: [bin, 'storage', 'put', 'vault', 'obj.bin'] },
      { name: 'tclouds storage get (1 MiB)', args: [bin, 'storage', 'get', 'vault', 'obj.bin', '-o', 'out.bin'] },
      // Reference, not judged: the same put through oclif (`storage:put` never takes the lean path).
      { name: 'storage:put via oclif (reference)', args: [bin, 'storage:put', 'vault', 'obj.bin'] },
    ];
    // Warm-up: file cache, the command manifest, and (Node 22+) the module compile cache.
    for (const c of cases) for (let i = 0; i < WARMUP_RUNS; i++) time(c, dir, []);
    const samples = cases.map(() => [] as number[]);
    const cpu = cases.map(() => [] as number[]);
    for (let i = 0; i < runs; i++) {
      cases.forEach((c, j) => {
        samples[j]?.push(time(c, dir, cpu[j] ?? []));
      });
    }
    const copy = await fs.readFile(path.join(dir, 'out.bin'));
    if (copy.length !== OBJECT_BYTES) throw new Error('storage get returned the wrong object');
    const meanCpu = cpu.map((xs) => (xs.length === runs ? xs.reduce((a, b) => a + b, 0) / runs : undefined));
    const base = median(samples[0] ?? []);
    const baseCpu = meanCpu[0];
    const results = cases.map((c, j) => {
      const m = median(samples[j] ?? []);
      const cj = meanCpu[j];
      return {
        name: c.name,
        medianMs: round1(m),
        minMs: round1(Math.min(...(samples[j] ?? []))),
        ratio: round2(m / base),
        cpuMs: cj === undefined ? null : Math.round(cj),
        cpuRatio: cj === undefined || !baseCpu ? null : round2(cj / baseCpu),
      };
    });
    const out: StorageCliResult = {
      bench: 'storage-cli',
      date: new Date().toISOString(),
      node: process.version,
      runs,
      // Other work on the machine inflates every figure; the 1-minute load average at the end says how much.
      loadAverage: round2(os.loadavg()[0] ?? 0),
      leanPath: await leanPathReady(),
      compileCache: 'enableCompileCache' in module,
      targetRatio: TARGET_RATIO,
      results,
      pass: results.slice(2, 4).every((r) => r.ratio <= TARGET_RATIO),
    };
    const w = Math.max(...results.map((r) => r.name.length));
    console.log(`${'case'.padEnd(w)}  median ms  min ms  x node  cpu ms  cpu x node`);
    for (const r of results)
      console.log(
        `${r.name.padEnd(w)}  ${r.medianMs.toFixed(1).padStart(9)}  ${r.minMs.toFixed(1).padStart(6)}  ${r.ratio.toFixed(2).padStart(6)}  ${String(r.cpuMs ?? '-').padStart(6)}  ${String(r.cpuRatio ?? '-').padStart(10)}`,
      );
    if (!out.leanPath)
      console.log('note: storage commands ran through oclif (dist/hot missing or stale: npm run build)');
    console.log(
      `target: storage put and get (1 MiB) within ${TARGET_RATIO}x of bare node: ${out.pass ? 'PASS' : 'FAIL'} (load ${out.loadAverage})`,
    );
    await writeJsonAtomic(path.join(root, 'bench', 'results', 'storage-cli.json'), out);
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await storageCliBench();
