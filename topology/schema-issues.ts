/**
 * Turns zod issues into problems people can act on: our own wording, the position of the offending key
 * or value, and a hint (allowed values, "did you mean" for near misses).
 */
import type { z } from 'zod';
import type { Problem } from '../kernel/errors.js';
import { COMPONENT_KINDS, TopologySchema } from './schema.js';
import { closest } from './suggest.js';
import { type DataPath, formatPath, locate, type ParsedYaml } from './yaml-source.js';

interface ZodLike {
  _zod: { def: Record<string, unknown> & { type: string } };
}

/** Unwrap defaults and optionals: the schema of the value itself. */
function unwrap(schema: ZodLike): ZodLike {
  let cur = schema;
  for (let i = 0; i < 8 && (cur._zod.def.type === 'default' || cur._zod.def.type === 'optional'); i++) {
    cur = cur._zod.def.innerType as ZodLike;
  }
  return cur;
}

/**
 * The schema that describes the value at `path` (walking objects, records, arrays and the `kind`
 * discriminated union by the kind written in the file), or undefined. Reads zod's definitions, so a field
 * added to schema.ts is known here without further code.
 */
export function schemaAt(path: DataPath, data: unknown): ZodLike | undefined {
  let cur: ZodLike | undefined = unwrap(TopologySchema as unknown as ZodLike);
  for (let i = 0; i <= path.length && cur; i++) {
    const def: ZodLike['_zod']['def'] = cur._zod.def;
    if (def.type === 'union' && Array.isArray(def.options)) {
      // The component union: pick the option whose kind matches the data; none when the kind is unknown.
      const kind = (valueAt(data, path.slice(0, i)) as { kind?: unknown } | undefined)?.kind;
      cur = (def.options as ZodLike[]).map(unwrap).find((o) => {
        const shape = o._zod.def.shape as Record<string, ZodLike> | undefined;
        const lit = shape?.kind?._zod.def.values;
        return Array.isArray(lit) && lit.includes(kind);
      });
      if (!cur) return undefined;
      i--;
      continue;
    }
    if (i === path.length) return cur;
    const seg = path[i];
    if (def.type === 'object') cur = (def.shape as Record<string, ZodLike>)[String(seg)];
    else if (def.type === 'record') cur = def.valueType as ZodLike;
    else if (def.type === 'array') cur = def.element as ZodLike;
    else return undefined;
    cur = cur ? unwrap(cur) : undefined;
  }
  return cur;
}

/**
 * A key as error messages show it: long keys are cut, so a file that is not a topology at all (say, a credentials
 * file passed by mistake) is not echoed line by line into terminals and CI logs.
 */
function shownKey(key: string): string {
  return key.length > 32 ? `${key.slice(0, 24)}...(${key.length} chars)` : key;
}

/** The keys allowed in the object at `path` (for "did you mean" on unknown keys). */
export function allowedKeysAt(path: DataPath, data: unknown): string[] {
  const schema = schemaAt(path, data);
  if (schema?._zod.def.type !== 'object') return [];
  return Object.keys(schema._zod.def.shape as object);
}

function expectsInteger(path: DataPath, data: unknown): boolean {
  const def = schemaAt(path, data)?._zod.def;
  return def?.type === 'number' && (def.format === 'safeint' || def.format === 'int32');
}

