/**
 * The erasure code's two kernels: WebAssembly SIMD (the default where it runs) and JavaScript (the fallback and the
 * reference). Both give the bytes the original coder gave (stored objects stay readable), agree with each other on
 * random inputs for every shape the module accepts, and rebuild the data from any k of the n blocks.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultCoder,
  type ErasureCoder,
  erasureCoder,
  gfMul,
  javascriptCoder,
} from '../../components/storage/crypto/erasure.js';
import { erasureModuleBytes, loadWasmKernel, wasmKernel } from '../../components/storage/crypto/erasure-wasm.js';
import { assembleModule } from '../../components/storage/crypto/wasm-assembler.js';
import { repo } from '../support/cli.js';

const wasm = wasmKernel();
const wasmCoder = wasm ? erasureCoder(wasm) : undefined;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const pattern = (len: number, seed: number) =>
  Uint8Array.from({ length: len }, (_, i) => (i * 131 + seed * 7 + (i >> 8)) & 0xff);

/** Lengths around the kernel's 16- and 64-byte steps and the 8-byte block padding, and random ones. */
const lengths = fc.oneof(
  fc.constantFrom(0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129, 1023, 1025),
  fc.integer({ min: 0, max: 20_000 }),
);
/** (n, k) with 1 <= k <= n: DepSky's n = 3f+1, k = f+1 and any other shape the module accepts. */
const shapes = fc
  .oneof(fc.integer({ min: 1, max: 16 }), fc.constantFrom(4, 7, 10, 13, 40, 255))
  .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n })));

/** Input bytes at a random byte offset inside a larger buffer (views are what callers pass). */
const inputs = fc
  .tuple(lengths, fc.integer({ min: 0, max: 7 }))
  .chain(([len, at]) => fc.uint8Array({ minLength: len + at, maxLength: len + at }).map((b) => b.subarray(at)));

const same = (a: Uint8Array[], b: Uint8Array[]) => a.length === b.length && a.every((x, i) => hex(x) === hex(b[i]!));

/** Any k of the n block indices, in a random order of choice. */
const subsetOf = (n: number, k: number) =>
  fc.shuffledSubarray(
    Array.from({ length: n }, (_, i) => i),
    { minLength: k, maxLength: k },
  );

