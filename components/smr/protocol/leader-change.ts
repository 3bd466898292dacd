/**
 * Leader change of Mod-SMaRt (TClouds D2.2.1, ch. 8; BFT-SMaRt's synchronization phase), for when the leader of
 * the installed regency is slow, silent or lying:
 *
 *  - Request timers: a follower forwards a request the leader has not ordered within one request timeout (FWD),
 *    and after STOP_AFTER_TIMEOUTS sends STOP for the next regency. A STOP for r supports every regency up to r.
 *  - STOPs: a replica joins a regency when more than f others want it (at least one correct replica does), and
 *    installs it when more than 2f do. Replies naming a later regency (REG, votes, heartbeats) from f+1 replicas
 *    install it too: at least one correct replica already has.
 *  - STOPDATA: on installing, each replica sends the new leader its collect (what it wrote and accepted in the
 *    instance in progress, MAC-vectored so followers can re-check it) and the proof of its last decision.
 *  - SYNC: the new leader picks the value the collects force (collect.ts chooseValue) or, when none is forced, a
 *    fresh batch, and sends it with the collects; followers re-check the choice and resume at WRITE.
 *
 * A leader change that does not complete in its timeout moves on to the next regency with the timeout doubled.
 */
import { assert } from '../../../kernel/assert.js';
import { type CollectState, chooseValue, decodeCollect, EMPTY_STATE, encodeCollect } from './collect.js';
import type { ReplicaCore } from './core.js';
import {
  EARLY_STOPDATA_REGENCIES,
  EARLY_SYNC_REGENCIES,
  MAX_FORWARDED_REQUESTS,
  MAX_LEADER_CHANGE_TIMEOUT_FACTOR,
  MAX_REQUEST_TIMEOUT_FACTOR,
  MAX_STOP_REQUESTS,
} from './limits.js';
import type { DecisionProof, Msg, SignedCollect } from './types.js';

type StopMsg = Extract<Msg, { t: 'STOP' }>;
type StopDataMsg = Extract<Msg, { t: 'STOPDATA' }>;
type SyncMsg = Extract<Msg, { t: 'SYNC' }>;

/** A STOPDATA this replica received as the new leader, checked and decoded. */
interface ReceivedCollect {
  signed: SignedCollect;
  cid: number;
  state: CollectState;
  /** The sender's proof of its last decision, when it checked. */
  last: DecisionProof | null;
}

export class LeaderChange {
  /** The installed regency; its leader is regency mod n. Only grows. */
  regency = 0;
  /** A regency is installed and its SYNC not yet applied (as leader: not yet built). */
  active = false;
  /** The highest regency this replica has sent STOP for. */
  stopSentFor = 0;
  /** Per replica, the highest regency it sent STOP for (above ours). */
  private readonly stopLevels = new Map<number, number>();
  /** Per replica, the highest regency its messages showed (above ours). */
  private readonly regencyHints = new Map<number, number>();
  /** Per replica, the regency we last told it about (REG), so a lagging replica is told once per regency. */
  private readonly regencyToldTo = new Map<number, number>();
  /** Tick at which the current leader change (or our last STOP) started. */
  private startedAt = 0;
  /** Ticks a leader change may take before we move to the next regency (doubles each time; reset by a decision). */
  private timeout: number;
  /** Ticks a pooled request may wait (doubles on each timeout-driven leader change; decays on decisions). */
  private requestTimeout: number;
  /** As the new leader: the checked collects received for the regency, by sender. */
  private readonly collects = new Map<number, ReceivedCollect>();
  /** STOPDATA for a regency we lead but have not installed yet, one per sender (see onStopData). */
  private readonly earlyStopData = new Map<number, StopDataMsg>();
  /** As the leader: the SYNC sent for the installed regency (sent again to late joiners). */
  private lastSync: SyncMsg | null = null;
  /** A SYNC that came before we could use it (regency not installed yet, or decisions missing). */
  pendingSync: SyncMsg | null = null;
  /** The cid whose value the SYNC of the installed regency fixed: no free PROPOSE for it. */
  syncCid = -1;

  constructor(private readonly core: ReplicaCore) {
    this.timeout = core.config.requestTimeout;
    this.requestTimeout = core.config.requestTimeout;
  }

  // ---------------------------------------------------------------- timers

