/**
 * The decisions a replica saves when it stops cleanly (<dataDir>/decisions.bin): every decision after its last
 * checkpoint, so a restart rebuilds the state it had instead of the state of that checkpoint. Without it, a whole
 * group stopped at once (a redeploy, a host reboot under systemd) came back at the last checkpoint and forgot up to
 * checkpointPeriod - 1 acknowledged decisions. A crash (no clean stop) still loses them: see node.ts.
 *
 * file = "TCDL" | u8 version(1) | u32 count | count x (u32 cid | u32 len | value) | SHA-256 of all before.
 * Written atomically (temp file, fsync, rename); anything that does not check out reads as no decisions.
 */
import { createHash } from 'node:crypto';

const MAGIC = Buffer.from('TCDL');
const VERSION = 1;

export interface SavedDecision {
  cid: number;
  value: Uint8Array;
}

export function encodeDecisionFile(decisions: readonly SavedDecision[]): Buffer {
  const parts: Buffer[] = [MAGIC, Buffer.from([VERSION])];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(decisions.length, 0);
  parts.push(count);
  for (const d of decisions) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(d.cid, 0);
    head.writeUInt32BE(d.value.length, 4);
    parts.push(head, Buffer.from(d.value.buffer, d.value.byteOffset, d.value.byteLength));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** The saved decisions, or undefined when the file is not one (wrong magic or version, truncated, bad digest). */
export function decodeDecisionFile(file: Uint8Array): SavedDecision[] | undefined {
  const b = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (b.length < MAGIC.length + 1 + 4 + 32) return undefined;
  const body = b.subarray(0, b.length - 32);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(b.subarray(b.length - 32))
  )
    return undefined;
  if (!body.subarray(0, 4).equals(MAGIC) || body[4] !== VERSION) return undefined;
  const count = body.readUInt32BE(5);
  const out: SavedDecision[] = [];
  let o = 9;
  for (let i = 0; i < count; i++) {
    if (o + 8 > body.length) return undefined;
    const cid = body.readUInt32BE(o);
    const len = body.readUInt32BE(o + 4);
    if (o + 8 + len > body.length) return undefined;
    out.push({ cid, value: new Uint8Array(body.subarray(o + 8, o + 8 + len)) });
    o += 8 + len;
  }
  return o === body.length ? out : undefined;
}
