/**
 * The SMR replica core: Mod-SMaRt over VP-Consensus (TClouds D2.2.1, ch. 8; BFT-SMaRt), as a pure state machine.
 *
 * `step(input)` takes one event (tick, client request, peer message, snapshot) and returns actions (sends,
 * executions, checkpoints, restores, log lines). No clock, no I/O, no randomness: time is the tick count, the
 * leader's batch timestamp and seed come from tick inputs, and crypto is injected (CoreEnv). One consensus instance
 * runs at a time: the instance in progress is always lastDecided + 1.
 *
 * The protocol is split by phase, each part a class of its own that reaches the others through this core:
 *   request-pool.ts    client requests waiting to be ordered, fair batches, request timers
 *   consensus.ts       the normal case: PROPOSE, WRITE, ACCEPT, decide (and the early proposal)
 *   leader-change.ts   STOP, STOPDATA, SYNC: replacing a leader that is slow, silent or lying
 *   state-transfer.ts  STREQ, STATE: catching up with decisions and checkpoints f+1 replicas report
 *   decisions.ts       what was decided: the log since the last checkpoint, and that checkpoint
 * This file holds what they share (configuration, clock, output), routes events to them, and saves and restores
 * a replica across restarts. Public fields are read by the parts, the driver, the node and the tests; only this
 * file and the parts write them.
 */

import { decodeCheckpoint } from './checkpoint.js';
import { bytesEqual, decodeBatch } from './codec.js';
import { EMPTY_STATE } from './collect.js';
import { Consensus } from './consensus.js';
import { type Checkpoint, type Decision, DecisionLog } from './decisions.js';
import { type Instance, isDecisionProof } from './instance.js';
import { LeaderChange } from './leader-change.js';
import { HEARTBEAT_TIMEOUTS, MAX_FORWARDED_REQUESTS } from './limits.js';
import { RequestPool } from './request-pool.js';
import { StateTransfer } from './state-transfer.js';
import type { Action, CoreConfig, CoreEnv, DecisionProof, Input, Msg } from './types.js';

/**
 * A replica's state that must survive a restart (stop-state.ts, and the write-ahead log's BASE records), besides
 * its checkpoint. Written to disk as is: the field names are part of the files.
 */
export interface DurableState {
  lastDecided: number;
  /** Decisions after the last checkpoint, oldest first. */
  decisions: Decision[];
  /** Proof of the last decision, when there is one; checked again before use. */
  lastProof: DecisionProof | null;
  regency: number;
  /** Votes and values of the instance in progress (what STOPDATA reports in a leader change). */
  inst: Instance;
  /**
   * The highest regency this replica asked for with STOP (absent in stop states written before the write-ahead
   * log): a STOP is a promise to leave the current regency, so a restart must not forget it.
   */
  stopLevel?: number;
}

export class ReplicaCore {
  readonly n: number;
  readonly f: number;
  readonly me: number;
  /**
   * Whether the group tolerates Byzantine replicas (f > 0). A crash-fault group runs the core with f = 0 (node.ts)
   * and needs no WRITE round (consensus.ts write).
   */
  readonly byzantine: boolean;
  /** A quorum is more than this many replicas: floor((n + f) / 2). */
  private readonly quorumExceeds: number;
  private out: Action[] = [];

  /** Ticks seen: the core's clock. */
  tick = 0;
  /** The host's wall clock (ms) at the last tick: only a leader's batch timestamps use it. */
  wallClock = 0;
  /** Fresh randomness of the last tick, for a leader's batch seeds. */
  entropy = 0;
  /**
   * Restarted and not yet past a new regency: proposes nothing, because proposing again in the regency it led
   * before the restart could equivocate (CoreConfig.recovering).
   */
  recovering: boolean;
  private lastHeartbeat = 0;

  readonly decisions = new DecisionLog();
  readonly pool: RequestPool;
  readonly consensus: Consensus;
  readonly leaderChange: LeaderChange;
  readonly stateTransfer: StateTransfer;

  constructor(
    readonly config: CoreConfig,
    readonly env: CoreEnv,
  ) {
    this.n = config.n;
    this.f = config.f;
    this.byzantine = config.f > 0;
    this.me = config.me;
    this.quorumExceeds = Math.floor((config.n + config.f) / 2);
    this.recovering = config.recovering === true;
    this.pool = new RequestPool(config, env, this.decisions);
    this.consensus = new Consensus(this);
    this.leaderChange = new LeaderChange(this);
    this.stateTransfer = new StateTransfer(this);
  }

  leader(reg = this.leaderChange.regency): number {
    return reg % this.n;
  }

