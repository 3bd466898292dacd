/**
 * The workflow engine as a deterministic state machine: one ordered operation in, one reply out, the same on every
 * replica. No I/O, no clock (time is the operation's agreed timestamp), no randomness. The SMR service adapter
 * (../service.ts) feeds it; the caller shell (../caller.ts) reads which calls and timers are pending.
 */
import { createHash } from 'node:crypto';
import type { Definition } from '../asl/definition.js';
import type { Json } from '../asl/json.js';
import { jsonBytes } from '../asl/json.js';
import { definitionIssues } from '../asl/validate.js';
import { WorkflowCode } from '../codes.js';
import {
  MAX_DEFINITIONS,
  MAX_FINISHED_EXECUTIONS,
  MAX_PAYLOAD_BYTES,
  MAX_RUNNING_EXECUTIONS,
  MAX_VERSIONS_PER_DEFINITION,
  MAX_WAITERS,
} from '../limits.js';
import type { ErrorReply, ExecutionSummary, ParsedWorkflowOp, WorkflowReply } from '../operations.js';
import { record } from './history.js';
import { Stepper } from './stepper.js';
import { type CallOutcome, type EngineState, type Execution, emptyState, type PendingCall } from './types.js';

const refuse = (code: string, message: string, hint?: string): ErrorReply => ({
  error: { code, message, ...(hint ? { hint } : {}) },
});
const iso = (t: number) => new Date(t).toISOString();

/**
 * What must match for two engines' outcomes of the same call to count as the same: status, status text and body,
 * or the error and its cause. Not the headers: two arrivals of one call id at an idempotent service differ in
 * `date` and connection headers even when the service replays its stored answer.
 */
function outcomeKey(o: CallOutcome): string {
  return o.ok ? JSON.stringify([o.status, o.statusText, o.body]) : JSON.stringify([o.error, o.cause]);
}

/** The headers every one of the matching outcomes carries with the same value (what a liar cannot add). */
function commonHeaders(outcomes: CallOutcome[]): Record<string, string> {
  const [first, ...rest] = outcomes;
  if (!first?.ok) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first.headers)) if (rest.every((o) => o.ok && o.headers[k] === v)) out[k] = v;
  return out;
}

export class WorkflowMachine {
  state: EngineState = emptyState();
  /**
   * How many engines must order the same outcome of a call before the engine takes it: 1 with crash faults (the
   * caller is trusted to report what the service said), f+1 with Byzantine engines, so one liar cannot make up a
   * result. Configuration, the same on every replica, not state.
   */
  resultQuorum = 1;

  apply(op: ParsedWorkflowOp, now: number, sender = ''): WorkflowReply {
    switch (op.op) {
      case 'deploy':
        return this.deploy(op.name, op.definition, now);
      case 'start':
        return this.start(op, now);
      case 'status': {
        const e = this.state.executions[op.execution];
        return e ? { execution: this.summary(e) } : this.unknown(op.execution);
      }
      case 'history': {
        const e = this.state.executions[op.execution];
        if (!e) return this.unknown(op.execution);
        const page = e.history.slice(op.from, op.from + op.limit);
        const next = op.from + page.length < e.history.length ? op.from + page.length : null;
        return { history: page, truncated: e.historyTruncated, next };
      }
      case 'list':
        return { executions: this.list(op.status, op.limit) };
      case 'definitions':
        return {
          definitions: Object.entries(this.state.definitions).map(([name, d]) => ({
            name,
            versions: d.versions.length,
            latestDeployedAt: iso(d.versions[d.versions.length - 1]!.deployedAt),
          })),
        };
      case 'cancel':
        return this.cancel(op.execution, op.cause, now);
      case 'result':
        return { ok: true, applied: this.result(op.call, op.outcome, now, sender) };
      case 'takeover':
        return { ok: true, applied: this.takeover(op.call, op.takeovers, now) };
      case 'tick':
        return { ok: true, applied: this.tick(now) };
    }
  }

  /** Calls scheduled and not answered, in the order they were scheduled. */
  pendingCalls(): PendingCall[] {
    return Object.values(this.state.calls);
  }

  /** When the next timer (or a waiting start's deadline) is due (ms), or undefined when none is set. */
  nextTimerAt(): number | undefined {
    let min: number | undefined;
    for (const t of this.state.timers) if (min === undefined || t.at < min) min = t.at;
    for (const w of this.state.waiters ?? []) if (min === undefined || w.until < min) min = w.until;
    return min;
  }

  /**
   * Makes the reply of start request (client, seq) wait for `execution` to end, at most until `until`. False when
   * it cannot wait (it has ended already, or MAX_WAITERS are waiting): the caller replies now.
   */
  addWaiter(execution: string, client: string, seq: number, until: number): boolean {
    this.state.waiters ??= [];
    const waiters = this.state.waiters;
    if (this.state.executions[execution]?.status !== 'RUNNING' || waiters.length >= MAX_WAITERS) return false;
    waiters.push({ execution, client, seq, until });
    return true;
  }

