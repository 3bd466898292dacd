/**
 * The caller shell of an engine replica: the part that talks to the world. After every ordered operation it reads
 * the engine state (the same on every replica) and
 *  - makes each pending call it is the chosen caller of (caller-choice.ts), with the call id as Idempotency-Key,
 *    and orders the outcome back through the SMR as an engine client of its own group;
 *  - asks for a takeover of a call whose caller has not answered in time (TClouds D2.2.1, §9.3.2), once per round;
 *  - orders a timer tick when a Wait or retry timer is due by its clock (the engine fires what is due by the
 *    agreed timestamp, so a replica whose clock runs ahead only sends a tick early, which changes nothing).
 * Nothing here decides anything the other replicas must agree on: that is all in the ordered operations.
 */
import type { Logger } from '../../runtime/role.js';
import { isCaller, shouldTakeOver } from './caller-choice.js';
import type { PendingCall } from './engine/types.js';
import { makeCall } from './http-call.js';
import { MAX_CALLS_IN_FLIGHT } from './limits.js';
import type { WorkflowOp } from './operations.js';
import type { WorkflowService } from './service.js';

/** How often the shell looks at the state without being told (takeovers are due by the clock, not by an input). */
const SCAN_EVERY_MS = 100;
/** A tick that fired nothing (the leader's clock was behind ours) is sent again after this long. */
const TICK_RETRY_MS = 20;

/**
 * The caller shell's Byzantine mode, for tests and `tclouds chaos byzantine`: the engine makes every pending call,
 * chosen or not, twice (a forged repeat, with the same Idempotency-Key), and orders a made-up outcome for it.
 */
export const CALLER_LIE = 'lie-results';
/** The outcome a lying engine orders. */
export const FORGED_OUTCOME = {
  ok: true,
  status: 200,
  statusText: 'OK',
  headers: {},
  body: '{"forged":true}',
} as const;

/** Orders one operation through the engines (an SMR request; a direct apply in the benchmark's single engine). */
export type Submit = (op: WorkflowOp) => Promise<void>;

export interface CallerOptions {
  /** This replica's index and the group size. */
  me: number;
  n: number;
  /** This shell's client identity, as the engine records whose outcome a vote is (Byzantine engines). */
  self: string;
  /** Replicas that make each call (1; f+1 with Byzantine engines, whose outcomes must match). */
  callers: number;
  takeoverMs: number;
  log: Logger;
}

export class CallerShell {
  /** Byzantine mode (CALLER_LIE): switched by the node's fault switch. */
  lie = false;
  /** Calls this replica is making now. */
  private readonly making = new Set<string>();
  /** Per pending call not ours: the round we saw and since when (local clock), and whether we asked already. */
  private readonly seen = new Map<string, { round: number; since: number; asked: boolean }>();
  private scanTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private tickAt = Number.POSITIVE_INFINITY;
  private scanQueued = false;
  private stopped = false;
  private readonly me: number;
  private readonly n: number;

  constructor(
    private readonly opts: CallerOptions,
    private readonly service: WorkflowService,
    private readonly submit: Submit,
  ) {
    this.me = opts.me;
    this.n = opts.n;
  }

  start(): void {
    this.service.onExecuted(() => this.schedule());
    this.scanTimer = setInterval(() => this.schedule(), SCAN_EVERY_MS);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.scanTimer);
    clearTimeout(this.tickTimer);
  }

  health(): Record<string, unknown> {
    const st = this.service.machine.state;
    return { running: st.running, callsInFlight: Object.keys(st.calls).length, calling: this.making.size };
  }

  /** One scan after the current event, however many operations were executed in it. */
  private schedule(): void {
    if (this.scanQueued || this.stopped) return;
    this.scanQueued = true;
    setImmediate(() => {
      this.scanQueued = false;
      if (!this.stopped) this.scan();
    });
  }

  private scan(): void {
    const now = Date.now();
    const live = new Set<string>();
    for (const c of this.service.machine.pendingCalls()) {
      live.add(c.id);
      const mine = this.lie || isCaller(c.id, c.takeovers, this.n, this.me, this.opts.callers);
      if (mine && c.votes?.[this.opts.self] === undefined) {
        this.seen.delete(c.id);
        if (!this.making.has(c.id) && this.making.size < MAX_CALLS_IN_FLIGHT) void this.call(c);
      } else this.watch(c, now);
    }
    for (const id of this.seen.keys()) if (!live.has(id)) this.seen.delete(id);
    this.armTick(now);
  }

  /** A call another replica should be making: ask for a takeover once it has waited too long. */
  private watch(c: PendingCall, now: number): void {
    let s = this.seen.get(c.id);
    if (!s || s.round !== c.takeovers) {
      s = { round: c.takeovers, since: now, asked: false };
      this.seen.set(c.id, s);
    }
    const { n, me, takeoverMs, callers } = this.opts;
    if (s.asked || !shouldTakeOver(c.id, c.takeovers, n, me, now - s.since, takeoverMs, callers)) return;
    s.asked = true;
    this.opts.log.warn('taking a call over', { call: c.id, round: c.takeovers, waitedMs: now - s.since });
    void this.submit({ op: 'takeover', call: c.id, takeovers: c.takeovers }).catch(() => {
      s.asked = false;
    });
  }

  private async call(c: PendingCall): Promise<void> {
    this.making.add(c.id);
    try {
      let outcome = await makeCall(c.id, c.request, c.timeoutMs);
      if (this.lie) {
        await makeCall(c.id, c.request, c.timeoutMs);
        outcome = FORGED_OUTCOME;
      }
      if (!this.stopped) await this.submit({ op: 'result', call: c.id, outcome });
    } catch (e) {
      // Not ordered (no quorum in time): the call is still pending, and the next scan makes it again, same id.
      this.opts.log.warn('call result not ordered', { call: c.id, error: (e as Error).message });
    } finally {
      this.making.delete(c.id);
    }
  }

  /** Sets the tick timer for the earliest due timer of the state. */
  private armTick(now: number): void {
    const at = this.service.machine.nextTimerAt();
    if (at === undefined || at >= this.tickAt) return;
    clearTimeout(this.tickTimer);
    this.tickAt = at;
    this.tickTimer = setTimeout(
      () => {
        this.tickAt = Number.POSITIVE_INFINITY;
        void this.submit({ op: 'tick' })
          .catch(() => undefined)
          .finally(() => setTimeout(() => this.schedule(), TICK_RETRY_MS));
      },
      Math.max(0, at - now),
    );
  }
}