  isQuorum(count: number): boolean {
    return count > this.quorumExceeds;
  }

  /** Whether `p` proves a decision to this replica (instance.ts isDecisionProof). */
  isProof(p: DecisionProof | null | undefined): boolean {
    return isDecisionProof(p, this.env, this.n, this.f);
  }

  get regency(): number {
    return this.leaderChange.regency;
  }

  get lastDecided(): number {
    return this.decisions.lastDecided;
  }

  get checkpoint(): Checkpoint | null {
    return this.decisions.checkpoint;
  }

  /** Requests waiting to be ordered. */
  get pending(): number {
    return this.pool.size;
  }

  get leaderChangeActive(): boolean {
    return this.leaderChange.active;
  }

  get stateTransferActive(): boolean {
    return this.stateTransfer.active;
  }

  step(input: Input): Action[] {
    this.out = [];
    switch (input.type) {
      case 'tick':
        this.onTick(input.now, input.entropy);
        break;
      case 'request':
        this.pool.offer(input.bytes, input.req, this.tick);
        this.consensus.maybePropose();
        break;
      case 'requests':
        for (const item of input.items) this.pool.offer(item.bytes, item.req, this.tick);
        this.consensus.maybePropose();
        break;
      case 'message':
        // The sender index comes from the authenticated channel, never from the message.
        if (input.from >= 0 && input.from < this.n && input.from !== this.me) this.onMessage(input.from, input.msg);
        break;
      case 'snapshot':
        this.decisions.onSnapshot(input.cid, input.bytes, this.env.digest);
        break;
    }
    return this.out;
  }

  // ---------------------------------------------------------------- output, for the parts

  send(to: number | 'all', msg: Msg): void {
    this.out.push({ type: 'send', to, msg });
  }

  emit(action: Action): void {
    this.out.push(action);
  }

