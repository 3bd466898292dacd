/**
 * What a replica saves when it stops cleanly (<dataDir>/stopped.bin), besides its checkpoint: the decisions made
 * since the checkpoint (with the proof of the last one), its installed regency and its votes on the instance in
 * progress (protocol/core.ts DurableState). The next start reloads the checkpoint and then this, so a replica that
 * was stopped and started again is the same replica, not an amnesiac one.
 *
 * Why the votes and not only the decisions: when a whole group stops (a redeploy, `destroy --keep-data`, a host
 * reboot under systemd), the replicas stop wherever they are, so one may have decided an instance that the others
 * had only accepted. Decisions alone came back without the others' votes, and the simulator found leader changes
 * after such restarts deciding another value for that instance (agreement broken). With the votes restored, the
 * leader change sees what it would have seen had the group only paused: messages in flight are lost, nothing else.
 * A crash (no clean stop) still loses all of it: see replica-store.ts.
 *
 * file = "TCSS" | u8 version(1) | v8-serialised DurableState | SHA-256 of all before. Written atomically (temp
 * file, fsync, rename); anything that does not check out reads as nothing, and the replica starts as after a crash.
 */
import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import type { DurableState } from './protocol/core.js';

const MAGIC = Buffer.from('TCSS');
const VERSION = 1;

export function encodeStopState(state: DurableState): Buffer {
  const body = Buffer.concat([MAGIC, Buffer.from([VERSION]), v8.serialize(state)]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** The saved state, or undefined when the file is not one (wrong magic or version, truncated, bad digest). */
export function decodeStopState(file: Uint8Array): DurableState | undefined {
  const b = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (b.length < MAGIC.length + 1 + 32) return undefined;
  const body = b.subarray(0, b.length - 32);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(b.subarray(b.length - 32))
  )
    return undefined;
  if (!body.subarray(0, 4).equals(MAGIC) || body[4] !== VERSION) return undefined;
  try {
    const s = v8.deserialize(body.subarray(5)) as DurableState;
    const ok =
      s &&
      Number.isInteger(s.regency) &&
      Number.isInteger(s.lastDecided) &&
      Array.isArray(s.decisions) &&
      s.inst &&
      Number.isInteger(s.inst.cid);
    return ok ? s : undefined;
  } catch {
    return undefined;
  }
}