  /** Request timers (forward, then STOP) and the timeout of a leader change in progress. */
  onTick(): void {
    const core = this.core;
    const { forward, stale } = core.pool.expired(core.tick, this.requestTimeout);
    if (forward.length > 0 && core.leader() !== core.me) {
      core.send(core.leader(), { t: 'FWD', reqs: forward.slice(0, MAX_FORWARDED_REQUESTS) });
    }
    if (stale.length > 0 && !this.active && this.stopSentFor <= this.regency) {
      core.logEvent('warn', 'request timeout; starting leader change', {
        regency: this.regency,
        requests: stale.length,
      });
      // Eventual synchrony: the bound is unknown, so every timeout-driven change doubles the request timeout.
      const cap = core.config.requestTimeout * MAX_REQUEST_TIMEOUT_FACTOR;
      this.requestTimeout = Math.min(this.requestTimeout * 2, cap);
      this.start(stale.slice(0, MAX_STOP_REQUESTS));
    }
    // A leader change that does not complete moves on to the next regency, with a doubling timeout.
    if ((this.active || this.stopSentFor > this.regency) && core.tick - this.startedAt > this.timeout) {
      this.timeout = Math.min(this.timeout * 2, core.config.requestTimeout * MAX_LEADER_CHANGE_TIMEOUT_FACTOR);
      this.start([]);
    }
  }

  /** Progress: the leader change timeout starts over, and an inflated request timeout decays back slowly. */
  onDecided(): void {
    this.timeout = this.core.config.requestTimeout;
    if (this.requestTimeout > this.core.config.requestTimeout) this.requestTimeout--;
  }

  // ---------------------------------------------------------------- STOP and installing a regency

  /** Asks for the regency after the highest one we know of, with the requests that timed out. */
  start(reqs: Uint8Array[]): void {
    this.sendStop(Math.max(this.regency, this.stopSentFor) + 1, reqs);
  }

  private sendStop(reg: number, reqs: Uint8Array[]): void {
    if (this.stopSentFor >= reg) return;
    this.stopSentFor = reg;
    this.startedAt = this.core.tick;
    this.core.send('all', { t: 'STOP', reg, reqs });
    this.evaluateStops();
  }

  /** A STOP: the sender wants regency msg.reg (or later); a sender behind our regency is told where we are. */
  onStop(from: number, msg: StopMsg): void {
    const core = this.core;
    if (!Number.isInteger(msg.reg) || msg.reg < 0) return;
    // The requests that timed out at the sender: pooled here too, so the next leader has them.
    if (Array.isArray(msg.reqs)) {
      for (const r of msg.reqs.slice(0, MAX_STOP_REQUESTS)) {
        if (r instanceof Uint8Array) core.pool.offer(r, undefined, core.tick);
      }
    }
    if (msg.reg <= this.regency) {
      // The sender is behind our regency: tell it once, so it can catch up (f+1 such hints move it).
      if ((this.regencyToldTo.get(from) ?? -1) < this.regency) {
        this.regencyToldTo.set(from, this.regency);
        core.send(from, { t: 'REG', reg: this.regency });
      }
      return;
    }
    if ((this.stopLevels.get(from) ?? -1) < msg.reg) this.stopLevels.set(from, msg.reg);
    this.evaluateStops();
  }

  /** A STOP for r supports every regency <= r. Join the (f+1)-th highest level, install the (2f+1)-th. */
  private evaluateStops(): void {
    const f = this.core.f;
    const levels: number[] = [this.stopSentFor];
    for (const [from, l] of this.stopLevels) if (from !== this.core.me) levels.push(l);
    assert(levels.length <= this.core.n, 'STOP levels come from replicas of the group', {
      levels: levels.length,
      n: this.core.n,
    });
    levels.sort((a, b) => b - a);
    const join = levels[f] ?? -1;
    if (join > Math.max(this.regency, this.stopSentFor)) this.sendStop(join, []);
    const install = levels[2 * f] ?? -1;
    if (install > this.regency) this.install(install);
  }

  /** f+1 replicas show they are in regency >= r: at least one correct replica installed it, so we may too. */
  hint(from: number, reg: number): void {
    if (reg <= this.regency) return;
    if ((this.regencyHints.get(from) ?? -1) < reg) this.regencyHints.set(from, reg);
    const levels = [...this.regencyHints.values()].sort((a, b) => b - a);
    const r = levels[this.core.f] ?? -1;
    if (r > this.regency) this.install(r);
  }

