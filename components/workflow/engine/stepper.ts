/**
 * Runs the frames of one execution forward from an ordered input (a start, a call's result, a timer, a cancel)
 * until every frame waits for a call, a timer or its children, or the execution ends. Deterministic: the same
 * state and input give the same next state on every replica; time is the agreed timestamp of the input.
 *
 * Frames that become ready go on a work list instead of being run recursively, so a Map of many items that finish
 * at once does not grow the stack.
 */
import type { Definition, MapState, ParallelState, State, TaskState } from '../asl/definition.js';
import { clone, type Json, jsonBytes, StatesError } from '../asl/json.js';
import { applyPath, applyResultPath, applyTemplate } from '../asl/paths.js';
import { DEFAULT_TASK_TIMEOUT_SECONDS, MAX_MAP_ITEMS, MAX_PAYLOAD_BYTES, MAX_STEPS_PER_EXECUTION } from '../limits.js';
import { contextObject, scopeOf, stateOf } from './context.js';
import { catcherFor, retryDelay } from './errors.js';
import { record } from './history.js';
import { runSimpleState, type SimpleResult } from './simple-states.js';
import { buildCallRequest, taskResult } from './task.js';
import type { CallOutcome, ChildWait, EngineState, Execution, Frame } from './types.js';

export const ROOT_FRAME = 'root';

export class Stepper {
  private readonly ready: string[] = [];

  constructor(
    private readonly st: EngineState,
    private readonly exec: Execution,
    private readonly def: Definition,
    private readonly now: number,
  ) {}

  /** Starts the execution at the definition's StartAt. */
  start(): void {
    this.newFrame(ROOT_FRAME, null, [], 0, this.def.StartAt, clone(this.exec.input));
    this.drain();
  }

  /** The ordered result of a call this execution waits for. */
  callDone(frameId: string, outcome: CallOutcome): void {
    const frame = this.exec.frames[frameId];
    if (!frame) return;
    frame.wait = null;
    const st = stateOf(this.def, frame) as TaskState;
    this.guard(frame, st, () => {
      const { result, error } = taskResult(outcome);
      if (error) throw error;
      const selected =
        st.ResultSelector === undefined ? result : applyTemplate(st.ResultSelector, result, this.ctx(frame));
      this.leave(frame, st, this.output(frame, st, selected));
    });
    this.drain();
  }

  /** A timer of this frame fired (a Wait state's end, or a retry's delay). */
  timerFired(frameId: string): void {
    const frame = this.exec.frames[frameId];
    if (!frame?.wait || !('timer' in frame.wait)) return;
    const purpose = frame.wait.purpose;
    frame.wait = null;
    if (purpose === 'wait') {
      const st = stateOf(this.def, frame);
      this.guard(frame, st, () => {
        const out = st.Type === 'Wait' ? st.OutputPath : undefined;
        this.leave(frame, st, applyPath(out, frame.input, this.ctx(frame), 'OutputPath'));
      });
    } else {
      frame.attempt++;
      this.ready.push(frame.id);
    }
    this.drain();
  }

  /** Ends the execution at once (cancel): frames, calls and timers go. */
  abort(error: string, cause: string): void {
    this.finish('ABORTED', undefined, error, cause);
  }

  private ctx(frame: Frame): Json {
    return contextObject(this.exec, frame);
  }

  private newFrame(
    id: string,
    parent: string | null,
    scope: (string | number)[],
    index: number,
    state: string,
    input: Json,
  ): Frame {
    const frame: Frame = {
      id,
      parent,
      scope,
      index,
      state,
      input,
      visits: {},
      retries: [],
      attempt: 1,
      enteredAt: this.now,
      wait: null,
    };
    this.exec.frames[id] = frame;
    this.enter(frame, state, input);
    return frame;
  }

  private enter(frame: Frame, state: string, input: Json): void {
    frame.state = state;
    frame.input = input;
    frame.visits[state] = (frame.visits[state] ?? 0) + 1;
    frame.retries = [];
    frame.attempt = 1;
    frame.enteredAt = this.now;
    record(this.exec, this.now, 'StateEntered', { frame: frame.id, state });
    this.ready.push(frame.id);
  }

  private drain(): void {
    while (this.ready.length > 0 && this.exec.status === 'RUNNING') {
      const frame = this.exec.frames[this.ready.shift()!];
      if (frame && frame.wait === null) this.step(frame);
    }
  }

  /** Runs the frame's current state once. */
  private step(frame: Frame): void {
    this.st.steps++;
    if (++this.exec.steps > MAX_STEPS_PER_EXECUTION) {
      this.finish(
        'FAILED',
        undefined,
        'States.Runtime',
        `over MAX_STEPS_PER_EXECUTION (${MAX_STEPS_PER_EXECUTION}) states run`,
      );
      return;
    }
    const st = stateOf(this.def, frame);
    this.guard(frame, st, () => {
      switch (st.Type) {
        case 'Task':
          return this.task(frame, st);
        case 'Parallel':
          return this.parallel(frame, st);
        case 'Map':
          return this.map(frame, st);
        default:
          return this.simple(frame, st, runSimpleState(st, frame.input, this.ctx(frame), this.now));
      }
    });
  }

