/**
 * Client-side guess of the current leader (pure), from the regencies replicas report in their replies.
 *
 * The client sends ordered requests to the leader only (components/smr/client.ts), so a wrong guess costs a
 * retransmission delay, never safety. The guess follows the (f+1)-th highest regency reported: at least one
 * correct replica has installed that regency (or a later one), so f Byzantine replicas reporting inflated
 * regencies cannot steer requests to a replica of their choosing, and regencies only grow at correct replicas.
 */
export class LeaderHint {
  private readonly reported: number[];

  constructor(
    readonly n: number,
    readonly f: number,
  ) {
    this.reported = Array.from({ length: n }, () => 0);
  }

  /** The replica index the client should send ordered requests to. */
  leader = 0;

  /** Regency `regency` reported by replica `replica`; returns true when the guess changed. */
  observe(replica: number, regency: number): boolean {
    if (!(replica >= 0 && replica < this.n) || !Number.isInteger(regency) || regency <= this.reported[replica]!) {
      return false;
    }
    this.reported[replica] = regency;
    const agreed = [...this.reported].sort((a, b) => b - a)[Math.min(this.f, this.n - 1)]!;
    const leader = agreed % this.n;
    const changed = leader !== this.leader;
    this.leader = leader;
    return changed;
  }
}