  /** Installs regency `reg` and sends our collect to its leader (or, as the leader, takes it ourselves). */
  private install(reg: number): void {
    const core = this.core;
    assert(reg > this.regency, 'regencies only grow', { reg, regency: this.regency });
    core.logEvent('info', 'installing regency', { regency: reg, leader: core.leader(reg) });
    this.regency = reg;
    core.recovering = false;
    if (this.stopSentFor < reg) this.stopSentFor = reg;
    this.active = true;
    this.startedAt = core.tick;
    this.collects.clear();
    this.lastSync = null;
    this.syncCid = -1;
    core.consensus.forgetProposal();
    core.pool.restartTimers(core.tick);
    const instance = core.consensus.instance;
    const collect = encodeCollect({
      reg,
      cid: instance.cid,
      valTs: instance.valTs,
      valHash: instance.valHash,
      val: instance.val,
      ws: instance.ws,
    });
    const msg: Msg = {
      t: 'STOPDATA',
      reg,
      collect,
      auth: core.env.vector(collect),
      last: core.decisions.last?.proof ?? null,
    };
    if (core.leader(reg) === core.me) {
      this.onStopData(core.me, msg);
      for (const [from, early] of [...this.earlyStopData]) {
        if (early.reg <= reg) this.earlyStopData.delete(from);
        if (early.reg === reg) this.onStopData(from, early);
      }
    } else core.send(core.leader(reg), msg);
    if (this.pendingSync && this.pendingSync.reg === reg) {
      const s = this.pendingSync;
      this.pendingSync = null;
      this.onSync(core.leader(reg), s);
    }
  }

  // ---------------------------------------------------------------- the new leader: STOPDATA, then SYNC

  onStopData(from: number, msg: StopDataMsg): void {
    const core = this.core;
    if (
      Number.isInteger(msg.reg) &&
      msg.reg > this.regency &&
      msg.reg <= this.regency + EARLY_STOPDATA_REGENCIES &&
      core.leader(msg.reg) === core.me &&
      from !== core.me
    ) {
      // A follower installed the regency before we did (its STOPs reached it first): keep its STOPDATA for when we
      // install it. It is sent once; dropping it left a new leader one collect short for the whole regency (the
      // simulator found groups that changed leader for thousands of ticks so, with one silent replica).
      const held = this.earlyStopData.get(from);
      if (!held || held.reg < msg.reg) this.earlyStopData.set(from, msg);
      return;
    }
    if (msg.reg !== this.regency || core.leader() !== core.me) return;
    if (!this.active) {
      // Late joiner: it missed our SYNC; send it again.
      if (this.lastSync && from !== core.me) core.send(from, this.lastSync);
      return;
    }
    if (this.collects.has(from) || !(msg.collect instanceof Uint8Array) || !(msg.auth instanceof Uint8Array)) return;
    if (!core.env.checkVector(from, msg.collect, msg.auth)) return;
    const collect = decodeCollect(msg.collect, core.env.digest);
    if (!collect || collect.reg !== msg.reg) return;
    this.collects.set(from, {
      signed: { from, collect: msg.collect, auth: msg.auth },
      cid: collect.cid,
      state: collect,
      last: core.isProof(msg.last) ? msg.last : null,
    });
    this.tryLead();
  }

  /**
   * As the new leader, with the collects received so far: first adopt the decisions they prove (or fetch the
   * state when they prove later ones), then SYNC the value they force for the next instance, once they suffice.
   */
  tryLead(): void {
    const core = this.core;
    assert(core.leader() === core.me && this.active, 'only the leader of a regency being installed leads it', {
      regency: this.regency,
      me: core.me,
      active: this.active,
    });
    // Catch up with decisions others can prove.
    let progress = true;
    while (progress) {
      progress = false;
      for (const received of this.collects.values()) {
        if (received.last && received.last.cid === core.decisions.lastDecided + 1) {
          core.consensus.adopt(received.last);
          progress = true;
        }
      }
    }
    for (const received of this.collects.values()) {
      if (received.last && received.last.cid > core.decisions.lastDecided) {
        core.stateTransfer.request();
        return;
      }
    }
    const cid = core.decisions.lastDecided + 1;
    const entries = [...this.collects.values()];
    const choice = chooseValue(statesFor(cid, entries), core.n, core.f);
    if (choice.kind === 'unsound') return;
    const value = choice.kind === 'bound' ? choice.value : core.consensus.buildBatch();
    const sync: SyncMsg = {
      t: 'SYNC',
      reg: this.regency,
      cid,
      last: core.decisions.last?.proof ?? null,
      collects: entries.filter((e) => e.cid <= cid).map((e) => e.signed),
      value,
    };
    core.logEvent('info', 'new leader synchronising', { regency: this.regency, cid, choice: choice.kind });
    this.lastSync = sync;
    core.send('all', sync);
    this.applySync(sync);
  }

