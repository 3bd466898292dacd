/**
 * Numbers in `--json` output as people and scripts read them: a probability computed as 0.64 prints 0.64, not
 * 0.6400000000000001. Twelve significant digits keep every figure we compute (exact binary fractions such as
 * 0.0079345703125 included) and drop only the last-bit noise of floating-point sums.
 */

/** Significant digits kept in a non-integer. */
export const JSON_SIGNIFICANT_DIGITS = 12;

/** A JSON.stringify replacer: integers as they are, other finite numbers rounded to JSON_SIGNIFICANT_DIGITS. */
export function displayNumber(_key: string, value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)
    ? Number(value.toPrecision(JSON_SIGNIFICANT_DIGITS))
    : value;
}

/** One value as compact JSON with display numbers. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, displayNumber);
}

/** The same value with display numbers, for printers that take an object (oclif's logJson). */
export function withDisplayNumbers<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(jsonText(value)) as T);
}
