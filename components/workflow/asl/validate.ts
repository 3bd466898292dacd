/**
 * Checks a definition before it is deployed: the schema (definition.ts), then what a schema cannot say: every
 * Next, Default and Catch target exists in its scope, every state is reachable from StartAt, a flow state has
 * exactly one of Next and End, paths and intrinsic functions parse, a Task names its endpoint and method, Choice
 * rules are well formed. Every problem names the state's path in the definition (`States.Loop.Next`) and the
 * reason. Pure.
 */
import type { Problem } from '../../../kernel/errors.js';
import { ExitCode, TcError } from '../../../kernel/errors.js';
import { WorkflowCode } from '../codes.js';
import { MAX_DEFINITION_BYTES, MAX_STATES } from '../limits.js';
import { checkChoiceRule } from './choice.js';
import { type Definition, DefinitionSchema, type Scope, type State } from './definition.js';
import { parseIntrinsic } from './intrinsics.js';
import { isObject, type Json, jsonBytes } from './json.js';
import { parsePath } from './paths.js';

export type Issue = { path: string; reason: string };

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

function dotted(segments: readonly PropertyKey[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i === 0 ? '' : '.'}${String(s)}`)).join('');
}

/** Problems of a definition; empty when it is valid. */
export function definitionIssues(raw: unknown): Issue[] {
  if (jsonBytes(raw) > MAX_DEFINITION_BYTES) {
    return [{ path: '$', reason: `the definition is over ${MAX_DEFINITION_BYTES} bytes (MAX_DEFINITION_BYTES)` }];
  }
  const parsed = DefinitionSchema.safeParse(raw);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => ({ path: dotted(i.path) || '$', reason: i.message }));
  }
  const issues: Issue[] = [];
  const count = checkScope(parsed.data as Scope, '', issues);
  if (count > MAX_STATES) issues.push({ path: 'States', reason: `${count} states, over MAX_STATES (${MAX_STATES})` });
  return issues;
}

/** The definition, checked; a TcError (TC470) naming every problem's path and reason otherwise. */
export function validateDefinition(raw: unknown, file?: string): Definition {
  const issues = definitionIssues(raw);
  if (issues.length > 0) {
    const problems: Problem[] = issues.map((i) => ({
      code: WorkflowCode.definition,
      severity: 'error',
      message: i.reason,
      path: i.path,
      ...(file ? { file } : {}),
    }));
    const first = issues[0]!;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    throw new TcError(WorkflowCode.definition, `invalid workflow definition at ${first.path}: ${first.reason}${more}`, {
      exit: ExitCode.invalid,
      hint: 'the definition is Amazon States Language (JSONPath); Tasks use arn:aws:states:::http:invoke',
      location: { ...(file ? { file } : {}), path: first.path },
      problems,
    });
  }
  return DefinitionSchema.parse(raw);
}

/** Checks one scope (the top level, a Parallel branch, a Map processor); returns how many states it holds. */
function checkScope(scope: Scope, at: string, issues: Issue[]): number {
  const here = (s: string) => `${at}States.${s}`;
  const names = new Set(Object.keys(scope.States));
  if (!names.has(scope.StartAt)) issues.push({ path: `${at}StartAt`, reason: `no state named "${scope.StartAt}"` });
  let count = names.size;
  const edges = new Map<string, string[]>();
  for (const [name, st] of Object.entries(scope.States)) {
    const targets = checkState(st, here(name), issues);
    for (const t of targets) {
      if (!names.has(t.name)) issues.push({ path: `${here(name)}.${t.field}`, reason: `no state named "${t.name}"` });
    }
    edges.set(
      name,
      targets.map((t) => t.name),
    );
    if (st.Type === 'Parallel') {
      st.Branches.forEach((b, i) => {
        count += checkScope(b, `${here(name)}.Branches[${i}].`, issues);
      });
    }
    if (st.Type === 'Map') {
      const proc = st.ItemProcessor ?? st.Iterator;
      const field = st.ItemProcessor ? 'ItemProcessor' : 'Iterator';
      if (!proc) issues.push({ path: here(name), reason: 'a Map state needs an ItemProcessor' });
      else count += checkScope(proc, `${here(name)}.${field}.`, issues);
    }
  }
  const seen = new Set<string>();
  const todo = [scope.StartAt];
  while (todo.length > 0) {
    const s = todo.pop()!;
    if (seen.has(s) || !names.has(s)) continue;
    seen.add(s);
    todo.push(...(edges.get(s) ?? []));
  }
  for (const n of names)
    if (!seen.has(n)) issues.push({ path: here(n), reason: `not reachable from "${scope.StartAt}"` });
  return count;
}

type Target = { field: string; name: string };

/** Checks one state; returns the states it can go to. */
function checkState(st: State, at: string, issues: Issue[]): Target[] {
  const targets: Target[] = [];
  const add = (path: string, reason: string) => issues.push({ path: `${at}.${path}`, reason });
  for (const f of ['InputPath', 'OutputPath', 'ResultPath', 'ItemsPath', 'SecondsPath', 'TimestampPath'] as const) {
    const v = (st as Record<string, unknown>)[f];
    if (typeof v === 'string') checkPath(v, f === 'ResultPath', (r) => add(f, r));
  }
  for (const f of ['Parameters', 'ResultSelector', 'ItemSelector'] as const) {
    const v = (st as Record<string, unknown>)[f];
    if (v !== undefined) checkTemplate(v as Json, f, add);
  }
  if (st.Type !== 'Choice' && st.Type !== 'Succeed' && st.Type !== 'Fail') {
    if ((st.Next === undefined) === (st.End === undefined)) add('Next', 'a state has exactly one of Next and End');
    if (st.Next !== undefined) targets.push({ field: 'Next', name: st.Next });
  }
  if (st.Type === 'Task' || st.Type === 'Parallel' || st.Type === 'Map') {
    checkErrorNames(st.Retry ?? [], 'Retry', add);
    checkErrorNames(st.Catch ?? [], 'Catch', add);
    (st.Catch ?? []).forEach((c, i) => {
      targets.push({ field: `Catch[${i}].Next`, name: c.Next });
      if (typeof c.ResultPath === 'string') checkPath(c.ResultPath, true, (r) => add(`Catch[${i}].ResultPath`, r));
    });
  }
  if (st.Type === 'Task') checkTask(st.Parameters, add);
  if (st.Type === 'Wait') {
    const set = [st.Seconds, st.SecondsPath, st.Timestamp, st.TimestampPath].filter((v) => v !== undefined).length;
    if (set !== 1) add('Seconds', 'a Wait state has exactly one of Seconds, SecondsPath, Timestamp, TimestampPath');
  }
  if (st.Type === 'Choice') {
    st.Choices.forEach((rule, i) => {
      for (const r of checkChoiceRule(rule, true)) add(`Choices[${i}]${r.path}`, r.reason);
      if (typeof rule.Next === 'string') targets.push({ field: `Choices[${i}].Next`, name: rule.Next });
    });
    if (st.Default !== undefined) targets.push({ field: 'Default', name: st.Default });
  }
  if (st.Type === 'Fail') {
    if (st.Error !== undefined && st.ErrorPath !== undefined) add('ErrorPath', 'use Error or ErrorPath, not both');
    if (st.Cause !== undefined && st.CausePath !== undefined) add('CausePath', 'use Cause or CausePath, not both');
  }
  return targets;
}

function checkPath(p: string, reference: boolean, report: (reason: string) => void): void {
  const parsed = parsePath(p);
  if (typeof parsed === 'string') report(parsed);
  else if (reference && parsed.root !== '$') report(`a reference path starts with $, not $$: "${p}"`);
}

function checkTemplate(t: Json, at: string, add: (path: string, reason: string) => void): void {
  if (Array.isArray(t)) {
    t.forEach((v, i) => {
      checkTemplate(v, `${at}[${i}]`, add);
    });
    return;
  }
  if (!isObject(t)) return;
  for (const [k, v] of Object.entries(t)) {
    if (!k.endsWith('.$')) {
      checkTemplate(v, `${at}.${k}`, add);
      continue;
    }
    if (typeof v !== 'string') add(`${at}.${k}`, 'a field ending in .$ takes a path or an intrinsic function');
    else if (v.startsWith('States.')) {
      const c = parseIntrinsic(v);
      if (typeof c === 'string') add(`${at}.${k}`, c);
    } else checkPath(v, false, (r) => add(`${at}.${k}`, r));
  }
}

function checkErrorNames(list: { ErrorEquals: string[] }[], field: string, add: (p: string, r: string) => void): void {
  list.forEach((r, i) => {
    const all = r.ErrorEquals.indexOf('States.ALL');
    if (all >= 0 && r.ErrorEquals.length > 1) add(`${field}[${i}].ErrorEquals`, 'States.ALL must be alone');
    if (all >= 0 && i !== list.length - 1) add(`${field}[${i}]`, `States.ALL must be in the last ${field} entry`);
  });
}

function checkTask(params: Record<string, Json>, add: (p: string, r: string) => void): void {
  for (const f of ['ApiEndpoint', 'Method']) {
    if (params[f] === undefined && params[`${f}.$`] === undefined) add(`Parameters.${f}`, `an HTTP Task needs ${f}`);
  }
  const m = params.Method;
  if (m !== undefined && (typeof m !== 'string' || !HTTP_METHODS.includes(m.toUpperCase()))) {
    add('Parameters.Method', `Method is one of ${HTTP_METHODS.join(', ')}`);
  }
  const e = params.ApiEndpoint;
  if (typeof e === 'string' && !/^https?:\/\//.test(e)) add('Parameters.ApiEndpoint', 'ApiEndpoint is an http(s) URL');
  for (const f of ['Headers', 'QueryParameters']) {
    const v = params[f];
    if (v !== undefined && !isObject(v)) add(`Parameters.${f}`, `${f} is an object`);
  }
  const known = ['ApiEndpoint', 'Method', 'Headers', 'QueryParameters', 'RequestBody'];
  for (const k of Object.keys(params)) {
    if (!known.includes(k.replace(/\.\$$/, ''))) add(`Parameters.${k}`, `an HTTP Task takes ${known.join(', ')}`);
  }
}