  // ---------------------------------------------------------------- followers: checking the SYNC

  onSync(from: number, msg: SyncMsg): void {
    const core = this.core;
    if (!Number.isInteger(msg.reg) || !Number.isInteger(msg.cid) || from !== core.leader(msg.reg)) return;
    if (msg.reg > this.regency) {
      this.hint(from, msg.reg);
      if (msg.reg > this.regency && msg.reg <= this.regency + EARLY_SYNC_REGENCIES) this.pendingSync = msg;
      return;
    }
    if (msg.reg < this.regency || !this.active) return;
    if (!(msg.value instanceof Uint8Array) || !Array.isArray(msg.collects)) return;
    const decisions = core.decisions;
    if (
      msg.cid === decisions.lastDecided + 2 &&
      msg.last?.cid === decisions.lastDecided + 1 &&
      core.isProof(msg.last)
    ) {
      core.consensus.adopt(msg.last);
    }
    if (msg.cid > decisions.lastDecided + 1) {
      this.pendingSync = msg;
      core.stateTransfer.request();
      return;
    }
    if (msg.cid <= decisions.lastDecided) {
      this.finishSync(msg.cid);
      return;
    }
    const choice = chooseValue(statesFor(msg.cid, this.checkedCollects(msg)), core.n, core.f);
    const hash = core.env.digest(msg.value);
    const good =
      (choice.kind === 'bound' && choice.hash === hash) ||
      (choice.kind === 'unbound' && core.consensus.validBatch(msg.value));
    if (!good) {
      core.logEvent('warn', 'SYNC from new leader does not check; next leader change', {
        regency: msg.reg,
        choice: choice.kind,
      });
      this.start([]);
      return;
    }
    this.applySync(msg);
  }

  /** Re-checks the leader's work: only collects whose MAC-vector entry for us verifies count, one per sender. */
  private checkedCollects(msg: SyncMsg): { cid: number; state: CollectState }[] {
    const core = this.core;
    const entries: { cid: number; state: CollectState }[] = [];
    const seen = new Set<number>();
    for (const sc of msg.collects) {
      if (!sc || !Number.isInteger(sc.from) || seen.has(sc.from) || sc.from < 0 || sc.from >= core.n) continue;
      if (!(sc.collect instanceof Uint8Array) || !(sc.auth instanceof Uint8Array)) continue;
      if (!core.env.checkVector(sc.from, sc.collect, sc.auth)) continue;
      const collect = decodeCollect(sc.collect, core.env.digest);
      if (!collect || collect.reg !== msg.reg) continue;
      seen.add(sc.from);
      entries.push({ cid: collect.cid, state: collect });
    }
    return entries;
  }

  /** The leader change is over: proposals may flow again (not for `cid`, whose value the SYNC fixed). */
  private finishSync(cid: number): void {
    const core = this.core;
    this.active = false;
    this.syncCid = cid;
    this.startedAt = core.tick;
    this.pendingSync = null;
    core.pool.restartTimers(core.tick);
  }

  /** Takes the SYNC's value as the proposal of this regency and WRITEs it. */
  private applySync(msg: SyncMsg): void {
    const consensus = this.core.consensus;
    assert(msg.cid === consensus.instance.cid, 'a SYNC is applied to the instance in progress', {
      sync: msg.cid,
      instance: consensus.instance.cid,
    });
    this.finishSync(msg.cid);
    const hash = this.core.env.digest(msg.value);
    consensus.instance.proposals.set(msg.reg, hash);
    consensus.instance.values.set(hash, msg.value);
    consensus.write(msg.reg, hash);
    // Votes of this regency may have arrived before the SYNC.
    consensus.checkAccept(msg.reg, hash);
    consensus.checkDecide(msg.reg, hash);
  }
}

/** Collect states for instance `cid` from stored collects (see collect.ts for why any subset is safe). */
function statesFor(cid: number, entries: { cid: number; state: CollectState }[]): CollectState[] {
  const out: CollectState[] = [];
  for (const e of entries) {
    if (e.cid === cid) out.push(e.state);
    else if (e.cid < cid) out.push(EMPTY_STATE);
  }
  return out;
}
