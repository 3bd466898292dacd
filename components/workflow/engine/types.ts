/**
 * The replicated state of the workflow engine: plain JSON, so a checkpoint is its JSON text and every replica that
 * applied the same ordered operations holds the same bytes. Times are the SMR's agreed `ctx.timestamp` (ms).
 */
import type { Definition } from '../asl/definition.js';
import type { Json } from '../asl/json.js';

/** An outgoing HTTP call as the definition asked for it (the caller adds the Idempotency-Key header). */
export interface CallRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** What the calling replica orders back: the response, or why there is none. */
export type CallOutcome =
  | { ok: true; status: number; statusText: string; headers: Record<string, string>; body: string }
  | { ok: false; error: string; cause: string };

export interface PendingCall {
  /** Unique under loops, Map items, Parallel branches, retries and concurrent executions; the Idempotency-Key. */
  id: string;
  execution: string;
  frame: string;
  state: string;
  request: CallRequest;
  timeoutMs: number;
  scheduledAt: number;
  /** How many times another replica took the call over (the caller is chosen from the id and this count). */
  takeovers: number;
  /**
   * Byzantine engines (a result quorum over 1): the outcome each engine ordered for this call, by engine identity,
   * until enough of them match. Absent with crash faults, where the caller's outcome is taken as it says.
   */
  votes?: Record<string, CallOutcome>;
}

/** What a Parallel or Map state waits for: its branches or items, run as child frames. */
export interface ChildWait {
  kind: 'parallel' | 'map';
  total: number;
  results: (Json | null)[];
  running: string[];
  /** Map: the next item to launch (MaxConcurrency), and the items. */
  next: number;
  items: Json[];
  concurrency: number;
  input: Json;
}

export type FrameWait = { call: string } | { timer: number; purpose: 'wait' | 'retry' } | { children: ChildWait };

/** One running state machine: the execution's top level, a Parallel branch or a Map item. */
export interface Frame {
  id: string;
  parent: string | null;
  /** Where its States are in the definition: [] for the top level, else keys down to a branch or processor. */
  scope: (string | number)[];
  /** Its branch or item index in the parent. */
  index: number;
  state: string;
  /** The raw input of the current state. */
  input: Json;
  visits: Record<string, number>;
  /** Retries used per retrier of the current state, and the attempt number within this visit (1-based). */
  retries: number[];
  attempt: number;
  enteredAt: number;
  wait: FrameWait | null;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

export interface HistoryEvent {
  n: number;
  at: number;
  type: string;
  frame?: string;
  state?: string;
  call?: string;
  detail?: Json;
}

export interface Execution {
  id: string;
  definition: string;
  version: number;
  status: ExecutionStatus;
  input: Json;
  output?: Json;
  error?: string;
  cause?: string;
  startedAt: number;
  stoppedAt?: number;
  steps: number;
  frames: Record<string, Frame>;
  history: HistoryEvent[];
  historyTruncated: boolean;
  events: number;
}

export interface StoredDefinition {
  versions: { definition: Definition; deployedAt: number; digest: string }[];
}

export interface Timer {
  at: number;
  execution: string;
  frame: string;
}

/**
 * A start request whose reply waits for its execution to end (`waitMs`): answered after the ordered operation that
 * ends it, or after the first one ordered at or past `until` (the caller shells order a tick then).
 */
export interface Waiter {
  execution: string;
  client: string;
  seq: number;
  until: number;
}

export interface EngineState {
  definitions: Record<string, StoredDefinition>;
  executions: Record<string, Execution>;
  /** Finished executions, oldest first: the first to go past MAX_FINISHED_EXECUTIONS. */
  finished: string[];
  running: number;
  calls: Record<string, PendingCall>;
  timers: Timer[];
  started: number;
  /** States run by all executions so far (the benchmark's logging engine syncs once per step). */
  steps: number;
  /** Start requests waiting for their execution to end, oldest first (a checkpoint of an older release has none). */
  waiters?: Waiter[];
}

export function emptyState(): EngineState {
  return {
    definitions: {},
    executions: {},
    finished: [],
    running: 0,
    calls: {},
    timers: [],
    started: 0,
    steps: 0,
    waiters: [],
  };
}