describe('erasure kernels', () => {
  it('WebAssembly SIMD runs here (Node 20+) and is the default', () => {
    expect(wasm).toBeDefined();
    const api = (globalThis as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly;
    expect(api?.validate(erasureModuleBytes())).toBe(true);
    expect(defaultCoder().kernel).toBe('wasm');
  });

  it('a module the runtime rejects gives no kernel (the JavaScript one is used), and bad source does not assemble', () => {
    const broken = erasureModuleBytes().slice();
    broken[broken.length - 2] = 0xfd; // an unfinished SIMD instruction before the final \`end\`
    expect(loadWasmKernel(broken)).toBeUndefined();
    expect(loadWasmKernel(new Uint8Array([0, 0x61, 0x73, 0x6d]))).toBeUndefined();
    const source = { name: 'f', params: [], locals: [] };
    expect(() => assembleModule([{ ...source, body: 'i64.popcnt' }], 1)).toThrow(/unknown instruction/);
    expect(() => assembleModule([{ ...source, body: 'br $nowhere' }], 1)).toThrow(/no enclosing label/);
    expect(() => assembleModule([{ ...source, body: 'block $open' }], 1)).toThrow(/unclosed block/);
  });

  it('both kernels give the bytes the original coder gave (stored objects stay readable)', () => {
    // SHA-256 of the n blocks of encode(pattern(len, n + k), n, k), computed with the coder before the kernels.
    const golden: [number, number, number, string][] = [
      [4, 2, 1000, '861914b41b6fe01eaeb98541dcdd78132a0d5fddb59d68b3b23fb33f595a1c75'],
      [4, 2, 65537, 'beb69794735e807e02662e00a100251b727db55bcae15ac8dc67b8bb21b7ab8a'],
      [7, 3, 4099, '33f4d39561e5a40f4aaf720000ed028f7a8c9c1d60ccaee286890a78282ba0c6'],
      [10, 4, 17, '6e1f0d6061d98ffef3dfbdc7ad30f08e1725e331068d4fce013e1cbfebc326e6'],
      [13, 5, 100000, '03a685aec42fd91e8b8d3e65f834eafdf02658eb6eea5705082fe790015986fe'],
      [5, 1, 33, '92f3fa85993fe5daa7a9cbadb144af6283331f291292d453f2e5d6e1c85c2274'],
    ];
    for (const coder of [javascriptCoder, wasmCoder!]) {
      for (const [n, k, len, digest] of golden) {
        const h = createHash('sha256');
        for (const b of coder.encode(pattern(len, n + k), n, k)) h.update(b);
        expect(h.digest('hex'), `${coder.kernel} n=${n} k=${k} len=${len}`).toBe(digest);
      }
    }
  });

  it('encode: WebAssembly and JavaScript give identical blocks for every n, k and length', () => {
    fc.assert(
      fc.property(shapes, inputs, ([n, k], data) => {
        expect(same(wasmCoder!.encode(data, n, k), javascriptCoder.encode(data, n, k))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('encodeParity in place: identical parity from both kernels', () => {
    fc.assert(
      fc.property(shapes, lengths, ([n, k], len) => {
        const blocksFor = () => {
          const data = javascriptCoder.encode(pattern(len, n), n, k).slice(0, k);
          const size = data[0]!.length;
          return [...data.map((b) => b.slice()), ...Array.from({ length: n - k }, () => new Uint8Array(size))];
        };
        const a = blocksFor();
        const b = blocksFor();
        javascriptCoder.encodeParity(a, n, k);
        wasmCoder!.encodeParity(b, n, k);
        expect(same(a, b)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('decode from any k of the n blocks returns the input, with either kernel', () => {
    const cases = shapes.chain(([n, k]) => fc.tuple(fc.constant(n), fc.constant(k), subsetOf(n, k), inputs));
    fc.assert(
      fc.property(cases, ([n, k, keep, data]) => {
        const blocks = wasmCoder!.encode(data, n, k);
        const held = blocks.map((b, i) => (keep.includes(i) ? b : undefined));
        for (const coder of [wasmCoder!, javascriptCoder] as ErasureCoder[]) {
          expect(hex(coder.decode(held, n, k, data.length))).toBe(hex(data));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the kernel takes any length and byte offset: odd tails match a byte-by-byte product', () => {
    const cases = fc.record({
      k: fc.integer({ min: 1, max: 6 }),
      m: fc.integer({ min: 1, max: 4 }),
      len: fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, 63, 64, 65, 79, 81), fc.integer({ min: 0, max: 600 })),
      at: fc.integer({ min: 0, max: 15 }),
      seed: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(cases, ({ k, m, len, at, seed }) => {
        // Coefficients cover 0, 1 and the rest of the field.
        const rows = Array.from({ length: m }, (_, j) =>
          Array.from({ length: k }, (_, i) => (seed * 37 + j * 11 + i * 5) & 0xff),
        );
        const ins = Array.from({ length: k }, (_, i) => pattern(len + at, seed + i).subarray(at));
        const outs = Array.from({ length: m }, () => new Uint8Array(len + 3).subarray(3));
        wasm!.apply(rows, ins, outs);
        for (let j = 0; j < m; j++) {
          const want = new Uint8Array(len);
          for (let x = 0; x < len; x++) for (let i = 0; i < k; i++) want[x]! ^= gfMul(rows[j]![i]!, ins[i]![x]!);
          expect(hex(outs[j]!)).toBe(hex(want));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('objects of many stripes, and a shape that grows the WebAssembly memory, then small calls again', () => {
    for (const [n, k, len] of [
      [4, 2, (3 << 20) + 24],
      [255, 100, 300_000],
      [4, 2, 40],
    ] as const) {
      const data = pattern(len, n);
      const blocks = wasmCoder!.encode(data, n, k);
      expect(same(blocks, javascriptCoder.encode(data, n, k))).toBe(true);
      const held = blocks.map((b, i) => (i >= n - k ? b : undefined));
      expect(hex(wasmCoder!.decode(held, n, k, len))).toBe(hex(data));
    }
  });

  it('falls back to JavaScript where WebAssembly is unavailable (node --jitless), with the same bytes', async () => {
    const module = path.join(repo, 'components/storage/crypto/erasure.ts');
    const script = `
      const { defaultCoder } = await import(${JSON.stringify(module)});
      const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 6 * 7 + (i >> 8)) & 0xff);
      const c = defaultCoder();
      const blocks = c.encode(data, 4, 2);
      const back = c.decode([undefined, blocks[1], blocks[2], undefined], 4, 2, 1000);
      const h = (await import('node:crypto')).createHash('sha256');
      for (const b of blocks) h.update(b);
      console.log(JSON.stringify({ kernel: c.kernel, digest: h.digest('hex'), ok: Buffer.from(back).equals(data) }));`;
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      ['--jitless', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: repo,
      },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      kernel: 'js',
      digest: '861914b41b6fe01eaeb98541dcdd78132a0d5fddb59d68b3b23fb33f595a1c75',
      ok: true,
    });
  });
});