  /** The waiting starts whose execution has ended, or whose deadline `now` has reached, with their replies. */
  releaseWaiters(now: number): { client: string; seq: number; reply: WorkflowReply }[] {
    const waiters = this.state.waiters;
    if (!waiters || waiters.length === 0) return [];
    const out: { client: string; seq: number; reply: WorkflowReply }[] = [];
    const kept = waiters.filter((w) => {
      const e = this.state.executions[w.execution];
      if (e && e.status === 'RUNNING' && w.until > now) return true;
      out.push({ client: w.client, seq: w.seq, reply: e ? { execution: this.summary(e) } : this.unknown(w.execution) });
      return false;
    });
    if (out.length > 0) this.state.waiters = kept;
    return out;
  }

  summary(e: Execution): ExecutionSummary {
    const s: ExecutionSummary = {
      execution: e.id,
      definition: e.definition,
      version: e.version,
      status: e.status,
      startedAt: iso(e.startedAt),
      stoppedAt: e.stoppedAt === undefined ? null : iso(e.stoppedAt),
      callsInFlight: Object.values(e.frames).filter((f) => f.wait && 'call' in f.wait).length,
      steps: e.steps,
    };
    if (e.output !== undefined) s.output = e.output;
    if (e.error !== undefined) s.error = e.error;
    if (e.cause !== undefined) s.cause = e.cause;
    return s;
  }

  private unknown(id: string): ErrorReply {
    return refuse(WorkflowCode.unknownExecution, `no execution "${id}"`, 'list executions with `tclouds workflow ls`');
  }

  private deploy(name: string, raw: Json, now: number): WorkflowReply {
    const issues = definitionIssues(raw);
    if (issues.length > 0) {
      const i = issues[0]!;
      return refuse(
        WorkflowCode.definition,
        `invalid workflow definition at ${i.path}: ${i.reason}`,
        'the definition is Amazon States Language (JSONPath); Tasks use arn:aws:states:::http:invoke',
      );
    }
    const digest = createHash('sha256').update(JSON.stringify(raw)).digest('hex');
    const stored = this.state.definitions[name];
    const latest = stored?.versions[stored.versions.length - 1];
    if (latest && latest.digest === digest) {
      return { deployed: { name, version: stored.versions.length, created: false } };
    }
    if (!stored && Object.keys(this.state.definitions).length >= MAX_DEFINITIONS) {
      return refuse(
        WorkflowCode.limit,
        `${MAX_DEFINITIONS} definitions are deployed (MAX_DEFINITIONS)`,
        'deploy a new version under an existing name',
      );
    }
    if (stored && stored.versions.length >= MAX_VERSIONS_PER_DEFINITION) {
      return refuse(
        WorkflowCode.limit,
        `"${name}" has ${MAX_VERSIONS_PER_DEFINITION} versions (MAX_VERSIONS_PER_DEFINITION)`,
        'deploy it under a new name',
      );
    }
    const entry = { definition: raw as unknown as Definition, deployedAt: now, digest };
    if (stored) stored.versions.push(entry);
    else this.state.definitions[name] = { versions: [entry] };
    return { deployed: { name, version: this.state.definitions[name]!.versions.length, created: true } };
  }

  private start(op: Extract<ParsedWorkflowOp, { op: 'start' }>, now: number): WorkflowReply {
    const stored = this.state.definitions[op.definition];
    const version = op.version ?? stored?.versions.length ?? 0;
    const entry = stored?.versions[version - 1];
    if (!entry) {
      return refuse(
        WorkflowCode.unknownDefinition,
        `no definition "${op.definition}"${op.version ? ` version ${op.version}` : ''} is deployed`,
        'deploy it first: `tclouds workflow deploy-definition COMPONENT NAME --definition FILE`',
      );
    }
    if (jsonBytes(op.input) > MAX_PAYLOAD_BYTES) {
      return refuse(
        WorkflowCode.input,
        `the input is over MAX_PAYLOAD_BYTES (${MAX_PAYLOAD_BYTES} bytes)`,
        'pass large data by reference: a URL that a Task of the workflow fetches',
      );
    }
    const id = op.name ?? `${op.definition}-${this.state.started + 1}`;
    const existing = this.state.executions[id];
    if (existing) {
      const same =
        existing.definition === op.definition &&
        existing.version === version &&
        JSON.stringify(existing.input) === JSON.stringify(op.input);
      if (same) return { execution: this.summary(existing), created: false };
      return refuse(
        WorkflowCode.executionExists,
        `an execution named "${id}" exists with another definition or input`,
        'start it under another --name',
      );
    }
    if (this.state.running >= MAX_RUNNING_EXECUTIONS) {
      return refuse(
        WorkflowCode.limit,
        `${MAX_RUNNING_EXECUTIONS} executions are running (MAX_RUNNING_EXECUTIONS)`,
        'wait for some to finish, or cancel some',
      );
    }
    this.state.started++;
    const exec: Execution = {
      id,
      definition: op.definition,
      version,
      status: 'RUNNING',
      input: op.input,
      startedAt: now,
      steps: 0,
      frames: {},
      history: [],
      historyTruncated: false,
      events: 0,
    };
    this.state.executions[id] = exec;
    this.state.running++;
    record(exec, now, 'ExecutionStarted', { detail: { definition: op.definition, version } });
    this.run(exec, now, (s) => s.start());
    return { execution: this.summary(exec), created: true };
  }

