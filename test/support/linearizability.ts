/**
 * A linearizability checker for key-value histories recorded against real processes: the Wing-Gong algorithm with
 * Lowe's memoisation (the algorithm of Porcupine and Knossos), run per key, since operations on different keys of a
 * map are independent objects and a history is linearizable when each key's sub-history is (P-compositionality).
 *
 * An operation whose outcome the client never learned (timed out, connection lost) may have taken effect at any
 * point after its call, or not at all: its return is at infinity and any result is accepted. That is what makes
 * the check sound for histories with faults, where a write can time out at the client and still apply later.
 */
import type { KvOp, KvResult } from '../../components/smr/services/kv.js';

export interface HistoryOp {
  /** Session that issued it (for the failure report). */
  client: string;
  op: KvOp;
  /** Monotonic times (ms) at which the call started and the result came back. */
  call: number;
  /** Undefined: the outcome is unknown. */
  ret?: number;
  result?: KvResult;
}

export interface CheckResult {
  ok: boolean;
  /** Keys checked and operations in all. */
  keys: number;
  ops: number;
  /** First key whose sub-history is not linearizable, with its operations in call order. */
  counterexample?: { key: string; ops: HistoryOp[] };
}

/** Largest sub-history searched; beyond it the search could run for hours (the problem is NP-complete). */
const MAX_OPS_PER_KEY = 2000;

type State = string | null;

/** The sequential specification of one key (components/smr/services/kv.ts `applyKv`, restricted to one key). */
function step(state: State, op: KvOp): { next: State; result: KvResult } {
  switch (op.op) {
    case 'get':
      return { next: state, result: { ok: true, value: state } };
    case 'put':
      return { next: op.value, result: { ok: true, value: state } };
    case 'delete':
      return { next: null, result: { ok: true, value: state } };
    case 'cas':
      return state === op.expected
        ? { next: op.value, result: { ok: true, value: state } }
        : { next: state, result: { ok: false, value: state } };
  }
}

function sameResult(a: KvResult, b: KvResult): boolean {
  if ('error' in a || 'error' in b) return 'error' in a && 'error' in b && a.error === b.error;
  return a.ok === b.ok && a.value === b.value;
}

interface Event {
  op: number;
  isCall: boolean;
  time: number;
  prev: Event | null;
  next: Event | null;
  /** For a call: its return event. */
  match?: Event;
}

/** Calls before returns at equal times: operations that touch in time are concurrent, never ordered. */
function eventList(ops: readonly HistoryOp[]): Event {
  const events: Event[] = [];
  ops.forEach((o, i) => {
    const call: Event = { op: i, isCall: true, time: o.call, prev: null, next: null };
    const ret: Event = { op: i, isCall: false, time: o.ret ?? Number.POSITIVE_INFINITY, prev: null, next: null };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Event = { op: -1, isCall: false, time: Number.NEGATIVE_INFINITY, prev: null, next: null };
  let last = head;
  for (const e of events) {
    e.prev = last;
    last.next = e;
    last = e;
  }
  return head;
}

function lift(call: Event): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Event): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

/** Whether one key's operations, starting from an absent key, have a linearization. */
function linearizable(ops: readonly HistoryOp[]): boolean {
  const head = eventList(ops);
  const mustFinish = ops.filter((o) => o.ret !== undefined).length;
  let done = 0;
  let state: State = null;
  let linearized = 0n;
  const seen = new Set<string>();
  const stack: { call: Event; state: State }[] = [];
  let entry = head.next;
  for (;;) {
    if (done === mustFinish) return true;
    if (entry === null) return false;
    if (entry.isCall) {
      const o = ops[entry.op]!;
      const { next, result } = step(state, o.op);
      const fits = o.result === undefined || o.ret === undefined || sameResult(result, o.result);
      const bits = linearized | (1n << BigInt(entry.op));
      const key = `${bits.toString(36)}|${next === null ? '\u0000' : `=${next}`}`;
      if (fits && !seen.has(key)) {
        seen.add(key);
        stack.push({ call: entry, state });
        lift(entry);
        state = next;
        linearized = bits;
        if (o.ret !== undefined) done++;
        entry = head.next;
        continue;
      }
      entry = entry.next;
      continue;
    }
    // A return whose operation is not linearized yet: undo the last choice and try the next candidate.
    const top = stack.pop();
    if (!top) return false;
    unlift(top.call);
    state = top.state;
    linearized &= ~(1n << BigInt(top.call.op));
    if (ops[top.call.op]!.ret !== undefined) done--;
    entry = top.call.next;
  }
}

export function checkKvHistory(history: readonly HistoryOp[]): CheckResult {
  const byKey = new Map<string, HistoryOp[]>();
  for (const h of history) {
    const list = byKey.get(h.op.key);
    if (list) list.push(h);
    else byKey.set(h.op.key, [h]);
  }
  for (const [key, ops] of byKey) {
    if (ops.length > MAX_OPS_PER_KEY)
      throw new Error(`key ${key} has ${ops.length} operations (at most ${MAX_OPS_PER_KEY})`);
    if (!linearizable(ops)) {
      return {
        ok: false,
        keys: byKey.size,
        ops: history.length,
        counterexample: { key, ops: [...ops].sort((a, b) => a.call - b.call) },
      };
    }
  }
  return { ok: true, keys: byKey.size, ops: history.length };
}
