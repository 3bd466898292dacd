/**
 * Who makes a call, and when another replica takes it over (TClouds D2.2.1, §9.3.2). Pure: every replica computes the same
 * caller from the call's id and the number of ordered takeovers, so no election is needed; a takeover is itself
 * an ordered operation, so every replica agrees on who calls after it.
 */
import { createHash } from 'node:crypto';

/** The replica that makes the call in takeover round `takeovers`: a hash of the id spreads calls over replicas. */
export function callerOf(callId: string, takeovers: number, n: number): number {
  const h = createHash('sha256').update(callId).digest().readUInt32BE(0);
  return (h + takeovers) % n;
}

/**
 * Whether replica `me` is one of the `count` replicas that make the call in round `takeovers`: the caller and the
 * count-1 after it in rotation. One with crash faults; f+1 with Byzantine engines, whose outcomes must match
 * (engine/machine.ts), all sending the same Idempotency-Key so the service performs the call once.
 */
export function isCaller(callId: string, takeovers: number, n: number, me: number, count = 1): boolean {
  return (me - callerOf(callId, takeovers, n) + n) % n < count;
}

/**
 * Whether replica `me` should ask to take the call over, having seen round `takeovers` pending for `waitedMs`:
 * the next replica in the rotation asks after `takeoverMs`, the one after it after twice that, and so on, so
 * normally one replica asks, and a crashed next one is skipped a little later.
 */
export function shouldTakeOver(
  callId: string,
  takeovers: number,
  n: number,
  me: number,
  waitedMs: number,
  takeoverMs: number,
  count = 1,
): boolean {
  // Measured from the last of the round's callers: the replicas after it in rotation are the next ones in.
  const last = (callerOf(callId, takeovers, n) + count - 1) % n;
  const distance = (me - last + n) % n;
  return distance > 0 && waitedMs >= takeoverMs * distance;
}
