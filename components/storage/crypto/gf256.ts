/**
 * Arithmetic in GF(2^8) over x^8+x^4+x^3+x^2+1 (0x11d, generator 2): the usual Reed-Solomon field. Shared by the
 * JavaScript and WebAssembly erasure kernels so that both multiply with the very same tables.
 */

/** Elements of GF(2^8) other than 0: the multiplicative group's order. */
const GROUP_ORDER = 255;
/** The field polynomial x^8+x^4+x^3+x^2+1, with the x^8 bit. */
const FIELD_POLYNOMIAL = 0x11d;

const EXP = new Uint8Array(2 * (GROUP_ORDER + 1));
const LOG = new Uint8Array(GROUP_ORDER + 1);
(() => {
  let x = 1;
  for (let i = 0; i < GROUP_ORDER; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= FIELD_POLYNOMIAL;
  }
  for (let i = GROUP_ORDER; i < EXP.length; i++) EXP[i] = EXP[i - GROUP_ORDER]!;
})();

export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a]! + LOG[b]!]!;
}

export function gfInv(a: number): number {
  if (a === 0) throw new Error('GF(256): inverse of 0');
  return EXP[GROUP_ORDER - LOG[a]!]!;
}

/** Bytes of one coefficient's split tables: 16 products of the low nibble, then 16 of the high nibble. */
export const NIBBLE_TABLE_BYTES = 32;

/**
 * Split ("nibble") multiplication tables of every coefficient c, 32 bytes each at c * 32:
 * lo[x] = c * x and hi[x] = c * (x << 4) for x < 16. Multiplication distributes over XOR, so
 * c * b = lo[b & 15] ^ hi[b >> 4]: two 16-entry lookups, which is what a SIMD byte shuffle does for 16 bytes at once.
 */
export function nibbleTables(): Uint8Array {
  const t = new Uint8Array((GROUP_ORDER + 1) * NIBBLE_TABLE_BYTES);
  for (let c = 0; c <= GROUP_ORDER; c++) {
    for (let x = 0; x < 16; x++) {
      t[c * NIBBLE_TABLE_BYTES + x] = gfMul(c, x);
      t[c * NIBBLE_TABLE_BYTES + 16 + x] = gfMul(c, x << 4);
    }
  }
  return t;
}
