/**
 * Byzantine behaviour a correct replica can be switched into, for tests and fault injection: the protocol must
 * tolerate up to f replicas doing this (or anything else), and these modes let real processes prove it.
 *
 *   silent         sends nothing: no protocol message, no reply (a crashed replica that still holds its sockets)
 *   wrong-replies  answers every client with the same wrong result (and keeps ordering correctly)
 *   equivocate     as leader, sends every peer a different, individually valid batch for the same instance
 *
 * The mode applies to what a step of the replica sends (`apply`); the core itself stays correct, so switching back
 * to `none` makes the replica correct again. The node switches it through POST /admin/fault only when its spec sets
 * `testFaults` (deployments never do); a chaos command can drive the same API.
 */
import { decodeBatch, encodeBatch } from './protocol/codec.js';
import type { Msg } from './protocol/types.js';
import type { DriverOutput } from './replica-driver.js';

export const MISBEHAVIOURS = ['silent', 'wrong-replies', 'equivocate'] as const;
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

  /** The sends and replies of a step as this mode lets them out (the same objects when the replica is correct). */
  apply(out: DriverOutput): Outgoing {
    switch (this.mode) {
      case 'none':
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
