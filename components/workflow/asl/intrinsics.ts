/**
 * Intrinsic functions of Amazon States Language that are deterministic (no States.UUID, no hashing of secrets):
 * States.Format, States.StringToJson, States.JsonToString, States.Array, States.ArrayLength, States.ArrayRange,
 * States.ArrayGetItem, States.ArrayContains, States.MathAdd, States.StringSplit. Arguments are string literals in
 * single quotes, numbers, booleans, null, paths, or nested calls.
 */
import { type Json, StatesError } from './json.js';

export type Arg = { lit: Json } | { path: string } | IntrinsicCall;
export interface IntrinsicCall {
  fn: string;
  args: Arg[];
}

export const INTRINSICS = [
  'States.Format',
  'States.StringToJson',
  'States.JsonToString',
  'States.Array',
  'States.ArrayLength',
  'States.ArrayRange',
  'States.ArrayGetItem',
  'States.ArrayContains',
  'States.MathAdd',
  'States.StringSplit',
] as const;

/** Parses `States.Fn(args)`; returns a reason string when it is not a supported call. */
export function parseIntrinsic(text: string): IntrinsicCall | string {
  let i = 0;
  const ws = () => {
    while (text[i] === ' ') i++;
  };
  const call = (): IntrinsicCall => {
    const m = /^States\.[A-Za-z]+/.exec(text.slice(i));
    if (!m || !(INTRINSICS as readonly string[]).includes(m[0])) throw new Error(`unknown intrinsic at offset ${i}`);
    i += m[0].length;
    if (text[i] !== '(') throw new Error(`expected "(" after ${m[0]}`);
    i++;
    const args: Arg[] = [];
    ws();
    while (text[i] !== ')') {
      args.push(arg());
      ws();
      if (text[i] === ',') {
        i++;
        ws();
      } else if (text[i] !== ')') throw new Error(`expected "," or ")" at offset ${i}`);
    }
    i++;
    return { fn: m[0], args };
  };
  const arg = (): Arg => {
    const rest = text.slice(i);
    if (rest.startsWith("'")) {
      const m = /^'((?:[^'\\]|\\.)*)'/.exec(rest);
      if (!m) throw new Error(`unterminated string at offset ${i}`);
      i += m[0].length;
      return { lit: m[1]!.replace(/\\(.)/g, '$1') };
    }
    if (rest.startsWith('States.')) return call();
    if (rest.startsWith('$')) {
      const m = /^\$\$?[^,)\s]*/.exec(rest)!;
      i += m[0].length;
      return { path: m[0] };
    }
    const m = /^(-?\d+(?:\.\d+)?|true|false|null)/.exec(rest);
    if (!m) throw new Error(`unexpected argument at offset ${i}`);
    i += m[0].length;
    return { lit: JSON.parse(m[0]) as Json };
  };
  try {
    const c = call();
    if (i !== text.length) return `trailing text after the call at offset ${i}`;
    return c;
  } catch (e) {
    return `${(e as Error).message} in ${text}`;
  }
}

const fail = (fn: string, why: string): never => {
  throw new StatesError('States.IntrinsicFailure', `${fn}: ${why}`);
};
const num = (fn: string, v: Json): number => (typeof v === 'number' ? v : fail(fn, 'expects numbers'));
const arr = (fn: string, v: Json): Json[] => (Array.isArray(v) ? v : fail(fn, 'expects an array'));

export function callIntrinsic(c: IntrinsicCall, resolve: (path: string) => Json): Json {
  const a = c.args.map((x) => ('lit' in x ? x.lit : 'path' in x ? resolve(x.path) : callIntrinsic(x, resolve)));
  switch (c.fn) {
    case 'States.Format': {
      const [fmt, ...rest] = a;
      if (typeof fmt !== 'string') return fail(c.fn, 'the first argument is the format string');
      let k = 0;
      return fmt.replace(/\{\}/g, () => {
        const v = rest[k++];
        return typeof v === 'string' ? v : JSON.stringify(v ?? null);
      });
    }
    case 'States.StringToJson':
      try {
        return JSON.parse(String(a[0])) as Json;
      } catch {
        return fail(c.fn, 'the argument is not JSON text');
      }
    case 'States.JsonToString':
      return JSON.stringify(a[0] ?? null);
    case 'States.Array':
      return a;
    case 'States.ArrayLength':
      return arr(c.fn, a[0] ?? null).length;
    case 'States.ArrayRange':
      return arrayRange(c.fn, a);
    case 'States.ArrayGetItem': {
      const v = arr(c.fn, a[0] ?? null)[num(c.fn, a[1] ?? null)];
      return v === undefined ? fail(c.fn, 'index out of range') : v;
    }
    case 'States.ArrayContains':
      return arr(c.fn, a[0] ?? null).some((x) => JSON.stringify(x) === JSON.stringify(a[1] ?? null));
    case 'States.MathAdd':
      return num(c.fn, a[0] ?? null) + num(c.fn, a[1] ?? null);
    case 'States.StringSplit':
      return typeof a[0] === 'string' && typeof a[1] === 'string'
        ? a[0].split(a[1]).filter((s) => s !== '')
        : fail(c.fn, 'expects two strings');
    default:
      return fail(c.fn, 'not supported');
  }
}

/** Step Functions caps ArrayRange at 1000 items. */
const MAX_ARRAY_RANGE = 1000;

function arrayRange(fn: string, a: Json[]): Json {
  const [from, to, step] = [num(fn, a[0] ?? null), num(fn, a[1] ?? null), num(fn, a[2] ?? null)];
  if (step === 0) return fail(fn, 'step is 0');
  const out: number[] = [];
  for (let v = from; step > 0 ? v <= to : v >= to; v += step) {
    out.push(v);
    if (out.length > MAX_ARRAY_RANGE) return fail(fn, `more than ${MAX_ARRAY_RANGE} items`);
  }
  return out;
}