  /** Runs `fn` on the execution's stepper; an execution that ended is counted and kept among the finished. */
  private run(exec: Execution, now: number, fn: (s: Stepper) => void): void {
    const def = this.state.definitions[exec.definition]!.versions[exec.version - 1]!.definition;
    fn(new Stepper(this.state, exec, def, now));
    if (exec.status === 'RUNNING') return;
    this.state.running--;
    this.state.finished.push(exec.id);
    while (this.state.finished.length > MAX_FINISHED_EXECUTIONS) {
      delete this.state.executions[this.state.finished.shift()!];
    }
  }

  private cancel(id: string, cause: string, now: number): WorkflowReply {
    const e = this.state.executions[id];
    if (!e) return this.unknown(id);
    if (e.status !== 'RUNNING') {
      return refuse(
        WorkflowCode.notRunning,
        `execution "${id}" has already finished (${e.status})`,
        `see how it ended with \`tclouds workflow status ${id}\``,
      );
    }
    this.run(e, now, (s) => s.abort('States.Aborted', cause || 'cancelled'));
    return { execution: this.summary(e) };
  }

  /** The first result ordered for a call wins; later ones (a slow caller after a takeover) change nothing. */
  private result(callId: string, outcome: CallOutcome, now: number, sender: string): boolean {
    const call = this.state.calls[callId];
    if (!call) return false;
    if (this.resultQuorum > 1) {
      const agreed = this.vote(call, sender, outcome);
      if (!agreed) return false;
      outcome = agreed;
    }
    delete this.state.calls[callId];
    const exec = this.state.executions[call.execution];
    if (exec?.status !== 'RUNNING') return false;
    record(exec, now, outcome.ok ? 'CallSucceeded' : 'CallFailed', {
      frame: call.frame,
      state: call.state,
      call: callId,
      detail: outcome.ok ? { status: outcome.status } : { error: outcome.error, cause: outcome.cause },
    });
    this.run(exec, now, (s) => s.callDone(call.frame, outcome));
    return true;
  }

  /**
   * Records engine `sender`'s outcome of `call` (its first one only); once `resultQuorum` engines ordered matching
   * outcomes, returns the outcome to take (with only the headers they all carry), else undefined.
   */
  private vote(call: PendingCall, sender: string, outcome: CallOutcome): CallOutcome | undefined {
    call.votes ??= {};
    if (call.votes[sender] !== undefined) return undefined;
    call.votes[sender] = outcome;
    const key = outcomeKey(outcome);
    const same = Object.values(call.votes).filter((o) => outcomeKey(o) === key);
    if (same.length < this.resultQuorum) return undefined;
    return outcome.ok ? { ...outcome, headers: commonHeaders(same) } : outcome;
  }

  /** Another replica takes the call over; only the first of several replicas asking for the same round counts. */
  private takeover(callId: string, takeovers: number, now: number): boolean {
    const call = this.state.calls[callId];
    if (!call || call.takeovers !== takeovers) return false;
    call.takeovers++;
    const exec = this.state.executions[call.execution];
    if (exec)
      record(exec, now, 'CallTakenOver', {
        frame: call.frame,
        state: call.state,
        call: callId,
        detail: { takeovers: call.takeovers },
      });
    return true;
  }

  /** Fires every timer due at `now`. */
  private tick(now: number): boolean {
    const due = this.state.timers.filter((t) => t.at <= now);
    if (due.length === 0) return false;
    this.state.timers = this.state.timers.filter((t) => t.at > now);
    for (const t of due.sort((a, b) => a.at - b.at)) {
      const exec = this.state.executions[t.execution];
      if (exec?.status !== 'RUNNING') continue;
      record(exec, now, 'TimerFired', { frame: t.frame });
      this.run(exec, now, (s) => s.timerFired(t.frame));
    }
    return true;
  }

  private list(status: string | undefined, limit: number): ExecutionSummary[] {
    const out: ExecutionSummary[] = [];
    const all = Object.values(this.state.executions);
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const e = all[i]!;
      if (status === undefined || e.status === status) out.push(this.summary(e));
    }
    return out;
  }

  snapshot(): string {
    return JSON.stringify(this.state);
  }

  restore(text: string): void {
    this.state = text === '' ? emptyState() : (JSON.parse(text) as EngineState);
  }
}
