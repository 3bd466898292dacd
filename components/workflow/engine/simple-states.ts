/** The states that need no outside input to run: Pass, Choice, Wait, Succeed, Fail. Pure. */

import { evaluateRule } from '../asl/choice.js';
import type { State } from '../asl/definition.js';
import { type Json, StatesError } from '../asl/json.js';
import { applyPath, applyResultPath, applyTemplate, select } from '../asl/paths.js';
import { MAX_WAIT_SECONDS } from '../limits.js';

export type SimpleResult =
  | { output: Json }
  | { next: string; output: Json }
  | { waitUntil: number }
  | { fail: { error: string; cause: string } };

export function runSimpleState(st: State, input: Json, ctx: Json, now: number): SimpleResult {
  switch (st.Type) {
    case 'Pass': {
      const effective = applyPath(st.InputPath, input, ctx, 'InputPath');
      const result =
        st.Result ?? (st.Parameters === undefined ? effective : applyTemplate(st.Parameters, effective, ctx));
      return { output: applyPath(st.OutputPath, applyResultPath(st.ResultPath, input, result), ctx, 'OutputPath') };
    }
    case 'Succeed': {
      const effective = applyPath(st.InputPath, input, ctx, 'InputPath');
      return { output: applyPath(st.OutputPath, effective, ctx, 'OutputPath') };
    }
    case 'Fail': {
      const error = st.ErrorPath ? String(select(st.ErrorPath, input, ctx, 'ErrorPath')) : (st.Error ?? 'States.Fail');
      const cause = st.CausePath ? String(select(st.CausePath, input, ctx, 'CausePath')) : (st.Cause ?? '');
      return { fail: { error, cause } };
    }
    case 'Choice': {
      const effective = applyPath(st.InputPath, input, ctx, 'InputPath');
      const output = applyPath(st.OutputPath, effective, ctx, 'OutputPath');
      const hit = st.Choices.find((rule) => evaluateRule(rule, effective, ctx));
      const next = hit ? String(hit.Next) : st.Default;
      if (next === undefined) throw new StatesError('States.NoChoiceMatched', 'no Choice rule matched and no Default');
      return { next, output };
    }
    case 'Wait': {
      const effective = applyPath(st.InputPath, input, ctx, 'InputPath');
      const until = waitUntil(st, effective, ctx, now);
      if (until <= now) return { output: applyPath(st.OutputPath, effective, ctx, 'OutputPath') };
      return { waitUntil: until };
    }
    default:
      throw new StatesError('States.Runtime', `${st.Type} is not a simple state`);
  }
}

function waitUntil(st: Extract<State, { Type: 'Wait' }>, data: Json, ctx: Json, now: number): number {
  let seconds: number;
  if (st.Seconds !== undefined) seconds = st.Seconds;
  else if (st.SecondsPath !== undefined) {
    const v = select(st.SecondsPath, data, ctx, 'SecondsPath');
    if (typeof v !== 'number' || v < 0) throw new StatesError('States.Runtime', 'SecondsPath is not a number >= 0');
    seconds = v;
  } else {
    const text = st.Timestamp ?? select(st.TimestampPath as string, data, ctx, 'TimestampPath');
    const at = typeof text === 'string' ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(at)) throw new StatesError('States.Runtime', 'the Wait timestamp is not an ISO 8601 time');
    seconds = (at - now) / 1000;
  }
  if (seconds > MAX_WAIT_SECONDS) {
    throw new StatesError('States.Runtime', `a wait of ${seconds} s is over MAX_WAIT_SECONDS (${MAX_WAIT_SECONDS})`);
  }
  return now + Math.round(seconds * 1000);
}
