/**
 * Choice rules of Amazon States Language: checking their shape (at deploy) and evaluating them (at run time).
 * Comparisons: String*, Numeric*, Boolean* (each with a *Path form comparing two paths), StringMatches (`*`
 * wildcards, `\*` a literal star), IsNull, IsPresent, IsNumeric, IsString, IsBoolean; And, Or, Not.
 * Timestamp comparisons are refused at deploy: this engine keeps no time zone rules.
 */
import { isObject, type Json, StatesError } from './json.js';
import { lookup, parsePath } from './paths.js';

type Kind = 'string' | 'number' | 'boolean';
const OPS: Record<string, { kind: Kind; cmp: (a: never, b: never) => boolean }> = {};
const compareOps: [string, (c: number) => boolean][] = [
  ['Equals', (c) => c === 0],
  ['LessThan', (c) => c < 0],
  ['GreaterThan', (c) => c > 0],
  ['LessThanEquals', (c) => c <= 0],
  ['GreaterThanEquals', (c) => c >= 0],
];
const order = <T extends string | number>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);
for (const [name, ok] of compareOps) {
  OPS[`String${name}`] = { kind: 'string', cmp: ((a: string, b: string) => ok(order(a, b))) as never };
  OPS[`Numeric${name}`] = { kind: 'number', cmp: ((a: number, b: number) => ok(order(a, b))) as never };
}
OPS.BooleanEquals = { kind: 'boolean', cmp: ((a: boolean, b: boolean) => a === b) as never };
const TYPE_TESTS: Record<string, (v: Json | undefined) => boolean> = {
  IsNull: (v) => v === null,
  IsPresent: (v) => v !== undefined,
  IsNumeric: (v) => typeof v === 'number',
  IsString: (v) => typeof v === 'string',
  IsBoolean: (v) => typeof v === 'boolean',
};
const META = new Set(['Variable', 'Next', 'Comment']);

export type RuleIssue = { path: string; reason: string };

/** Problems of one rule; `top` rules carry Next, nested ones (under And, Or, Not) do not. */
export function checkChoiceRule(rule: Json, top: boolean): RuleIssue[] {
  if (!isObject(rule)) return [{ path: '', reason: 'a Choice rule is an object' }];
  const issues: RuleIssue[] = [];
  if (top && typeof rule.Next !== 'string')
    issues.push({ path: '.Next', reason: 'a top-level Choice rule needs Next' });
  if (!top && rule.Next !== undefined) issues.push({ path: '.Next', reason: 'only top-level Choice rules have Next' });
  const ops = Object.keys(rule).filter((k) => !META.has(k));
  if (ops.length !== 1) return [...issues, { path: '', reason: `a Choice rule has one operator, found ${ops.length}` }];
  const op = ops[0]!;
  const v = rule[op];
  if (op === 'And' || op === 'Or') {
    if (!Array.isArray(v) || v.length === 0)
      return [...issues, { path: `.${op}`, reason: `${op} takes a list of rules` }];
    v.forEach((r, i) => {
      for (const x of checkChoiceRule(r, false)) issues.push({ path: `.${op}[${i}]${x.path}`, reason: x.reason });
    });
    return issues;
  }
  if (op === 'Not')
    return [...issues, ...checkChoiceRule(v ?? null, false).map((x) => ({ ...x, path: `.Not${x.path}` }))];
  if (typeof rule.Variable !== 'string') return [...issues, { path: '.Variable', reason: `${op} needs a Variable` }];
  const pv = parsePath(rule.Variable);
  if (typeof pv === 'string') issues.push({ path: '.Variable', reason: pv });
  const base = op.endsWith('Path') ? op.slice(0, -4) : op;
  if (TYPE_TESTS[op]) {
    if (typeof v !== 'boolean') issues.push({ path: `.${op}`, reason: `${op} takes true or false` });
  } else if (op === 'StringMatches') {
    if (typeof v !== 'string') issues.push({ path: `.${op}`, reason: 'StringMatches takes a string' });
  } else if (OPS[base]) {
    if (op !== base) {
      const p = typeof v === 'string' ? parsePath(v) : 'takes a path';
      if (typeof p === 'string') issues.push({ path: `.${op}`, reason: p });
    } else if (typeof v !== OPS[base].kind) issues.push({ path: `.${op}`, reason: `${op} takes a ${OPS[base].kind}` });
  } else issues.push({ path: `.${op}`, reason: `unsupported Choice operator ${op}` });
  return issues;
}

function matches(s: string, pattern: string): boolean {
  const re = pattern
    .split(/(\\\*|\*)/)
    .map((part) => (part === '*' ? '.*' : part === '\\*' ? '\\*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`, 's').test(s);
}

/** Whether a (checked) rule holds for the state's input. */
export function evaluateRule(rule: Json, data: Json, context: Json): boolean {
  if (!isObject(rule)) throw new StatesError('States.Runtime', 'a Choice rule is not an object');
  if (Array.isArray(rule.And)) return rule.And.every((r) => evaluateRule(r, data, context));
  if (Array.isArray(rule.Or)) return rule.Or.some((r) => evaluateRule(r, data, context));
  if (rule.Not !== undefined) return !evaluateRule(rule.Not, data, context);
  const op = Object.keys(rule).find((k) => !META.has(k))!;
  const variable = lookup(String(rule.Variable), data, context);
  const test = TYPE_TESTS[op];
  if (test) return test(variable) === rule[op];
  if (variable === undefined) {
    throw new StatesError('States.Runtime', `Choice: the Variable ${String(rule.Variable)} matched nothing`);
  }
  if (op === 'StringMatches') return typeof variable === 'string' && matches(variable, String(rule[op]));
  const base = op.endsWith('Path') ? op.slice(0, -4) : op;
  const spec = OPS[base]!;
  const other = op === base ? rule[op] : lookup(String(rule[op]), data, context);
  if (typeof variable !== spec.kind || typeof other !== spec.kind) return false;
  return spec.cmp(variable as never, other as never);
}
