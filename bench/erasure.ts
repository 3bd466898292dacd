/**
 * Erasure-code speed on one core, n=4, k=f+1=2 (DepSky-CA with f=1): encode, and decode from the two parity blocks
 * (both data blocks missing: the most work a read can need), for the WebAssembly SIMD kernel and the JavaScript one
 * side by side, runs interleaved so that load noise hits both alike. Figures are input bytes per second (MB = 10^6):
 * `mbps` against the wall clock, `mbpsPerCore` against the CPU time the process spent (what one core does when it is
 * not shared: on a busy machine the wall clock also counts the time other processes had the core).
 * `encodeInPlace` is encodeParity into blocks allocated once and reused (as a pipeline that recycles its buffers
 * does): encode and decode return fresh buffers, and on a virtual machine the kernel's first-touch page faults of a
 * fresh 64 MiB buffer can cost as much CPU time as the coding itself.
 * Each timed call starts after a full garbage collection, so it pays for its own allocations (page faults
 * included) and not for freeing the 64 MiB buffers of the calls before it (V8 collects them under "external memory
 * pressure" at whichever allocation comes next, 10-30 ms a time here).
 * Target: >= 1,000 MB/s per core for 64 MiB, encode and decode (the kernel the module picks, WebAssembly here).
 * bench/storage.ts calls measureErasure(); run alone with `npx tsx bench/erasure.ts` (writes bench/results/erasure.json).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  blockSize,
  defaultCoder,
  type ErasureCoder,
  erasureCoder,
  javascriptCoder,
} from '../components/storage/crypto/erasure.js';
import { wasmKernel } from '../components/storage/crypto/erasure-wasm.js';
import { writeJsonAtomic } from '../kernel/atomic-file.js';

const N = 4;
const K = 2;
export const ERASURE_TARGET_MBPS = 1000;
const SIZES = [
  { bytes: 1 << 20, runs: 40 },
  { bytes: 64 << 20, runs: 6 },
];

type Speed = { mbps: number; mbpsPerCore: number };
type KernelRow = { encode: Speed; decode: Speed; encodeInPlace: Speed };
export type ErasureRow = { bytes: number; runs: number; js: KernelRow; wasm?: KernelRow };
export type ErasureResult = { n: number; k: number; kernel: string; decodeFrom: number[]; sizes: ErasureRow[] };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Wall and CPU milliseconds of one call, started on a collected heap. */
function timed(fn: () => unknown): { wall: number; cpu: number } {
  collectGarbage();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const u = process.cpuUsage(u0);
  return { wall, cpu: Math.max((u.user + u.system) / 1000, 1e-3) };
}

const speed = (bytes: number, wall: number[], cpu: number[]): Speed => ({
  mbps: bytes / 1e3 / median(wall),
  mbpsPerCore: bytes / 1e3 / median(cpu),
});

/** Keep the parity blocks only: decoding rebuilds both data blocks. */
const DECODE_FROM = [2, 3];

function measureSize(bytes: number, runs: number, coders: ErasureCoder[]): ErasureRow {
  const input = new Uint8Array(randomBytes(bytes));
  const t = coders.map(() => ({
    encW: [] as number[],
    encC: [] as number[],
    decW: [] as number[],
    decC: [] as number[],
    inW: [] as number[],
    inC: [] as number[],
  }));
  // Blocks for the in-place encode, allocated and touched once.
  const size = blockSize(bytes, K);
  const reused = Array.from({ length: N }, (_, i) =>
    i < K ? input.slice(i * size, (i + 1) * size) : new Uint8Array(size).fill(1),
  );
  for (let r = -1; r < runs; r++) {
    coders.forEach((coder, c) => {
      let blocks: Uint8Array[] = [];
      const enc = timed(() => {
        blocks = coder.encode(input, N, K);
      });
      const held = blocks.map((b, i) => (DECODE_FROM.includes(i) ? b : undefined));
      let back: Uint8Array = new Uint8Array(0);
      const dec = timed(() => {
        back = coder.decode(held, N, K, bytes);
      });
      if (!Buffer.from(back).equals(input)) throw new Error(`erasure ${coder.kernel}: decode mismatch`);
      const inPlace = timed(() => coder.encodeParity(reused, N, K));
      if (r < 0) return; // warm-up: compile, tier up, build tables
      t[c]!.encW.push(enc.wall);
      t[c]!.encC.push(enc.cpu);
      t[c]!.decW.push(dec.wall);
      t[c]!.decC.push(dec.cpu);
      t[c]!.inW.push(inPlace.wall);
      t[c]!.inC.push(inPlace.cpu);
    });
  }
  const rows = t.map((x) => ({
    encode: speed(bytes, x.encW, x.encC),
    decode: speed(bytes, x.decW, x.decC),
    encodeInPlace: speed(bytes, x.inW, x.inC),
  }));
  return { bytes, runs, js: rows[0]!, ...(rows[1] ? { wasm: rows[1] } : {}) };
}

export function measureErasure(scale = 1): ErasureResult {
  const wasm = wasmKernel();
  const coders = [javascriptCoder, ...(wasm ? [erasureCoder(wasm)] : [])];
  const sizes = SIZES.map((s) => measureSize(s.bytes, Math.max(2, Math.round(s.runs * scale)), coders));
  return { n: N, k: K, kernel: defaultCoder().kernel, decodeFrom: DECODE_FROM, sizes };
}

/** The default kernel's per-core figures for 64 MiB, against the target. */
export function erasureVerdicts(r: ErasureResult) {
  const big = r.sizes.at(-1)!;
  const row = (r.kernel === 'wasm' ? big.wasm : undefined) ?? big.js;
  const at = (value: number) => ({
    value,
    target: `>= ${ERASURE_TARGET_MBPS} MB/s per core`,
    met: value >= ERASURE_TARGET_MBPS,
  });
  return { encode: at(row.encode.mbpsPerCore), decode: at(row.decode.mbpsPerCore) };
}

export function printErasure(r: ErasureResult): void {
  const f = (s: Speed) => `${s.mbpsPerCore.toFixed(0).padStart(5)} (${s.mbps.toFixed(0).padStart(5)} wall)`;
  console.log(`erasure n=${r.n} k=${r.k}, MB/s per core (wall), decode from blocks ${r.decodeFrom.join(',')}:`);
  console.log('size     kernel  encode              decode              encode in place');
  for (const s of r.sizes) {
    for (const [name, row] of [
      ['js', s.js],
      ['wasm', s.wasm],
    ] as const) {
      if (row)
        console.log(
          `${`${s.bytes >> 20} MiB`.padEnd(8)} ${name.padEnd(7)} ${f(row.encode)}  ${f(row.decode)}  ${f(row.encodeInPlace)}`,
        );
    }
  }
}

async function main(): Promise<void> {
  const result = measureErasure(Number(process.env.BENCH_RUNS ?? 1));
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const targets = erasureVerdicts(result);
  await writeJsonAtomic(path.join(root, 'bench', 'results', 'erasure.json'), {
    benchmark: 'erasure',
    machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg() },
    ...result,
    targets,
  });
  printErasure(result);
  for (const [k, v] of Object.entries(targets))
    console.log(`${v.met ? 'MET ' : 'MISS'} erasure ${k}: ${v.value.toFixed(0)} (target ${v.target})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
