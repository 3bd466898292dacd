/**
 * The path rules of Amazon States Language, as the engine runs them: paths (`$`, `$.a.b`, `$.a[0]`, `$['a b']`,
 * `$$.Execution.Id` for the context object), reference paths (a path that names one place, for ResultPath), and
 * payload templates (Parameters, ResultSelector, ItemSelector: keys ending in `.$` take a path or an intrinsic
 * function). Pure: no I/O, no clock.
 *
 * Filters and wildcards (`$..a`, `$[*]`, `$[?(...)]`) are not supported: a definition that uses them is refused
 * when it is deployed, with the state's path, rather than being half-run.
 */
import { callIntrinsic, parseIntrinsic } from './intrinsics.js';
import { clone, isObject, type Json, type JsonObject, StatesError } from './json.js';

export type Segment = string | number;
export interface ParsedPath {
  /** `$` the state's data, `$$` the context object. */
  root: '$' | '$$';
  segments: Segment[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*/;

/** Parses a path; returns a reason string when it is not one this engine supports. */
export function parsePath(text: string): ParsedPath | string {
  let root: '$' | '$$';
  let i: number;
  if (text.startsWith('$$')) {
    root = '$$';
    i = 2;
  } else if (text.startsWith('$')) {
    root = '$';
    i = 1;
  } else return `path "${text}" must start with $ or $$`;
  const segments: Segment[] = [];
  while (i < text.length) {
    const rest = text.slice(i);
    if (rest.startsWith('.')) {
      const m = IDENT.exec(rest.slice(1));
      if (!m) return `path "${text}": expected a field name after "." at offset ${i}`;
      segments.push(m[0]);
      i += 1 + m[0].length;
    } else if (rest.startsWith('[')) {
      const idx = /^\[(\d+)\]/.exec(rest);
      const quoted = /^\['((?:[^'\\]|\\.)*)'\]/.exec(rest);
      if (idx) {
        segments.push(Number(idx[1]));
        i += idx[0].length;
      } else if (quoted) {
        segments.push(quoted[1]!.replace(/\\(.)/g, '$1'));
        i += quoted[0].length;
      } else return `path "${text}": only [N] and ['name'] are supported at offset ${i} (no wildcards or filters)`;
    } else return `path "${text}": unexpected "${rest[0]}" at offset ${i}`;
  }
  return { root, segments };
}

function mustParse(text: string): ParsedPath {
  const p = parsePath(text);
  if (typeof p === 'string') throw new StatesError('States.Runtime', p);
  return p;
}

/** The value a path names, or undefined when it names nothing. */
export function lookup(text: string, data: Json, context: Json): Json | undefined {
  const p = mustParse(text);
  let cur: Json | undefined = p.root === '$' ? data : context;
  for (const s of p.segments) {
    if (typeof s === 'number') cur = Array.isArray(cur) ? cur[s] : undefined;
    else cur = isObject(cur) && Object.hasOwn(cur, s) ? cur[s] : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** The value a path names; a path that names nothing fails the state (States.Runtime), as in Step Functions. */
export function select(text: string, data: Json, context: Json, field: string): Json {
  const v = lookup(text, data, context);
  if (v === undefined) throw new StatesError('States.Runtime', `${field}: the path ${text} matched nothing`);
  return v;
}

/** InputPath and OutputPath: absent means `$`, null means an empty object. */
export function applyPath(text: string | null | undefined, data: Json, context: Json, field: string): Json {
  if (text === undefined || text === '$') return data;
  if (text === null) return {};
  return select(text, data, context, field);
}

/**
 * ResultPath: where the result goes in the state's input. Absent or `$`: the result replaces the input; null: the
 * input passes through; else the result is written at that place, creating objects on the way.
 */
export function applyResultPath(text: string | null | undefined, input: Json, result: Json): Json {
  if (text === undefined || text === '$') return result;
  if (text === null) return input;
  const p = mustParse(text);
  if (p.root !== '$') throw new StatesError('States.Runtime', `ResultPath ${text} must start with $`);
  const out: Json = isObject(input) ? clone(input) : {};
  let cur = out as JsonObject;
  p.segments.forEach((s, k) => {
    if (typeof s === 'number') throw new StatesError('States.ResultPathMatchFailure', `${text}: no array indexes`);
    if (k === p.segments.length - 1) {
      cur[s] = result;
      return;
    }
    const next = cur[s];
    if (next !== undefined && !isObject(next)) {
      throw new StatesError('States.ResultPathMatchFailure', `ResultPath ${text}: ${s} is not an object`);
    }
    if (next === undefined) cur[s] = {};
    cur = cur[s] as JsonObject;
  });
  return out;
}

/** A payload template: keys ending in `.$` take the value of a path or an intrinsic function call. */
export function applyTemplate(template: Json, data: Json, context: Json): Json {
  if (Array.isArray(template)) return template.map((t) => applyTemplate(t, data, context));
  if (!isObject(template)) return template;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(template)) {
    if (k.endsWith('.$') && typeof v === 'string') out[k.slice(0, -2)] = evaluateDynamic(v, data, context, k);
    else out[k] = applyTemplate(v, data, context);
  }
  return out;
}

/** The value of a `.$` field: a path, or an intrinsic function such as States.Format. */
export function evaluateDynamic(text: string, data: Json, context: Json, field: string): Json {
  if (text.startsWith('States.')) {
    const call = parseIntrinsic(text);
    if (typeof call === 'string') throw new StatesError('States.IntrinsicFailure', `${field}: ${call}`);
    return callIntrinsic(call, (p) => select(p, data, context, field));
  }
  return clone(select(text, data, context, field));
}
