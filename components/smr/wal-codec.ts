/**
 * The write-ahead log's bytes (wal.ts writes them, node.ts replays them at start): records framed as
 *
 *   u32 length (of the payload) | u32 crc32 (of type and payload) | u8 type | payload
 *
 * in segment files `<dataDir>/wal/NNNNNNNN.log`. Every segment starts with a BASE record, so a segment never needs
 * the ones before it. Records:
 *
 *   BASE      the replica's checkpoint (cid and bytes, or none) and its whole DurableState (stop-state.ts encoding)
 *   DECISION  one decided instance: cid, value and proof (null when adopted without one: state transfer, replay);
 *             the value (in the record and in its proof) is left out, named by its hash, when a VOTES record of
 *             the same instance already holds it, so a batch is written once in the normal case
 *   VOTES     regency, STOP level and the instance in progress, after this replica promised something in it
 *             (a WRITE or an ACCEPT), installed a regency (before its STOPDATA) or asked for one (STOP); its
 *             `values` hold only the values no earlier VOTES record of that instance held
 *
 * Reading never trusts a length: a record is taken only when its frame fits in the bytes that are there and its
 * CRC matches; the first one that does not ends the segment (a torn write at a crash, or damage) and the reader
 * reports where, so the caller can truncate and log what it dropped.
 */

import v8 from 'node:v8';
import { crc32 } from 'node:zlib';
import type { DurableState } from './protocol/core.js';
import type { Instance } from './protocol/instance.js';
import type { DecisionProof } from './protocol/types.js';
import { decodeStopState, encodeStopState } from './stop-state.js';

export const RecordType = { base: 1, decision: 2, votes: 3 } as const;
type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

/** Frame header: u32 length, u32 crc32, u8 type. */
export const RECORD_HEADER_BYTES = 9;
/**
 * The largest payload a record may announce: a BASE holds a checkpoint, so this bounds the service state a replica
 * can log; anything larger is damage (a length field cannot make the reader allocate or skip past it).
 */
export const MAX_RECORD_BYTES = 512 * 1024 * 1024;

export type WalRecord =
  | { type: 'base'; checkpoint: { cid: number; bytes: Uint8Array } | null; state: DurableState }
  | { type: 'decision'; cid: number; value: Uint8Array | null; valueHash?: string; proof: DecisionProof | null }
  | { type: 'votes'; regency: number; stopLevel: number; inst: Instance };

function payloadOf(r: WalRecord): { code: RecordTypeCode; payload: Buffer } {
  switch (r.type) {
    case 'base': {
      const stop = encodeStopState(r.state);
      const ckpt = r.checkpoint ? { cid: r.checkpoint.cid, bytes: r.checkpoint.bytes } : null;
      return { code: RecordType.base, payload: v8.serialize({ checkpoint: ckpt, stop }) };
    }
    case 'decision':
      return {
        code: RecordType.decision,
        payload: v8.serialize({ cid: r.cid, value: r.value, valueHash: r.valueHash, proof: r.proof }),
      };
    case 'votes':
      return {
        code: RecordType.votes,
        payload: v8.serialize({ regency: r.regency, stopLevel: r.stopLevel, inst: r.inst }),
      };
  }
}

/** One framed record. */
export function encodeRecord(r: WalRecord): Buffer {
  const { code, payload } = payloadOf(r);
  const frame = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame[8] = code;
  payload.copy(frame, RECORD_HEADER_BYTES);
  frame.writeUInt32BE(crc32(frame.subarray(8)), 4);
  return frame;
}

