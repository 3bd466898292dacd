/**
 * Client-side reply collector (pure): BFT-SMaRt's ServiceProxy voting rules.
 * Ordered requests complete on f+1 identical replies (at least one from a correct replica, and all correct
 * replicas execute the same sequence). Read-only requests need n identical replies (protocol/types.ts says why); when that
 * can no longer happen they must be reissued ordered. Unknown senders, wrong sequence numbers and repeat
 * senders are ignored.
 */
import { quorum } from './types.js';

export type CollectOutcome =
  | { kind: 'pending' }
  | { kind: 'done'; result: Uint8Array }
  /** Read-only: no quorum possible any more -> reissue ordered. Ordered: n-f+... replies without f+1 matching. */
  | { kind: 'conflict' };

const PENDING: CollectOutcome = { kind: 'pending' };
const CONFLICT: CollectOutcome = { kind: 'conflict' };

/**
 * One per request in flight, so it is built for speed: with n replies to compare, a few small arrays and byte
 * comparisons cost less than maps keyed by the hex of each result (which this replaced: two maps and a hex string
 * per reply were a visible share of the client's CPU at 20 K requests/s).
 */
export class ReplyCollector {
  /** Replicas that have replied, in order. */
  private readonly from: number[] = [];
  /** Distinct results (copies, so they do not keep the received frame alive) and how many replicas sent each. */
  private readonly results: Uint8Array[] = [];
  private readonly counts: number[] = [];
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
    return this.addRange(replica, seq, result, 0, result.length);
  }

  /** `add` for the result `src[start, end)` (a client passes the bytes of the received message: no view per reply). */
  addRange(replica: number, seq: number, src: Uint8Array, start: number, end: number): CollectOutcome {
    if (seq !== this.seq || replica < 0 || replica >= this.n || this.from.includes(replica)) return this.status();
    this.from.push(replica);
    let i = 0;
    while (i < this.results.length && !sameBytes(this.results[i]!, src, start, end)) i++;
    if (i === this.results.length) {
      this.results.push(copyOf(src, start, end)); // a copy: the message is not kept
      this.counts.push(0);
    }
    this.counts[i]!++;
    return this.status();
  }

  status(): CollectOutcome {
    let best = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c >= this.needed) return { kind: 'done', result: this.results[i]! };
      if (c > best) best = c;
    }
    const missing = this.n - this.from.length;
    return best + missing < this.needed ? CONFLICT : PENDING;
  }

  get received(): number {
    return this.from.length;
  }
}

function sameBytes(a: Uint8Array, src: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== src[start + i]) return false;
  return true;
}

/** A plain Uint8Array copy of `src[start, end)` (small results byte by byte: no view made). */
function copyOf(src: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  if (out.length <= 64) for (let i = 0; i < out.length; i++) out[i] = src[start + i]!;
  else out.set(src.subarray(start, end));
  return out;
}
