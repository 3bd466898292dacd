/**
 * Re-deriving a lost Shamir share from f+1 others, without combining the secret (what `storage scrub --repair`
 * does for a cloud whose DepSky-CA key share is gone).
 *
 * The shares come from the `shamir-secret-sharing` package (crypto/primitives.ts): a share is the secret's bytes
 * each evaluated on its own polynomial of degree threshold-1 over GF(2^8) with the AES polynomial
 * x^8 + x^4 + x^3 + x + 1, followed by one byte, the x coordinate. The coordinates are a random permutation of
 * 1..255 picked at write time, so a lost share's coordinate is not known: the caller tries the coordinates the
 * known shares do not use and keeps the one whose rebuilt file matches the signed digest (at most 255 hashes).
 * Lagrange interpolation at that coordinate gives the share's bytes; the secret (the value at 0) is never formed.
 */

/** The field's reduction polynomial without its x^8 term (x^4 + x^3 + x + 1). */
const REDUCTION = 0x1b;
/** Largest x coordinate of a share (coordinates are 1..255; 0 is where the secret sits). */
export const MAX_SHARE_X = 255;

function mul(a: number, b: number): number {
  let r = 0;
  let x = a;
  let y = b;
  while (y > 0) {
    if (y & 1) r ^= x;
    x = x & 0x80 ? ((x << 1) ^ REDUCTION) & 0xff : (x << 1) & 0xff;
    y >>= 1;
  }
  return r;
}

/** Multiplicative inverse (a^254; a != 0). */
function inv(a: number): number {
  let r = 1;
  let base = a;
  let e = 254;
  while (e > 0) {
    if (e & 1) r = mul(r, base);
    base = mul(base, base);
    e >>= 1;
  }
  return r;
}

/** The x coordinate of a share (its last byte). */
export function shareX(share: Uint8Array): number {
  return share[share.length - 1]!;
}

/** Coordinates that none of `shares` uses: where a lost share may sit. */
export function freeCoordinates(shares: readonly Uint8Array[]): number[] {
  const used = new Set(shares.map(shareX));
  const out: number[] = [];
  for (let x = 1; x <= MAX_SHARE_X; x++) if (!used.has(x)) out.push(x);
  return out;
}

/**
 * The share at coordinate `x` of the polynomials through `shares` (exactly `threshold` shares of one secret, all
 * of one length, distinct coordinates). Same format as the package's shares: value bytes, then x.
 */
export function shareAt(shares: readonly Uint8Array[], x: number): Uint8Array {
  const xs = shares.map(shareX);
  // Lagrange basis at x: prod_{j != i} (x - x_j) / (x_i - x_j); subtraction is XOR in GF(2^8).
  const basis = xs.map((xi, i) => {
    let num = 1;
    let den = 1;
    xs.forEach((xj, j) => {
      if (j === i) return;
      num = mul(num, x ^ xj);
      den = mul(den, xi ^ xj);
    });
    return mul(num, inv(den));
  });
  const length = shares[0]!.length;
  const out = new Uint8Array(length);
  for (let b = 0; b < length - 1; b++) {
    let y = 0;
    for (let i = 0; i < shares.length; i++) y ^= mul(shares[i]![b]!, basis[i]!);
    out[b] = y;
  }
  out[length - 1] = x;
  return out;
}
