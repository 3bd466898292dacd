/**
 * The WebAssembly SIMD erasure kernel (source in erasure-wasm-source.ts). Assembled and compiled on first use (a
 * few KiB, well under a millisecond), so commands that never erasure-code never pay for it.
 *
 * Memory layout, one instance per thread, reused from call to call and grown when a call needs more:
 *   [0, 8 KiB)        split tables of all 256 coefficients (written once)
 *   [8 KiB, ...)      the call's terms: per output row, k (source address, table address) pairs
 *   then              one stripe: k input chunks and m output chunks.
 * Blocks are processed stripe by stripe: each input chunk is copied in once, every output row is computed from the
 * chunks, and each output chunk is copied out once. A stripe fits in the core's L2 cache, so the copies and the
 * kernel work on cached bytes and the memory never grows with the object's size.
 */

import type { ErasureKernel } from './erasure-kernel.js';
import type { Matrix } from './erasure-matrix.js';
import { DOT_ROW, TERM_BYTES } from './erasure-wasm-source.js';
import { NIBBLE_TABLE_BYTES, nibbleTables } from './gf256.js';
import { assembleModule } from './wasm-assembler.js';

const PAGE_BYTES = 65536;
const TABLES_BYTES = 256 * NIBBLE_TABLE_BYTES;
/** Bytes of one stripe (all k + m chunks): well inside a core's L2 cache (128 KiB to 2 MiB measured within noise). */
const STRIPE_BYTES = 256 * 1024;
/** Chunk bounds: large enough that per-call overhead vanishes, a multiple of the kernel's 64-byte step. */
const MIN_CHUNK = 1024;
const MAX_CHUNK = 128 * 1024;
const CHUNK_ALIGN = 64;

type DotRow = (desc: number, count: number, dst: number, len: number) => void;

/** The part of the WebAssembly JS API we use (the project's TypeScript libs do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

interface Instance {
  memory: WasmMemory;
  dotRow: DotRow;
  bytes: Uint8Array;
  words: Uint32Array;
}

/** The assembled module's bytes (exported for the tests, which check that it validates). */
export function erasureModuleBytes(): Uint8Array {
  return assembleModule([DOT_ROW], 1);
}

/** undefined: not tried yet; null: WebAssembly (or its SIMD) is not available here. */
let instance: Instance | null | undefined;

function instantiate(code: Uint8Array): Instance | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return null;
  try {
    if (!wasm.validate(code)) return null;
    const inst = new wasm.Instance(new wasm.Module(code), {});
    const memory = inst.exports.memory as WasmMemory;
    const it: Instance = {
      memory,
      dotRow: inst.exports.dotRow as DotRow,
      bytes: new Uint8Array(memory.buffer),
      words: new Uint32Array(memory.buffer),
    };
    it.bytes.set(nibbleTables(), 0);
    return it;
  } catch {
    // A runtime without SIMD rejects the module (CompileError): the JavaScript kernel takes over.
    return null;
  }
}

function ensureMemory(it: Instance, needed: number): void {
  const have = it.memory.buffer.byteLength;
  if (needed <= have) return;
  it.memory.grow(Math.ceil((needed - have) / PAGE_BYTES));
  it.bytes = new Uint8Array(it.memory.buffer);
  it.words = new Uint32Array(it.memory.buffer);
}

const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;

function chunkSize(blocks: number, size: number): number {
  const fit = Math.floor(STRIPE_BYTES / blocks / CHUNK_ALIGN) * CHUNK_ALIGN;
  return Math.min(Math.max(fit, MIN_CHUNK), MAX_CHUNK, alignUp(size, CHUNK_ALIGN));
}

function apply(it: Instance, rows: Matrix, ins: readonly Uint8Array[], outs: readonly Uint8Array[]): void {
  const size = ins[0]?.length ?? 0;
  const k = ins.length;
  const m = rows.length;
  if (size === 0 || m === 0) return;
  const chunk = chunkSize(k + m, size);
  const descAt = TABLES_BYTES;
  const inAt = alignUp(descAt + m * k * TERM_BYTES, CHUNK_ALIGN);
  const outAt = inAt + k * chunk;
  ensureMemory(it, outAt + m * chunk);
  const words = it.words;
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < k; i++) {
      const w = (descAt + (j * k + i) * TERM_BYTES) >>> 2;
      words[w] = inAt + i * chunk;
      words[w + 1] = rows[j]![i]! * NIBBLE_TABLE_BYTES;
    }
  }
  const mem = it.bytes;
  for (let s = 0; s < size; s += chunk) {
    const len = Math.min(chunk, size - s);
    for (let i = 0; i < k; i++) mem.set(ins[i]!.subarray(s, s + len), inAt + i * chunk);
    for (let j = 0; j < m; j++) it.dotRow(descAt + j * k * TERM_BYTES, k, outAt + j * chunk, len);
    for (let j = 0; j < m; j++) outs[j]!.set(mem.subarray(outAt + j * chunk, outAt + j * chunk + len), s);
  }
}

const kernelOf = (it: Instance): ErasureKernel => ({
  name: 'wasm',
  apply: (rows, ins, outs) => apply(it, rows, ins, outs),
});

/** A kernel running the module `code`, or undefined if this runtime rejects it (tests feed it broken modules). */
export function loadWasmKernel(code: Uint8Array): ErasureKernel | undefined {
  const it = instantiate(code);
  return it ? kernelOf(it) : undefined;
}

let kernel: ErasureKernel | undefined;

/** The WebAssembly SIMD kernel (one per thread), or undefined where this runtime cannot run it. */
export function wasmKernel(): ErasureKernel | undefined {
  if (instance === undefined) instance = instantiate(erasureModuleBytes());
  if (!instance) return undefined;
  kernel ??= kernelOf(instance);
  return kernel;
}
