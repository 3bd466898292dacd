/** The context object (`$$`) a state sees, and where a frame's States are in the definition. */
import type { Definition, Scope, State } from '../asl/definition.js';
import type { Json } from '../asl/json.js';
import { StatesError } from '../asl/json.js';
import type { Execution, Frame } from './types.js';

export function scopeOf(def: Definition, path: readonly (string | number)[]): Scope {
  let cur: unknown = def;
  for (const k of path) cur = (cur as Record<string | number, unknown>)[k];
  return cur as Scope;
}

export function stateOf(def: Definition, frame: Frame): State {
  const st = scopeOf(def, frame.scope).States[frame.state];
  if (!st) throw new StatesError('States.Runtime', `no state named ${frame.state}`);
  return st;
}

export function contextObject(exec: Execution, frame: Frame, item?: { index: number; value: Json }): Json {
  const ctx: Record<string, Json> = {
    Execution: { Id: exec.id, Name: exec.id, Input: exec.input, StartTime: new Date(exec.startedAt).toISOString() },
    StateMachine: { Id: `${exec.definition}:${exec.version}`, Name: exec.definition },
    State: { Name: frame.state, EnteredTime: new Date(frame.enteredAt).toISOString(), RetryCount: frame.attempt - 1 },
  };
  if (item) ctx.Map = { Item: { Index: item.index, Value: item.value } };
  return ctx;
}
