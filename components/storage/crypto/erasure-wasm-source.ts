/**
 * The WebAssembly SIMD erasure kernel's source, in flat WebAssembly text for our assembler (wasm-assembler.ts).
 *
 * One function, dotRow(desc, count, dst, len): dst[0..len) = XOR over the `count` terms of c * src[0..len), where
 * term t is two i32 at desc + 8t: the address of its source bytes and the address of its coefficient's split tables
 * (gf256.ts, nibbleTables: 16 products of the low nibble, then 16 of the high nibble). For 16 bytes v at once:
 * c * v = swizzle(lo, v & 0x0f) ^ swizzle(hi, v >> 4), where i8x16.swizzle is WebAssembly's pshufb / tbl.
 * The main loop produces 64 bytes per pass over the terms (four accumulators, so each term's tables are loaded once
 * per 64 bytes and the four shuffles chains are independent), then 16-byte steps, then bytes one by one for a tail
 * that is not a multiple of 16 (same tables, scalar lookups). The accumulators live in locals and are stored once,
 * so the output is written once and never read. count >= 1 (the caller's guarantee).
 */
import type { FuncSource } from './wasm-assembler.js';

/** Bytes per descriptor term: source address, table address. */
export const TERM_BYTES = 8;
/** Bytes produced per pass of the main loop: four 16-byte vectors. */
const MAIN_STEP = 64;
const VECTOR = 16;

const splat = (b: number) => `v128.const i8x16 ${Array(VECTOR).fill(b).join(' ')}`;

/** acc ^= c * (16 bytes at $src + offset), with the term's tables in $lo and $hi. */
const multiplyAccumulate = (acc: string, offset: number) => `
  local.get $src
  v128.load offset=${offset}
  local.set $v
  local.get ${acc}
  local.get $lo
  local.get $v
  local.get $mask
  v128.and
  i8x16.swizzle
  v128.xor
  local.get $hi
  local.get $v
  i32.const 4 ;; the high nibble
  i8x16.shr_u
  i8x16.swizzle
  v128.xor
  local.set ${acc}`;

/** One vector loop producing `accs.length` x 16 bytes per pass while at least that many bytes remain. */
function vectorLoop(name: string, accs: string[]): string {
  const step = accs.length * VECTOR;
  return `
  block $done${name}
    loop $next${name}
      local.get $off
      i32.const ${step}
      i32.add
      local.get $len
      i32.gt_u
      br_if $done${name}
      ${accs.map((a) => `${splat(0)}\n      local.set ${a}`).join('\n')}
      local.get $desc
      local.set $e
      loop $term${name}
        local.get $e
        i32.load
        local.get $off
        i32.add
        local.set $src
        local.get $e
        i32.load offset=4
        local.tee $tab
        v128.load
        local.set $lo
        local.get $tab
        v128.load offset=16
        local.set $hi
        ${accs.map((a, i) => multiplyAccumulate(a, i * VECTOR)).join('\n')}
        local.get $e
        i32.const ${TERM_BYTES}
        i32.add
        local.tee $e
        local.get $end
        i32.lt_u
        br_if $term${name}
      end
      local.get $dst
      local.get $off
      i32.add
      local.set $out
      ${accs.map((a, i) => `local.get $out\n      local.get ${a}\n      v128.store offset=${i * VECTOR}`).join('\n')}
      local.get $off
      i32.const ${step}
      i32.add
      local.set $off
      br $next${name}
    end
  end`;
}

/** The last len % 16 bytes, one at a time, with the same split tables read as bytes. */
const byteLoop = `
  block $doneBytes
    loop $nextByte
      local.get $off
      local.get $len
      i32.ge_u
      br_if $doneBytes
      i32.const 0
      local.set $acc
      local.get $desc
      local.set $e
      loop $termByte
        local.get $e
        i32.load
        local.get $off
        i32.add
        i32.load8_u
        local.set $b
        local.get $e
        i32.load offset=4
        local.set $tab
        local.get $acc
        local.get $tab
        local.get $b
        i32.const 15
        i32.and
        i32.add
        i32.load8_u
        i32.xor
        local.get $tab
        local.get $b
        i32.const 4 ;; the high nibble
        i32.shr_u
        i32.add
        i32.load8_u offset=16
        i32.xor
        local.set $acc
        local.get $e
        i32.const ${TERM_BYTES}
        i32.add
        local.tee $e
        local.get $end
        i32.lt_u
        br_if $termByte
      end
      local.get $dst
      local.get $off
      i32.add
      local.get $acc
      i32.store8
      local.get $off
      i32.const 1
      i32.add
      local.set $off
      br $nextByte
    end
  end`;

export const DOT_ROW: FuncSource = {
  name: 'dotRow',
  params: [
    ['$desc', 'i32'],
    ['$count', 'i32'],
    ['$dst', 'i32'],
    ['$len', 'i32'],
  ],
  locals: [
    ['$off', 'i32'],
    ['$e', 'i32'],
    ['$end', 'i32'],
    ['$src', 'i32'],
    ['$tab', 'i32'],
    ['$out', 'i32'],
    ['$b', 'i32'],
    ['$acc', 'i32'],
    ['$mask', 'v128'],
    ['$lo', 'v128'],
    ['$hi', 'v128'],
    ['$v', 'v128'],
    ['$a0', 'v128'],
    ['$a1', 'v128'],
    ['$a2', 'v128'],
    ['$a3', 'v128'],
  ],
  body: `
  ${splat(0x0f)}
  local.set $mask
  local.get $desc
  local.get $count
  i32.const ${TERM_BYTES}
  i32.mul
  i32.add
  local.set $end
  ${vectorLoop(
    'Main',
    Array.from({ length: MAIN_STEP / VECTOR }, (_, i) => `$a${i}`),
  )}
  ${vectorLoop('Vector', ['$a0'])}
  ${byteLoop}`,
};