  logEvent(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void {
    this.out.push({ type: 'log', level, msg, fields: { replica: this.me, ...fields } });
  }

  // ---------------------------------------------------------------- events

  private onMessage(from: number, msg: Msg): void {
    switch (msg.t) {
      case 'PROPOSE':
      case 'WRITE':
      case 'ACCEPT':
        this.consensus.onVote(from, msg);
        return;
      case 'FWD':
        if (!Array.isArray(msg.reqs)) return;
        for (const r of msg.reqs.slice(0, MAX_FORWARDED_REQUESTS)) {
          if (r instanceof Uint8Array) this.pool.offer(r, undefined, this.tick);
        }
        this.consensus.maybePropose();
        return;
      case 'STOP':
        this.leaderChange.onStop(from, msg);
        return;
      case 'STOPDATA':
        this.leaderChange.onStopData(from, msg);
        return;
      case 'SYNC':
        this.leaderChange.onSync(from, msg);
        return;
      case 'REG':
        if (Number.isInteger(msg.reg)) this.leaderChange.hint(from, msg.reg);
        return;
      case 'HB':
        this.onHeartbeat(from, msg);
        return;
      case 'DECIDED':
        if (msg.proof?.cid === this.decisions.lastDecided + 1 && this.isProof(msg.proof)) {
          this.consensus.adopt(msg.proof);
        }
        return;
      case 'STREQ':
        this.stateTransfer.onRequest(from, msg);
        return;
      case 'STATE':
        this.stateTransfer.onState(from, msg);
        return;
    }
  }

  /** A peer's heartbeat: its regency may install ours, its cid shows lagging, and one instance behind gets a proof. */
  private onHeartbeat(from: number, msg: Extract<Msg, { t: 'HB' }>): void {
    if (!Number.isInteger(msg.reg) || !Number.isInteger(msg.cid)) return;
    this.leaderChange.hint(from, msg.reg);
    this.stateTransfer.noteAhead(from, msg.cid + 1);
    const last = this.decisions.last;
    if (msg.cid === this.decisions.lastDecided - 1 && last?.proof) this.send(from, { t: 'DECIDED', proof: last.proof });
  }

  private onTick(now: number, entropy: number): void {
    this.tick++;
    this.wallClock = now;
    this.entropy = entropy >>> 0;
    this.leaderChange.onTick();
    this.stateTransfer.checkLag();
    // Heartbeat: lets an idle replica that missed decisions or a regency notice it (then it catches up).
    if (this.tick - this.lastHeartbeat >= HEARTBEAT_TIMEOUTS * this.config.requestTimeout) {
      this.lastHeartbeat = this.tick;
      this.send('all', { t: 'HB', reg: this.leaderChange.regency, cid: this.decisions.lastDecided });
    }
    this.stateTransfer.retryIfStalled();
  }

  // ---------------------------------------------------------------- restarts

  /** What a clean stop saves besides the checkpoint (components/smr/stop-state.ts). */
  exportDurable(): DurableState {
    const decisions = this.decisions;
    return {
      lastDecided: decisions.lastDecided,
      decisions: decisions.sinceCheckpoint.slice(),
      lastProof: decisions.last?.proof ?? null,
      regency: this.leaderChange.regency,
      inst: this.consensus.instance,
      stopLevel: this.leaderChange.stopSentFor,
    };
  }

  /**
   * At start, after restoreLocal (or with no checkpoint): comes back as the replica that stopped. Re-executes the
   * decisions saved since the checkpoint (decisions are final: re-executing the run that continues lastDecided
   * rebuilds the state), with the proof of the last one, then takes back the regency and the votes on the instance
   * in progress, so the next leader change sees them. When the decisions do not all replay (a checkpoint that did
   * not match them), the votes are not restored: the replica stays as after a crash and catches up by state
   * transfer. Either way it stays `recovering` (proposes nothing until a new regency is installed).
   */
  importDurable(d: DurableState): Action[] {
    this.out = [];
    const decisions = this.decisions;
    for (const e of d.decisions) {
      if (e.cid !== decisions.lastDecided + 1 || !(e.value instanceof Uint8Array)) continue;
      this.consensus.startInstance(e.cid);
      const p = d.lastProof;
      const proof = p && p.cid === e.cid && bytesEqual(p.value, e.value) && this.isProof(p) ? p : null;
      this.consensus.decide(e.value, proof);
    }
    // The last decision may be the checkpoint itself (none after it to replay): keep its proof all the same. Peers
    // that had not decided it when the group stopped can only adopt it from that proof (the next leader's SYNC
    // carries it): state transfer needs f+1 replicas at that checkpoint, and this may be the only one (the
    // simulator found a group stuck so, with one silent Byzantine replica).
    const p = d.lastProof;
    if (!decisions.last && p && p.cid === decisions.lastDecided && p.cid === d.lastDecided && this.isProof(p)) {
      decisions.last = { state: EMPTY_STATE, proof: p };
    }
    if (decisions.lastDecided === d.lastDecided && d.inst?.cid === decisions.lastDecided + 1) {
      this.consensus.instance = d.inst;
      if (d.regency > this.leaderChange.regency) this.leaderChange.regency = d.regency;
      this.repoolAccepted(d.inst);
    }
    const stopLevel = d.stopLevel ?? -1;
    if (Number.isInteger(stopLevel) && stopLevel > this.leaderChange.stopSentFor) {
      this.leaderChange.stopSentFor = stopLevel;
    }
    return this.out;
  }

  /**
   * The requests of the value this replica accepted in the instance it resumed in, back in its pool: that value may
   * have been decided and answered before the crash, with the decision records unwritten (the ACCEPTs were), and
   * its requests' timers make sure the instance is decided again (by a leader change, which binds the value) even
   * if no client sends anything more.
   */
  private repoolAccepted(inst: Instance): void {
    if (inst.accepted.size === 0 || !(inst.val instanceof Uint8Array)) return;
    const batch = decodeBatch(inst.val);
    for (const r of batch?.requests ?? []) if (!r.readOnly) this.pool.offer(r.bytes, r, this.tick);
  }

  /**
   * Restart from this replica's own last checkpoint (written by the host). Returns the service snapshot to
   * restore, or undefined when the bytes do not decode. What came after the checkpoint comes back from the stop
   * write-ahead log or the stop state of a clean stop (importDurable) or, without either, from peers by state
   * transfer. `cid` may be any decided instance: the host may checkpoint on its own to bound its log.
   */
  restoreLocal(cid: number, bytes: Uint8Array): Uint8Array | undefined {
    const content = decodeCheckpoint(bytes);
    if (!content || !Number.isInteger(cid) || cid < 0 || this.decisions.lastDecided !== -1) return undefined;
    this.decisions.install({ cid, hash: this.env.digest(bytes), bytes }, content.clients, content.ts);
    this.consensus.startInstance(cid + 1);
    return content.service;
  }

  /** Role health (GET /health `role`): a stable JSON shape, read by the status dashboard. */
  health(): Record<string, unknown> {
    return {
      leader: this.leader(),
      regency: this.leaderChange.regency,
      lastDecided: this.decisions.lastDecided,
      checkpoint: this.decisions.checkpoint?.cid ?? -1,
      pending: this.pool.size,
      leaderChange: this.leaderChange.active,
      stateTransfer: this.stateTransfer.active,
    };
  }
}
