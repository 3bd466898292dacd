/**
 * What a replica step promised, as write-ahead log records (wal-codec.ts): read from the core's state after each
 * step, not emitted by the core. Why after the step and not as actions from inside the protocol: every output of
 * the step is held until these records are durable (wal.ts, replica-wiring.ts), so recording at the end of the
 * step covers every promise the step's messages make, and the pure core and its simulator stay as they are (the
 * simulator runs this same recorder on its crash-restarts). The cost is a coarser record: VOTES carries the whole
 * instance in progress (with its proposal value), not the one vote that changed.
 *
 * A promise changes one of: the votes this replica sent in the instance in progress (`wrote`, `accepted`), the
 * installed regency (sent with STOPDATA) or the regency it asked for (STOP). Decisions are appended as they come;
 * a checkpoint the core took or installed starts a new BASE (the caller starts a new segment with it).
 */
import type { DurableState, ReplicaCore } from './protocol/core.js';
import type { Instance } from './protocol/instance.js';
import type { DecisionProof } from './protocol/types.js';
import type { WalRecord } from './wal-codec.js';

const EMPTY = new Uint8Array(0);

export class WalRecorder {
  private inst: Instance;
  private wrote: number;
  private accepted: number;
  private regency: number;
  private stopLevel: number;
  private lastDecided: number;
  private checkpointCid: number;
  /** Regencies in which this replica's ACCEPT for `inst` was already logged (at the last mark). */
  private acceptedRegs: number[];
  /**
   * Whether the client replies of the step just recorded need this step's records durable, or only what earlier
   * steps logged (see records()).
   */
  repliesNeedStep = false;
  /** Values of the instance `inst` the log already holds (hash -> the value object), so they are written once. */
  private readonly logged = new Map<string, Uint8Array>();

  constructor(private readonly core: ReplicaCore) {
    this.inst = core.consensus.instance;
    this.wrote = this.inst.wrote.size;
    this.accepted = this.inst.accepted.size;
    this.acceptedRegs = [...this.inst.accepted];
    this.regency = core.regency;
    this.stopLevel = core.leaderChange.stopSentFor;
    this.lastDecided = core.lastDecided;
    this.checkpointCid = core.checkpoint?.cid ?? -1;
    for (const [h, v] of this.inst.values) this.logged.set(h, v);
  }

  /** A BASE of the replica as it is now: its checkpoint and everything after it. */
  base(): WalRecord {
    const c = this.core.checkpoint;
    this.mark();
    return { type: 'base', checkpoint: c ? { cid: c.cid, bytes: c.bytes } : null, state: this.core.exportDurable() };
  }

  /**
   * A BASE at a checkpoint the host took itself (cid <= lastDecided, see wal.ts for the size limit): the same
   * durable state, with the decisions up to `cid` left out because the checkpoint holds them.
   */
  baseAt(cid: number, bytes: Uint8Array): WalRecord {
    this.mark();
    const state: DurableState = this.core.exportDurable();
    state.decisions = state.decisions.filter((d) => d.cid > cid);
    return { type: 'base', checkpoint: { cid, bytes }, state };
  }

  /** Whether the core has a checkpoint the log has no BASE for yet: the caller starts a new segment with base(). */
  get checkpointMoved(): boolean {
    return (this.core.checkpoint?.cid ?? -1) !== this.checkpointCid;
  }

  /**
   * The records of what changed since the last call (or base()), and whether this step's client replies wait for
   * them (`repliesNeedStep`). A DECISION record is no promise to anyone: a decision stands on a quorum of ACCEPTs,
   * and every ACCEPT leaves its replica only once the record holding it is durable, so after a crash of every
   * replica the quorum's logs still hold the value and the next leader change (collect.ts) decides it again at
   * the same instance. What a reply does need is this replica's own ACCEPT, when it counted in the quorum: it
   * is sent only after its fsync, but counted at once. So the replies of a step that decided wait only for earlier
   * steps' records when each decision counted an ACCEPT of this replica that an earlier step logged
   * (ownAcceptLogged), and for this step's records otherwise.
   */
  records(): WalRecord[] {
    const core = this.core;
    const out: WalRecord[] = [];
    this.repliesNeedStep = false;
    if (core.lastDecided !== this.lastDecided) {
      const log = core.decisions.sinceCheckpoint;
      const proof = core.decisions.last?.proof ?? null;
      for (const d of log) {
        if (d.cid <= this.lastDecided) continue;
        const p = d.cid === core.lastDecided ? proof : undefined;
        if (!this.ownAcceptLogged(d.cid, p)) this.repliesNeedStep = true;
        out.push(this.decision(d.cid, d.value, p ?? null));
      }
      this.lastDecided = core.lastDecided;
    }
    const inst = core.consensus.instance;
    const votesMoved =
      (inst !== this.inst && (inst.wrote.size > 0 || inst.accepted.size > 0)) ||
      (inst === this.inst && (inst.wrote.size !== this.wrote || inst.accepted.size !== this.accepted)) ||
      core.regency !== this.regency ||
      core.leaderChange.stopSentFor !== this.stopLevel;
    if (inst !== this.inst) this.logged.clear();
    if (votesMoved) {
      const fresh = new Map<string, Uint8Array>();
      for (const [h, v] of inst.values) {
        if (this.logged.get(h) === v) continue;
        fresh.set(h, v);
        this.logged.set(h, v);
      }
      const logged = { ...inst, values: fresh };
      out.push({ type: 'votes', regency: core.regency, stopLevel: core.leaderChange.stopSentFor, inst: logged });
    }
    this.markVotes();
    return out;
  }

  /**
   * Whether the decision of `cid` (its proof; undefined: not known here) stands without this step's records: it
   * counted an ACCEPT of this replica logged before this step. Any other decision (adopted from a peer's proof or a
   * SYNC, installed by state transfer, or counted with an ACCEPT of this very step) makes the step's replies wait
   * for its records: so a replica forgets, in a crash, at most the decision of the instance its log shows it
   * accepted (ReplicaDriver's read barrier relies on this).
   */
  private ownAcceptLogged(cid: number, proof: DecisionProof | null | undefined): boolean {
    if (!proof) return false;
    const me = this.core.me;
    return proof.accepts.some((a) => a.from === me) && cid === this.inst.cid && this.acceptedRegs.includes(proof.reg);
  }

  /** A decision record; its value named by hash when it is one the log holds for this instance already. */
  private decision(cid: number, value: Uint8Array, proof: DecisionProof | null): WalRecord {
    if (cid === this.inst.cid) {
      for (const [h, v] of this.logged) {
        if (v !== value) continue;
        return { type: 'decision', cid, value: null, valueHash: h, proof: proof && { ...proof, value: EMPTY } };
      }
    }
    return { type: 'decision', cid, value, proof };
  }

  private markVotes(): void {
    const core = this.core;
    this.inst = core.consensus.instance;
    this.wrote = this.inst.wrote.size;
    this.acceptedRegs = [...this.inst.accepted];
    this.accepted = this.inst.accepted.size;
    this.regency = core.regency;
    this.stopLevel = core.leaderChange.stopSentFor;
  }

  private mark(): void {
    this.logged.clear();
    for (const [h, v] of this.core.consensus.instance.values) this.logged.set(h, v);
    this.markVotes();
    this.lastDecided = this.core.lastDecided;
    this.checkpointCid = this.core.checkpoint?.cid ?? -1;
  }
}
