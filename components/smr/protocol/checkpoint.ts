/**
 * The bytes of a checkpoint: what a replica must know besides the service state to go on from a decided instance
 * (the last executed sequence number of every client, and the agreed timestamp), then the snapshot the host took.
 * Every correct replica writes the same bytes at the same instance, so f+1 matching hashes let a lagging replica
 * trust the bytes one of them sends (state-transfer.ts).
 *
 * checkpoint = u32 metaLen | meta JSON {ts, clients: [[id, seq]...] sorted} | service snapshot
 */
import { utf8 } from './codec.js';

export interface CheckpointContent {
  /** Client -> last executed sequence number. */
  clients: Map<string, number>;
  /** Timestamp of the last executed batch. */
  ts: number;
  service: Uint8Array;
}

export function encodeCheckpoint(clients: Map<string, number>, ts: number, service: Uint8Array): Uint8Array {
  const meta = utf8.encode(JSON.stringify({ ts, clients: [...clients.entries()].sort() }));
  const out = new Uint8Array(4 + meta.length + service.length);
  new DataView(out.buffer).setUint32(0, meta.length);
  out.set(meta, 4);
  out.set(service, 4 + meta.length);
  return out;
}

/** The content of checkpoint bytes, or undefined when they do not decode (they may come from a Byzantine peer). */
export function decodeCheckpoint(b: Uint8Array): CheckpointContent | undefined {
  try {
    const len = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
    const meta = JSON.parse(utf8.decode(b.subarray(4, 4 + len))) as { ts: number; clients: [string, number][] };
    return { clients: new Map(meta.clients), ts: meta.ts, service: b.subarray(4 + len) };
  } catch {
    return undefined;
  }
}
