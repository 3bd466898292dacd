/**
 * The language layer alone: a definition is refused with the state's path and the reason; paths, templates,
 * intrinsics and Choice rules as Amazon States Language defines them.
 */
import { describe, expect, it } from 'vitest';
import { evaluateRule } from '../../components/workflow/asl/choice.js';
import type { Json } from '../../components/workflow/asl/json.js';
import { applyPath, applyResultPath, applyTemplate } from '../../components/workflow/asl/paths.js';
import { definitionIssues, validateDefinition } from '../../components/workflow/asl/validate.js';
import { isTcError } from '../../kernel/errors.js';
import { callEcho, ECHO, loopMapParallel } from './flows.js';

const http = 'arn:aws:states:::http:invoke';

describe('definitions', () => {
  it('accepts the suites’ flows', () => {
    expect(definitionIssues(ECHO)).toEqual([]);
    expect(definitionIssues(loopMapParallel('http://127.0.0.1:1/x'))).toEqual([]);
    expect(definitionIssues(callEcho('https://example.org/x'))).toEqual([]);
  });

  it.each([
    [{ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' } } }, 'States.A.Next', 'no state named "B"'],
    [{ StartAt: 'X', States: { A: { Type: 'Pass', End: true } } }, 'StartAt', 'no state named "X"'],
    [{ StartAt: 'A', States: { A: { Type: 'Pass' } } }, 'States.A.Next', 'exactly one of Next and End'],
    [{ StartAt: 'A', States: { A: { Type: 'Pass', End: true }, B: { Type: 'Succeed' } } }, 'States.B', 'not reachable'],
    [{ StartAt: 'A', States: { A: { Type: 'Pass', End: true, Nxt: 'A' } } }, 'States.A', 'Nxt'],
    [
      { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:aws:lambda:x', Parameters: {}, End: true } } },
      'States.A.Resource',
      http,
    ],
    [
      { StartAt: 'A', States: { A: { Type: 'Task', Resource: http, Parameters: { Method: 'GET' }, End: true } } },
      'States.A.Parameters.ApiEndpoint',
      'needs ApiEndpoint',
    ],
    [{ StartAt: 'A', States: { A: { Type: 'Pass', InputPath: '$..a', End: true } } }, 'States.A.InputPath', 'offset 1'],
    [
      { StartAt: 'A', States: { A: { Type: 'Pass', Parameters: { 'x.$': 'States.UUID()' }, End: true } } },
      'States.A.Parameters.x.$',
      'unknown intrinsic',
    ],
    [
      {
        StartAt: 'A',
        States: { A: { Type: 'Choice', Choices: [{ Variable: '$.a', NumericEquals: 'x', Next: 'A' }] } },
      },
      'States.A.Choices[0].NumericEquals',
      'takes a number',
    ],
    [
      {
        StartAt: 'P',
        States: {
          P: { Type: 'Parallel', Branches: [{ StartAt: 'Q', States: { Q: { Type: 'Pass', Next: 'Z' } } }], End: true },
        },
      },
      'States.P.Branches[0].States.Q.Next',
      'no state named "Z"',
    ],
    [{ StartAt: 'W', States: { W: { Type: 'Wait', End: true } } }, 'States.W.Seconds', 'exactly one of Seconds'],
  ])('refuses %j at its path', (def, path, reason) => {
    const issues = definitionIssues(def);
    expect(issues.length).toBeGreaterThan(0);
    const hit = issues.find((i) => i.path === path);
    expect(hit, JSON.stringify(issues)).toBeDefined();
    expect(hit!.reason).toContain(reason);
  });

  it('throws TC470 naming the first path, the reason and how many more', () => {
    try {
      validateDefinition(
        { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, C: { Type: 'Succeed' } } },
        'f.json',
      );
      expect.unreachable();
    } catch (e) {
      expect(isTcError(e)).toBe(true);
      const err = e as Error & { code: string; hint?: string };
      expect(err.code).toBe('TC470');
      expect(err.message).toBe('invalid workflow definition at States.A.Next: no state named "B" (and 1 more problem)');
      expect(err.hint).toContain('http:invoke');
    }
  });
});

describe('paths and templates', () => {
  const data: Json = { a: { b: [10, 20] }, 'odd key': 1 };
  const ctx: Json = { Execution: { Id: 'e-1' } };

  it('selects, writes results and applies templates', () => {
    expect(applyPath('$.a.b[1]', data, ctx, 'InputPath')).toBe(20);
    expect(applyPath("$['odd key']", data, ctx, 'InputPath')).toBe(1);
    expect(applyPath(null, data, ctx, 'InputPath')).toEqual({});
    expect(applyResultPath('$.r.s', data, 5)).toEqual({ ...data, r: { s: 5 } });
    expect(applyResultPath(null, data, 5)).toEqual(data);
    expect(applyResultPath('$', data, 5)).toBe(5);
    expect(
      applyTemplate(
        { 'x.$': '$.a.b[0]', 'id.$': '$$.Execution.Id', n: { 'sum.$': 'States.MathAdd($.a.b[0], 1)' }, k: 'lit' },
        data,
        ctx,
      ),
    ).toEqual({ x: 10, id: 'e-1', n: { sum: 11 }, k: 'lit' });
    expect(applyTemplate({ 'f.$': "States.Format('{} and {}', $.a.b[0], 'x')" }, data, ctx)).toEqual({ f: '10 and x' });
    expect(applyTemplate({ 'r.$': 'States.ArrayRange(1, 5, 2)' }, data, ctx)).toEqual({ r: [1, 3, 5] });
  });

  it('fails the state with States.Runtime when a path matches nothing', () => {
    expect(() => applyPath('$.nope', data, ctx, 'InputPath')).toThrow(/States.Runtime: InputPath: the path \$.nope/);
  });
});

describe('choice rules', () => {
  const data: Json = { n: 3, s: 'order-17', b: true, m: 5 };
  it.each([
    [{ Variable: '$.n', NumericLessThan: 4 }, true],
    [{ Variable: '$.n', NumericGreaterThanPath: '$.m' }, false],
    [{ Variable: '$.s', StringMatches: 'order-*' }, true],
    [{ Variable: '$.b', BooleanEquals: false }, false],
    [{ Variable: '$.missing', IsPresent: false }, true],
    [{ And: [{ Variable: '$.n', NumericEquals: 3 }, { Not: { Variable: '$.s', StringEquals: 'x' } }] }, true],
    [
      {
        Or: [
          { Variable: '$.n', NumericEquals: 4 },
          { Variable: '$.s', IsString: false },
        ],
      },
      false,
    ],
  ])('%j is %s', (rule, expected) => {
    expect(evaluateRule(rule as Json, data, {})).toBe(expected);
  });
});
