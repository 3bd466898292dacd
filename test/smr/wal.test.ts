/**
 * The write-ahead log's codec and segment reader (components/smr/wal-codec.ts) and its files (wal.ts): round trip,
 * a torn tail cut at every byte of the last record, a flipped byte in a middle record, empty files, a length field
 * announcing gigabytes, and the reopen that cuts a damaged tail and drops what follows.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DurableState } from '../../components/smr/protocol/core.js';
import { newInstance } from '../../components/smr/protocol/instance.js';
import { Wal } from '../../components/smr/wal.js';
import {
  encodeRecord,
  MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  readSegment,
  replayRecords,
  type WalRecord,
} from '../../components/smr/wal-codec.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} };

function state(lastDecided: number): DurableState {
  return { lastDecided, decisions: [], lastProof: null, regency: 0, inst: newInstance(lastDecided + 1), stopLevel: 0 };
}

function records(): WalRecord[] {
  const inst = newInstance(3);
  inst.wrote.add(1);
  inst.values.set('h', Uint8Array.of(9, 9));
  inst.proposals.set(1, 'h');
  return [
    { type: 'base', checkpoint: { cid: 1, bytes: Uint8Array.of(1, 2, 3) }, state: state(1) },
    { type: 'decision', cid: 2, value: Uint8Array.of(5, 6), proof: null },
    { type: 'votes', regency: 1, stopLevel: 2, inst },
    { type: 'decision', cid: 3, value: Uint8Array.of(7), proof: null },
  ];
}

const framed = () => records().map(encodeRecord);

describe('write-ahead log codec', () => {
  it('round-trips records and replays them into a durable state', () => {
    const bytes = Buffer.concat(framed());
    const read = readSegment(bytes);
    expect(read.damage).toBeUndefined();
    expect(read.goodBytes).toBe(bytes.length);
    expect(read.records.map((r) => r.type)).toEqual(['base', 'decision', 'votes', 'decision']);
    const replayed = replayRecords(read.records)!;
    expect(replayed.checkpoint?.cid).toBe(1);
    expect(replayed.state.lastDecided).toBe(3);
    expect(replayed.state.decisions.map((d) => d.cid)).toEqual([2, 3]);
    expect(replayed.state.regency).toBe(1);
    expect(replayed.state.stopLevel).toBe(2);
    expect(replayed.state.inst.wrote.has(1)).toBe(true);
    expect([...replayed.state.inst.values.get('h')!]).toEqual([9, 9]);
  });

  it('takes a decision whose value is named by hash from the VOTES of its instance', () => {
    const inst = newInstance(2);
    inst.values.set('h2', Uint8Array.of(4, 2));
    const rs: WalRecord[] = [
      { type: 'base', checkpoint: null, state: state(1) },
      { type: 'votes', regency: 0, stopLevel: 0, inst },
      { type: 'votes', regency: 0, stopLevel: 0, inst: { ...newInstance(2), accepted: new Set([0]) } },
      {
        type: 'decision',
        cid: 2,
        value: null,
        valueHash: 'h2',
        proof: { cid: 2, reg: 0, value: new Uint8Array(0), accepts: [] },
      },
    ];
    const replayed = replayRecords(readSegment(Buffer.concat(rs.map(encodeRecord))).records)!;
    expect(replayed.state.lastDecided).toBe(2);
    expect([...replayed.state.decisions[0]!.value]).toEqual([4, 2]);
    expect([...replayed.state.lastProof!.value]).toEqual([4, 2]);
  });

  it('cuts a torn last record at every byte offset, keeping the records before it', () => {
    const frames = framed();
    const head = Buffer.concat(frames.slice(0, -1));
    const last = frames.at(-1)!;
    for (let cut = 0; cut < last.length; cut++) {
      const read = readSegment(Buffer.concat([head, last.subarray(0, cut)]));
      expect(read.records.length, `cut ${cut}`).toBe(frames.length - 1);
      expect(read.goodBytes).toBe(head.length);
      expect(read.damage !== undefined).toBe(cut > 0);
    }
  });

  it('ends the replay at a flipped byte in a middle record', () => {
    const frames = framed();
    for (let at = 0; at < frames[1]!.length; at++) {
      const damaged = frames.map((f) => Buffer.from(f));
      damaged[1]![at]! ^= 0x40;
      const read = readSegment(Buffer.concat(damaged));
      expect(read.records.length, `byte ${at}`).toBe(1);
      expect(read.goodBytes).toBe(frames[0]!.length);
      expect(read.damage).toBeDefined();
    }
  });

  it('reads an empty segment as nothing and a length of gigabytes as damage, without allocating it', () => {
    expect(readSegment(Buffer.alloc(0))).toEqual({ records: [], goodBytes: 0 });
    expect(readSegment(Buffer.alloc(RECORD_HEADER_BYTES)).damage).toBeDefined(); // zero length, bad type
    const huge = Buffer.alloc(RECORD_HEADER_BYTES);
    huge.writeUInt32BE(0xffff_fff0, 0);
    expect(readSegment(huge).damage).toMatch(/over the limit/);
    const large = Buffer.alloc(RECORD_HEADER_BYTES);
    large.writeUInt32BE(MAX_RECORD_BYTES, 0);
    expect(readSegment(large).damage).toMatch(/truncated/);
    expect(replayRecords([])).toBeUndefined();
  });
});

describe('write-ahead log files', () => {
  it('syncs, rotates, deletes the segments before a durable BASE and cuts a damaged tail at reopen', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tclouds-wal-'));
    let durable = 0;
    const events = { durable: () => durable++, failed: () => {} };
    const { wal, recovered } = Wal.open(dir, silent as never, events);
    expect(recovered).toBeUndefined();
    const [base, d2, votes, d3] = records();
    wal.rotate(base!);
    wal.append(d2!);
    await wal.flush();
    expect(wal.durable).toBe(wal.appended);
    expect(durable).toBeGreaterThan(0);
    wal.rotate(base!);
    wal.append(d2!);
    wal.append(votes!);
    wal.append(d3!);
    await wal.close();
    expect(readdirSync(dir)).toEqual(['00000002.log']);

    // A torn tail: the last record cut in the middle; then a third segment that must be dropped with it.
    const file = path.join(dir, '00000002.log');
    const size = statSync(file).size;
    writeFileSync(file, readFileSync(file).subarray(0, size - 3));
    writeFileSync(path.join(dir, '00000003.log'), Buffer.concat(framed()));
    const warnings: Record<string, unknown>[] = [];
    const log = { ...silent, warn: (_m: string, f: Record<string, unknown>) => warnings.push(f) } as never;
    const again = Wal.open(dir, log, events);
    expect(again.recovered?.state.lastDecided).toBe(2);
    expect(again.recovered?.state.stopLevel).toBe(2);
    expect(warnings[0]).toMatchObject({ segment: file, droppedBytes: encodeRecord(d3!).length - 3 });
    expect(readdirSync(dir)).toEqual(['00000002.log']);
    expect(statSync(file).size).toBe(size - encodeRecord(d3!).length);
  });
});