export function valueAt(data: unknown, path: DataPath): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  return `${typeof value} ${String(value)}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  record: 'a mapping',
};

type Issue = z.core.$ZodIssue;
type IssueOf<C extends Issue['code']> = Extract<Issue, { code: C }>;

/** What every issue's wording needs: where it is, what is there, and how to make a problem at a position. */
interface IssueSite {
  path: DataPath;
  data: unknown;
  value: unknown;
  /** `path` as people read it (`components.vault.clouds[2]`), '' at the top level. */
  where: string;
  problem(message: string, hint: string | undefined, at: 'key' | 'value', p?: DataPath): Problem;
}

/** One zod issue -> one or more problems (an unknown-keys issue gives one problem per key). */
export function issueToProblems(issue: Issue, parsed: ParsedYaml, file: string): Problem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const data = parsed.data;
  const site: IssueSite = {
    path,
    data,
    value: valueAt(data, path),
    where: formatPath(path),
    problem: (message, hint, at, p = path) => ({
      code: 'TC010',
      severity: 'error',
      message,
      ...(hint === undefined ? {} : { hint }),
      file,
      ...locate(parsed, p, at),
      path: formatPath(p),
    }),
  };
  switch (issue.code) {
    case 'unrecognized_keys':
      return unknownKeys(issue, site);
    case 'invalid_type':
      return [wrongType(issue, site)];
    case 'invalid_value':
      return [notAllowedValue(issue, site)];
    case 'invalid_union':
      return [invalidUnion(issue, site)];
    case 'invalid_key':
      return [invalidName(issue, site)];
    case 'invalid_format':
      return [invalidFormat(issue, site)];
    case 'too_small':
      return [tooSmall(issue, site)];
    case 'too_big':
      return [tooBig(issue, site)];
    default:
      return [site.problem(`${site.where || 'the file'}: ${issue.message}`, undefined, 'value')];
  }
}

/** TC011 per unknown key, at the key, with "did you mean" when a near allowed key exists. */
function unknownKeys(issue: IssueOf<'unrecognized_keys'>, { path, data, where, problem }: IssueSite): Problem[] {
  const allowed = allowedKeysAt(path, data);
  return issue.keys.map((key) => {
    const p = [...path, key];
    const near = closest(key, allowed);
    const inWhat = where === '' ? 'at the top level' : `in ${where}`;
    return {
      ...problem(`unknown key "${shownKey(key)}" ${inWhat}`, undefined, 'key', p),
      code: 'TC011',
      hint: near
        ? `did you mean "${near}"? allowed keys: ${allowed.join(', ')}`
        : `allowed keys: ${allowed.join(', ')}`,
    };
  });
}

/** A missing required field (reported at the object that lacks it), or a value of the wrong type. */
function wrongType(issue: IssueOf<'invalid_type'>, { path, data, value, where, problem }: IssueSite): Problem {
  const expected =
    issue.expected === 'number' && expectsInteger(path, data)
      ? 'an integer'
      : (EXPECTED[issue.expected] ?? issue.expected);
  if (value === undefined) {
    const field = path[path.length - 1];
    const parent = formatPath(path.slice(0, -1));
    return problem(
      `missing required field "${String(field)}"${parent ? ` in ${parent}` : ''}`,
      `add ${String(field)}: <${expected.replace(/^an? /, '')}>`,
      'value',
      path.slice(0, -1),
    );
  }
  return problem(`${where || 'the file'} must be ${expected}, not ${describe(value)}`, typeHint(path), 'value');
}

/** A value outside an enum: the allowed values, and the nearest one. */
function notAllowedValue(issue: IssueOf<'invalid_value'>, { value, where, problem }: IssueSite): Problem {
  const allowed = issue.values.map((v) => String(v));
  const near = typeof value === 'string' ? closest(value, allowed) : undefined;
  return problem(
    `${where} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, not ${describe(value)}`,
    near ? `did you mean "${near}"?` : undefined,
    'value',
  );
}

/** The component union: a missing or unknown `kind`; any other union in its own words. */
function invalidUnion(issue: IssueOf<'invalid_union'>, { path, value, where, problem }: IssueSite): Problem {
  const disc = (issue as { discriminator?: string }).discriminator;
  if (disc !== 'kind') return problem(`${where} is not valid: ${issue.message}`, undefined, 'value');
  const kinds = COMPONENT_KINDS.join(', ');
  if (value === undefined) {
    return problem(
      `component "${String(path[path.length - 2])}" has no kind`,
      `add kind: one of ${kinds}`,
      'key',
      path.slice(0, -1),
    );
  }
  const near = typeof value === 'string' ? closest(value, COMPONENT_KINDS) : undefined;
  return problem(
    `${where} must be one of ${kinds}, not ${describe(value)}`,
    near ? `did you mean "${near}"?` : undefined,
    'value',
  );
}

/** A record key (a cloud or component name) that is not a valid name. */
function invalidName(issue: IssueOf<'invalid_key'>, { path, problem }: IssueSite): Problem {
  const key = path[path.length - 1];
  const inner = issue.issues[0];
  const reason =
    inner?.code === 'invalid_format' ? 'must match [a-z][a-z0-9-]{0,39}' : (inner?.message ?? 'is invalid');
  return problem(
    `name "${String(key)}" in ${formatPath(path.slice(0, -1))} ${reason}`,
    'names start with a lowercase letter and use lowercase letters, digits and dashes (at most 40)',
    'key',
  );
}

function invalidFormat(issue: IssueOf<'invalid_format'>, { value, where, problem }: IssueSite): Problem {
  if (issue.format === 'regex') {
    return problem(
      `${where} ${issue.message}, not ${describe(value)}`,
      'names start with a lowercase letter and use lowercase letters, digits and dashes (at most 40)',
      'value',
    );
  }
  return problem(`${where} must be a valid ${issue.format}, not ${describe(value)}`, undefined, 'value');
}

function tooSmall(issue: IssueOf<'too_small'>, { value, where, problem }: IssueSite): Problem {
  const min = Number(issue.minimum);
  if (issue.origin === 'array')
    return problem(`${where} must list at least ${min} item${min === 1 ? '' : 's'}`, undefined, 'value');
  if (issue.origin === 'string') return problem(`${where} must not be empty`, undefined, 'value');
  return problem(`${where} must be at least ${min}, not ${describe(value)}`, undefined, 'value');
}

function tooBig(issue: IssueOf<'too_big'>, { value, where, problem }: IssueSite): Problem {
  const max = Number(issue.maximum);
  if (issue.origin === 'array') return problem(`${where} must list at most ${max} items`, undefined, 'value');
  return problem(`${where} must be at most ${max}, not ${describe(value)}`, undefined, 'value');
}

function typeHint(path: DataPath): string | undefined {
  if (path.length === 0)
    return 'a topology is a YAML mapping with name, mode, clouds and components (see `tclouds init`)';
  if (path.length === 1 && (path[0] === 'clouds' || path[0] === 'components'))
    return `${String(path[0])} is a mapping keyed by name, e.g. "${path[0] === 'clouds' ? 'lab: { provider: local }' : 'vault: { kind: storage, f: 1, clouds: [...] }'}"`;
  if (path[path.length - 1] === 'clouds') return 'a list of cloud names, e.g. [aws-eu, azure-we, gcp-ew, lab]';
  return undefined;
}