  private simple(frame: Frame, st: State, r: SimpleResult): void {
    if ('fail' in r) {
      this.frameFailed(frame, r.fail.error, r.fail.cause);
      return;
    }
    if ('waitUntil' in r) {
      frame.wait = { timer: r.waitUntil, purpose: 'wait' };
      this.st.timers.push({ at: r.waitUntil, execution: this.exec.id, frame: frame.id });
      record(this.exec, this.now, 'TimerScheduled', {
        frame: frame.id,
        state: frame.state,
        detail: { at: r.waitUntil },
      });
      return;
    }
    if ('next' in r) {
      record(this.exec, this.now, 'StateExited', { frame: frame.id, state: frame.state });
      this.enter(frame, r.next, r.output);
      return;
    }
    this.leave(frame, st, r.output);
  }

  /** Runs `fn`; a StatesError it throws goes through the state's Retry and Catch. */
  private guard(frame: Frame, st: State, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof StatesError)) throw e;
      this.stateFailed(frame, st, e.error, e.cause);
    }
  }

  private output(frame: Frame, st: TaskState | ParallelState | MapState, result: Json): Json {
    const merged = applyResultPath(st.ResultPath, frame.input, result);
    return applyPath(st.OutputPath, merged, this.ctx(frame), 'OutputPath');
  }

  /** The state is done with `output`: on to Next, or the frame ends. */
  private leave(frame: Frame, st: State, output: Json): void {
    if (jsonBytes(output) > MAX_PAYLOAD_BYTES) {
      throw new StatesError('States.DataLimitExceeded', `output over MAX_PAYLOAD_BYTES (${MAX_PAYLOAD_BYTES})`);
    }
    record(this.exec, this.now, 'StateExited', { frame: frame.id, state: frame.state });
    const next = 'Next' in st ? st.Next : undefined;
    if (next !== undefined) this.enter(frame, next, output);
    else this.frameDone(frame, output);
  }

  private task(frame: Frame, st: TaskState): void {
    const effective = applyPath(st.InputPath, frame.input, this.ctx(frame), 'InputPath');
    const params = applyTemplate(st.Parameters, effective, this.ctx(frame));
    const request = buildCallRequest(params);
    const id = `${this.exec.id}/${frame.id}/${frame.state}#${frame.visits[frame.state]}.${frame.attempt}`;
    const timeoutMs = (st.TimeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS) * 1000;
    this.st.calls[id] = {
      id,
      execution: this.exec.id,
      frame: frame.id,
      state: frame.state,
      request,
      timeoutMs,
      scheduledAt: this.now,
      takeovers: 0,
    };
    frame.wait = { call: id };
    record(this.exec, this.now, 'CallScheduled', {
      frame: frame.id,
      state: frame.state,
      call: id,
      detail: { attempt: frame.attempt, method: request.method, url: request.url },
    });
  }

  private parallel(frame: Frame, st: ParallelState): void {
    const effective = applyPath(st.InputPath, frame.input, this.ctx(frame), 'InputPath');
    const input = st.Parameters === undefined ? effective : applyTemplate(st.Parameters, effective, this.ctx(frame));
    const base = `${frame.id}/${frame.state}#${frame.visits[frame.state]}`;
    const wait: ChildWait = {
      kind: 'parallel',
      total: st.Branches.length,
      results: st.Branches.map(() => null),
      running: [],
      next: st.Branches.length,
      items: [],
      concurrency: 0,
      input,
    };
    frame.wait = { children: wait };
    st.Branches.forEach((b, i) => {
      const scope = [...frame.scope, 'States', frame.state, 'Branches', i];
      wait.running.push(`${base}/b${i}`);
      this.newFrame(`${base}/b${i}`, frame.id, scope, i, b.StartAt, clone(input));
    });
  }

  private map(frame: Frame, st: MapState): void {
    const ctx = this.ctx(frame);
    const effective = applyPath(st.InputPath, frame.input, ctx, 'InputPath');
    const items = applyPath(st.ItemsPath, effective, ctx, 'ItemsPath');
    if (!Array.isArray(items)) throw new StatesError('States.Runtime', 'ItemsPath does not name an array');
    if (items.length > MAX_MAP_ITEMS) {
      throw new StatesError('States.Runtime', `${items.length} items, over MAX_MAP_ITEMS (${MAX_MAP_ITEMS})`);
    }
    const wait: ChildWait = {
      kind: 'map',
      total: items.length,
      results: items.map(() => null),
      running: [],
      next: 0,
      items,
      concurrency: st.MaxConcurrency ?? 0,
      input: effective,
    };
    frame.wait = { children: wait };
    if (items.length === 0) {
      this.childrenDone(frame, wait);
      return;
    }
    this.launchItems(frame, st, wait);
  }

  private launchItems(frame: Frame, st: MapState, wait: ChildWait): void {
    const field = st.ItemProcessor ? 'ItemProcessor' : 'Iterator';
    const scope = [...frame.scope, 'States', frame.state, field];
    const proc = scopeOf(this.def, scope);
    const selector = st.ItemSelector ?? st.Parameters;
    while (wait.next < wait.total && (wait.concurrency === 0 || wait.running.length < wait.concurrency)) {
      const i = wait.next++;
      const value = wait.items[i] as Json;
      const input =
        selector === undefined
          ? clone(value)
          : applyTemplate(selector, wait.input, contextObject(this.exec, frame, { index: i, value }));
      const id = `${frame.id}/${frame.state}#${frame.visits[frame.state]}/i${i}`;
      wait.running.push(id);
      this.newFrame(id, frame.id, scope, i, proc.StartAt, input);
    }
  }

  /** A frame reached a Succeed state or the end of its last state. */
  private frameDone(frame: Frame, output: Json): void {
    delete this.exec.frames[frame.id];
    if (frame.parent === null) {
      this.finish('SUCCEEDED', output);
      return;
    }
    const parent = this.exec.frames[frame.parent];
    if (!parent?.wait || !('children' in parent.wait)) return;
    const wait = parent.wait.children;
    wait.results[frame.index] = output;
    wait.running = wait.running.filter((id) => id !== frame.id);
    const st = stateOf(this.def, parent);
    if (st.Type === 'Map' && wait.next < wait.total) this.launchItems(parent, st, wait);
    if (wait.running.length === 0 && wait.next >= wait.total) this.childrenDone(parent, wait);
  }

  private childrenDone(frame: Frame, wait: ChildWait): void {
    frame.wait = null;
    const st = stateOf(this.def, frame) as ParallelState | MapState;
    this.guard(frame, st, () => {
      const results = wait.results as Json;
      const selected =
        st.ResultSelector === undefined ? results : applyTemplate(st.ResultSelector, results, this.ctx(frame));
      this.leave(frame, st, this.output(frame, st, selected));
    });
  }

  /** The state failed: Retry (a timer, then the same state again), else Catch, else the frame fails. */
  private stateFailed(frame: Frame, st: State, error: string, cause: string): void {
    record(this.exec, this.now, 'StateFailed', { frame: frame.id, state: frame.state, detail: { error, cause } });
    if (st.Type !== 'Task' && st.Type !== 'Parallel' && st.Type !== 'Map') {
      this.frameFailed(frame, error, cause);
      return;
    }
    const retry = retryDelay(st.Retry ?? [], frame.retries, error);
    if (retry) {
      frame.retries[retry.index] = (frame.retries[retry.index] ?? 0) + 1;
      const at = this.now + retry.delayMs;
      frame.wait = { timer: at, purpose: 'retry' };
      this.st.timers.push({ at, execution: this.exec.id, frame: frame.id });
      record(this.exec, this.now, 'RetryScheduled', { frame: frame.id, state: frame.state, detail: { at, error } });
      return;
    }
    const c = catcherFor(st.Catch ?? [], error);
    if (!c) {
      this.frameFailed(frame, error, cause);
      return;
    }
    const output = applyResultPath(c.ResultPath, frame.input, { Error: error, Cause: cause });
    record(this.exec, this.now, 'StateExited', { frame: frame.id, state: frame.state, detail: { caught: error } });
    this.enter(frame, c.Next, output);
  }

  /** The frame failed: the execution fails, or the parent's Parallel or Map state does (its siblings stop). */
  private frameFailed(frame: Frame, error: string, cause: string): void {
    if (frame.parent === null) {
      this.finish('FAILED', undefined, error, cause);
      return;
    }
    const parent = this.exec.frames[frame.parent];
    if (!parent?.wait || !('children' in parent.wait)) return;
    for (const id of [frame.id, ...parent.wait.children.running]) this.dropFrame(id);
    parent.wait = null;
    this.stateFailed(parent, stateOf(this.def, parent), error, cause);
  }

  /** Removes a frame, its children, and their calls and timers. */
  private dropFrame(id: string): void {
    const frame = this.exec.frames[id];
    if (!frame) return;
    if (frame.wait && 'children' in frame.wait) for (const c of frame.wait.children.running) this.dropFrame(c);
    if (frame.wait && 'call' in frame.wait) delete this.st.calls[frame.wait.call];
    if (frame.wait && 'timer' in frame.wait) {
      this.st.timers = this.st.timers.filter((t) => t.execution !== this.exec.id || t.frame !== id);
    }
    delete this.exec.frames[id];
  }

  private finish(status: 'SUCCEEDED' | 'FAILED' | 'ABORTED', output?: Json, error?: string, cause?: string): void {
    for (const id of Object.keys(this.exec.frames)) this.dropFrame(id);
    this.st.timers = this.st.timers.filter((t) => t.execution !== this.exec.id);
    this.exec.status = status;
    this.exec.stoppedAt = this.now;
    if (output !== undefined) this.exec.output = output;
    if (error !== undefined) this.exec.error = error;
    if (cause !== undefined) this.exec.cause = cause;
    record(this.exec, this.now, `Execution${status[0]}${status.slice(1).toLowerCase()}`, {
      detail: status === 'SUCCEEDED' ? null : { error: error ?? null, cause: cause ?? null },
    });
  }
}
