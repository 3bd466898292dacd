/**
 * Byzantine behaviour a correct replica can be switched into, for tests and fault injection: the protocol must
 * tolerate up to f replicas doing this (or anything else), and these modes let real processes prove it.
 *
 *   silent         sends nothing: no protocol message, no reply (a crashed replica that still holds its sockets)
 *   wrong-replies  answers every client with the same wrong result (and keeps ordering correctly)
 *   equivocate     as leader, sends every peer a different, individually valid batch for the same instance
 *   censor         drops client requests instead of ordering them: it never pools a request a client sends it or a
 *                  peer forwards (FWD) or hands over in a STOP, so as leader it never proposes them (the followers'
 *                  request timers then force a leader change) and as follower it never forwards them; everything
 *                  else (votes, replies to what others ordered) stays correct
 *
 * The mode applies to what a step of the replica sends (`apply`) and, for censor, to the requests it lets in
 * (`admitsRequests`, `filterIncoming`); the core itself stays correct, so switching back to `none` makes the replica
 * correct again. The node switches it through POST /admin/fault only when its spec config sets `faultInjection`:
 * the local realizer does for every kind with fault modes, cloud plans only when the topology asks
 * (`chaos: { byzantine: true }`); `tclouds chaos byzantine` drives it.
 */
import { decodeBatch, encodeBatch } from './protocol/codec.js';
import type { Msg } from './protocol/types.js';
import type { DriverOutput } from './replica-driver.js';

export const MISBEHAVIOURS = ['silent', 'wrong-replies', 'equivocate', 'censor'] as const;
export type MisbehaviourMode = 'none' | (typeof MISBEHAVIOURS)[number];
export const MISBEHAVIOUR_MODES: readonly MisbehaviourMode[] = ['none', ...MISBEHAVIOURS];

/** What a replica turned Byzantine with `wrong-replies` answers. */
export const BYZANTINE_RESULT = Buffer.from('{"ok":true,"value":"BYZANTINE"}');

/** What of one step's output leaves the replica. */
export type Outgoing = Pick<DriverOutput, 'sends' | 'replies'>;

export class Misbehaviour {
  mode: MisbehaviourMode = 'none';

  /** `me` is this replica's index in a group of `n`. */
  constructor(
    private readonly me: number,
    private readonly n: number,
  ) {}

  /** Switches to `mode`; anything but a known mode is refused (the mode stays as it was). */
  set(mode: unknown): MisbehaviourMode {
    if (!MISBEHAVIOUR_MODES.includes(mode as MisbehaviourMode)) {
      throw new Error(`mode must be one of ${MISBEHAVIOUR_MODES.join(', ')}`);
    }
    this.mode = mode as MisbehaviourMode;
    return this.mode;
  }

  /** Whether client requests reach the core (a censor drops them before they are pooled). */
  admitsRequests(): boolean {
    return this.mode !== 'censor';
  }

  /**
   * A peer message as this mode lets it into the core: a censor drops forwarded requests and empties the requests a
   * STOP carries (the leader change itself goes on), so no request reaches its pool by the peers either.
   */
  filterIncoming(msg: Msg): Msg | null {
    if (this.mode !== 'censor') return msg;
    if (msg.t === 'FWD') return null;
    if (msg.t === 'STOP') return { ...msg, reqs: [] };
    return msg;
  }

  /** The sends and replies of a step as this mode lets them out (the same objects when the replica is correct). */
  apply(out: DriverOutput): Outgoing {
    switch (this.mode) {
      case 'none':
      case 'censor':
        return out;
      case 'silent':
        return { sends: [], replies: [] };
      case 'wrong-replies':
        return { sends: out.sends, replies: out.replies.map((r) => ({ ...r, result: BYZANTINE_RESULT })) };
      case 'equivocate':
        return { sends: out.sends.flatMap((s) => this.equivocate(s)), replies: out.replies };
    }
  }

  /** A PROPOSE to all becomes one per peer, each with its own batch (timestamps differ); other sends pass. */
  private equivocate(s: DriverOutput['sends'][number]): DriverOutput['sends'] {
    if (s.msg.t !== 'PROPOSE' || s.to !== 'all') return [s];
    const b = decodeBatch(s.msg.value);
    if (!b) return [];
    const sends: DriverOutput['sends'] = [];
    for (let i = 0; i < this.n; i++) {
      if (i === this.me) continue;
      const value = encodeBatch(
        b.timestamp + i,
        b.seed,
        b.requests.map((r) => r.bytes),
      );
      sends.push({ to: i, msg: { ...s.msg, value } as Msg });
    }
    return sends;
  }
}
