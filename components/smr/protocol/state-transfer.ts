/**
 * State transfer (TClouds D2.2.1, ch. 8; BFT-SMaRt): how a replica that lags (it restarted, was partitioned, or
 * missed messages) catches up. It notices when more than f replicas work on later instances, asks every replica
 * for the decisions it lacks (STREQ), and installs what f+1 of them report identically: decisions one by one, or a
 * checkpoint when their logs no longer reach back that far. One replica, chosen by the requester and its attempt,
 * sends the checkpoint's bytes; the others send its hash, so a large checkpoint crosses the network once.
 */
import { decodeCheckpoint } from './checkpoint.js';
import type { ReplicaCore } from './core.js';
import { LAG_TICKS, STATE_LOG_BYTES } from './limits.js';
import type { Msg } from './types.js';

type StateMsg = Extract<Msg, { t: 'STATE' }>;

export class StateTransfer {
  /** The transfer in progress: the replies to our last STREQ, by sender. */
  private session: { replies: Map<number, StateMsg>; since: number; attempt: number } | null = null;
  /** STREQs sent so far: each one asks another replica for the checkpoint's bytes. */
  private attempts = 0;
  /** Per replica, the highest instance its messages showed it working on. */
  private readonly ahead = new Map<number, number>();
  /** Tick since which more than f replicas have been ahead of us (-1: they are not). */
  private aheadSince = -1;

  constructor(private readonly core: ReplicaCore) {}

  get active(): boolean {
    return this.session !== null;
  }

  /** Replica `from` is working on instance `cid`. */
  noteAhead(from: number, cid: number): void {
    if ((this.ahead.get(from) ?? -1) < cid) this.ahead.set(from, cid);
  }

  /** Lagging: more than f replicas are working on later instances for LAG_TICKS ticks -> state transfer. */
  checkLag(): void {
    const core = this.core;
    let aheadCount = 0;
    for (const c of this.ahead.values()) if (c > core.consensus.instance.cid) aheadCount++;
    if (aheadCount > core.f) {
      if (this.aheadSince < 0) this.aheadSince = core.tick;
      else if (core.tick - this.aheadSince >= LAG_TICKS) this.request();
    } else this.aheadSince = -1;
  }

  /** A transfer with no answer for a request timeout starts over (the next attempt asks another replica). */
  retryIfStalled(): void {
    if (this.session && this.core.tick - this.session.since > this.core.config.requestTimeout) {
      this.session = null;
      this.request();
    }
  }

  /** Asks every replica for the decisions after our last one (unless a transfer is in progress). */
  request(): void {
    const core = this.core;
    if (this.session) return;
    this.attempts++;
    this.session = { replies: new Map(), since: core.tick, attempt: this.attempts };
    core.logEvent('info', 'state transfer requested', { from: core.decisions.lastDecided + 1 });
    core.send('all', { t: 'STREQ', from: core.decisions.lastDecided + 1, attempt: this.attempts });
  }

  /** Answers a STREQ from a replica behind us: our decisions from where it is, or our checkpoint and the rest. */
  onRequest(from: number, msg: Extract<Msg, { t: 'STREQ' }>): void {
    const core = this.core;
    const decisions = core.decisions;
    if (!Number.isInteger(msg.from) || !Number.isInteger(msg.attempt) || msg.from > decisions.lastDecided) return;
    const logStart = decisions.sinceCheckpoint[0]?.cid ?? decisions.lastDecided + 1;
    let ckpt: StateMsg['ckpt'] = null;
    let log = decisions.sinceCheckpoint.filter((e) => e.cid >= msg.from);
    if (msg.from < logStart) {
      const checkpoint = decisions.checkpoint;
      if (!checkpoint) return;
      let designated = (from + 1 + msg.attempt) % core.n;
      if (designated === from) designated = (designated + 1) % core.n;
      ckpt = { cid: checkpoint.cid, hash: checkpoint.hash, bytes: designated === core.me ? checkpoint.bytes : null };
      log = decisions.sinceCheckpoint.filter((e) => e.cid > checkpoint.cid);
    }
    // Bounded reply (frames have a size limit): the requester installs what f+1 agree on and asks again.
    const capped: typeof log = [];
    let bytes = ckpt?.bytes?.length ?? 0;
    for (const e of log) {
      if (capped.length > 0 && bytes + e.value.length > STATE_LOG_BYTES) break;
      capped.push(e);
      bytes += e.value.length;
    }
    core.send(from, { t: 'STATE', upTo: decisions.lastDecided, reg: core.leaderChange.regency, ckpt, log: capped });
  }

