/**
 * Client-side reply collector (pure): BFT-SMaRt's ServiceProxy voting rules.
 * Ordered requests complete on f+1 identical replies (at least one from a correct replica, and all correct
 * replicas execute the same sequence). Read-only requests need ceil((n+f+1)/2) identical replies; when that
 * can no longer happen they must be reissued ordered. Unknown senders, wrong sequence numbers and repeat
 * senders are ignored.
 */
import { toHex } from './codec.js';
import { quorum } from './types.js';

export type CollectOutcome =
  | { kind: 'pending' }
  | { kind: 'done'; result: Uint8Array }
  /** Read-only: no quorum possible any more -> reissue ordered. Ordered: n-f+... replies without f+1 matching. */
  | { kind: 'conflict' };

export class ReplyCollector {
  private readonly replies = new Map<number, string>();
  private readonly values = new Map<string, { count: number; result: Uint8Array }>();
  readonly needed: number;

  constructor(
    readonly n: number,
    readonly f: number,
    readonly seq: number,
    readonly readOnly: boolean,
  ) {
    this.needed = readOnly ? quorum.readOnly(n, f) : f + 1;
  }

  add(replica: number, seq: number, result: Uint8Array): CollectOutcome {
    if (seq !== this.seq || replica < 0 || replica >= this.n || this.replies.has(replica)) return this.status();
    const key = toHex(result);
    this.replies.set(replica, key);
    const v = this.values.get(key) ?? { count: 0, result };
    v.count++;
    this.values.set(key, v);
    return this.status();
  }

  status(): CollectOutcome {
    let best = 0;
    for (const v of this.values.values()) {
      if (v.count >= this.needed) return { kind: 'done', result: v.result };
      best = Math.max(best, v.count);
    }
    const missing = this.n - this.replies.size;
    if (best + missing < this.needed) return { kind: 'conflict' };
    return { kind: 'pending' };
  }

  get received(): number {
    return this.replies.size;
  }
}