function decodePayload(code: number, payload: Buffer): WalRecord | undefined {
  try {
    const v = v8.deserialize(payload) as Record<string, unknown>;
    if (code === RecordType.base) {
      const state = v.stop instanceof Uint8Array ? decodeStopState(v.stop) : undefined;
      if (!state) return undefined;
      const c = v.checkpoint as { cid: number; bytes: Uint8Array } | null;
      const checkpoint = c && Number.isInteger(c.cid) && c.bytes instanceof Uint8Array ? c : null;
      return { type: 'base', checkpoint, state };
    }
    if (code === RecordType.decision) {
      const named = v.value === null && typeof v.valueHash === 'string';
      if (!Number.isInteger(v.cid) || !(v.value instanceof Uint8Array || named)) return undefined;
      return {
        type: 'decision',
        cid: v.cid as number,
        value: named ? null : (v.value as Uint8Array),
        ...(named ? { valueHash: v.valueHash as string } : {}),
        proof: (v.proof as DecisionProof | null) ?? null,
      };
    }
    if (code === RecordType.votes) {
      const inst = v.inst as Instance | undefined;
      if (!Number.isInteger(v.regency) || !Number.isInteger(v.stopLevel) || !inst || !Number.isInteger(inst.cid)) {
        return undefined;
      }
      return { type: 'votes', regency: v.regency as number, stopLevel: v.stopLevel as number, inst };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export interface SegmentRead {
  records: WalRecord[];
  /** Bytes of whole, good records from the start: where the segment must be cut. */
  goodBytes: number;
  /** Why reading stopped before the end, when it did (torn or damaged record). */
  damage?: string;
}

/** The good records of one segment's bytes, up to the first frame that is torn or damaged. */
export function readSegment(bytes: Buffer): SegmentRead {
  const records: WalRecord[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (bytes.length - o < RECORD_HEADER_BYTES) return { records, goodBytes: o, damage: 'truncated record header' };
    const len = bytes.readUInt32BE(o);
    if (len > MAX_RECORD_BYTES) return { records, goodBytes: o, damage: `record length ${len} over the limit` };
    const end = o + RECORD_HEADER_BYTES + len;
    if (end > bytes.length) return { records, goodBytes: o, damage: `truncated record (${len} bytes announced)` };
    if (crc32(bytes.subarray(o + 8, end)) !== bytes.readUInt32BE(o + 4)) {
      return { records, goodBytes: o, damage: 'bad record checksum' };
    }
    const r = decodePayload(bytes[o + 8]!, bytes.subarray(o + RECORD_HEADER_BYTES, end));
    if (!r) return { records, goodBytes: o, damage: `undecodable record of type ${bytes[o + 8]}` };
    records.push(r);
    o = end;
  }
  return { records, goodBytes: o };
}

export interface Replayed {
  /** The checkpoint of the last BASE that had one. */
  checkpoint: { cid: number; bytes: Uint8Array } | null;
  state: DurableState;
}

/**
 * Folds records (of the segments in order) into the state importDurable takes: a BASE starts over from its state,
 * a DECISION extends the decisions when it is the next one, VOTES replace the votes in progress. Undefined when no
 * BASE came first.
 */
export function replayRecords(records: readonly WalRecord[]): Replayed | undefined {
  let out: Replayed | undefined;
  for (const r of records) {
    if (r.type === 'base') {
      out = {
        checkpoint: r.checkpoint ?? out?.checkpoint ?? null,
        state: { ...r.state, decisions: [...r.state.decisions] },
      };
      continue;
    }
    if (!out) continue;
    const s = out.state;
    if (r.type === 'decision') {
      if (r.cid !== s.lastDecided + 1) continue;
      // A value named by hash is in the VOTES of the same instance (the instance in progress until now).
      const value = r.value ?? (s.inst.cid === r.cid ? s.inst.values.get(r.valueHash ?? '') : undefined);
      if (!value) continue;
      s.decisions.push({ cid: r.cid, value });
      s.lastDecided = r.cid;
      s.lastProof = r.proof ? { ...r.proof, value } : null;
    } else {
      s.regency = Math.max(s.regency, r.regency);
      s.stopLevel = Math.max(s.stopLevel ?? 0, r.stopLevel);
      // Values logged by earlier VOTES of this instance are not repeated: carry them over.
      if (s.inst.cid === r.inst.cid)
        for (const [h, v] of s.inst.values) if (!r.inst.values.has(h)) r.inst.values.set(h, v);
      s.inst = r.inst;
    }
  }
  return out;
}