  /** A reply to our STREQ: installs whatever f+1 replies now agree on, then asks again or finishes. */
  onState(from: number, msg: StateMsg): void {
    const core = this.core;
    if (!this.session || !Number.isInteger(msg.upTo) || !Array.isArray(msg.log)) return;
    if (Number.isInteger(msg.reg)) core.leaderChange.hint(from, msg.reg);
    if (!this.session) return;
    this.session.replies.set(from, msg);
    const progressed = this.installAgreed();
    if (!this.session) return;
    const ups = [...this.session.replies.values()].map((r) => r.upTo).sort((a, b) => b - a);
    const target = ups[core.f];
    if (progressed && (target === undefined || core.decisions.lastDecided < target)) {
      // Partial (size-capped) replies: continue from where we are now.
      this.session = { replies: new Map(), since: core.tick, attempt: this.session.attempt };
      core.send('all', { t: 'STREQ', from: core.decisions.lastDecided + 1, attempt: this.session.attempt });
      return;
    }
    if (target !== undefined && core.decisions.lastDecided >= target) this.finish(progressed);
  }

  /** Decides, in order, every next instance whose value f+1 replies agree on, and installs agreed checkpoints. */
  private installAgreed(): boolean {
    const core = this.core;
    let progressed = false;
    for (;;) {
      const next = core.decisions.lastDecided + 1;
      const byHash = new Map<string, { count: number; value: Uint8Array }>();
      for (const r of this.session!.replies.values()) {
        const e = r.log.find((x) => x && x.cid === next);
        if (!e || !(e.value instanceof Uint8Array)) continue;
        const h = core.env.digest(e.value);
        const g = byHash.get(h) ?? { count: 0, value: e.value };
        g.count++;
        byHash.set(h, g);
      }
      const agreed = [...byHash.values()].find((g) => g.count > core.f);
      if (agreed) {
        core.consensus.instance.values.set(core.env.digest(agreed.value), agreed.value);
        core.consensus.decide(agreed.value, null);
        progressed = true;
        continue;
      }
      if (this.installCheckpoint()) {
        progressed = true;
        continue;
      }
      return progressed;
    }
  }

  private finish(progressed: boolean): void {
    const core = this.core;
    this.session = null;
    this.ahead.clear();
    this.aheadSince = -1;
    core.logEvent('info', 'state transfer complete', { lastDecided: core.decisions.lastDecided, progressed });
    const leaderChange = core.leaderChange;
    if (leaderChange.pendingSync) {
      const s = leaderChange.pendingSync;
      leaderChange.pendingSync = null;
      leaderChange.onSync(core.leader(s.reg), s);
    }
    if (leaderChange.active && core.leader() === core.me) leaderChange.tryLead();
    core.consensus.maybePropose();
  }

  /** Installs the latest checkpoint past our last decision that f+1 replies name and one has sent the bytes of. */
  private installCheckpoint(): boolean {
    const core = this.core;
    if (!this.session) return false;
    const groups = new Map<string, { cid: number; hash: string; count: number; bytes: Uint8Array | null }>();
    for (const r of this.session.replies.values()) {
      const c = r.ckpt;
      if (!c || !Number.isInteger(c.cid) || c.cid <= core.decisions.lastDecided || typeof c.hash !== 'string') continue;
      const key = `${c.cid}:${c.hash}`;
      const g = groups.get(key) ?? { cid: c.cid, hash: c.hash, count: 0, bytes: null };
      g.count++;
      if (c.bytes instanceof Uint8Array && !g.bytes && core.env.digest(c.bytes) === c.hash) g.bytes = c.bytes;
      groups.set(key, g);
    }
    const best = [...groups.values()].filter((g) => g.count > core.f && g.bytes).sort((a, b) => b.cid - a.cid)[0];
    if (!best?.bytes) return false;
    const content = decodeCheckpoint(best.bytes);
    if (!content) return false;
    core.decisions.install({ cid: best.cid, hash: best.hash, bytes: best.bytes }, content.clients, content.ts);
    core.pool.pruneAll();
    core.consensus.startInstance(best.cid + 1);
    core.consensus.dropOutOfContext(best.cid);
    core.emit({ type: 'restore', cid: best.cid, bytes: content.service });
    core.logEvent('info', 'installed checkpoint from state transfer', { cid: best.cid });
    return true;
  }
}
