/**
 * `log verify` on logs built in memory: every kind of tampering with the stored copies, by a cloud (no keys), by a
 * compromised replica holding its current keys, by a replay of old heads; each is named with its segment and
 * first entry, and what f+1 replicas vouch for still reads.
 */
import { describe, expect, it } from 'vitest';
import { authenticateSegment } from '../../components/log/protocol/authenticate.js';
import { encodeEntry } from '../../components/log/protocol/entry.js';
import { chainNext, evolve, secretAt } from '../../components/log/protocol/forward-integrity.js';
import { MerkleTree } from '../../components/log/protocol/merkle.js';
import { headChainInput, type SegmentCopy } from '../../components/log/protocol/segment.js';
import { verifyLog } from '../../components/log/protocol/verify.js';
import { clone, input, LOG, memoryLog } from './support.js';

const copyOf = (l: ReturnType<typeof memoryLog>, k: number, r: number) => l.copies.get(k)?.get(r) as SegmentCopy;
const errors = (r: ReturnType<typeof verifyLog>) => r.problems.filter((p) => p.severity === 'error');

describe('log verify (pure)', () => {
  it('accepts an untouched log: every entry, the last head, no problem', () => {
    const l = memoryLog(6, 5);
    const r = verifyLog(input(l));
    expect(r.ok).toBe(true);
    expect(r.size).toBe(30);
    expect(r.segments).toBe(6);
    expect(r.problems).toEqual([]);
    expect(r.entries.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(r.head?.root).toBe(r.tree.root().toString('hex'));
  });

  it('checks without parsing (log verify): the same verdict, size and head, no entries kept', () => {
    const l = memoryLog(6, 5);
    const full = verifyLog(input(l));
    const lean = verifyLog({ ...input(l), decode: false });
    expect(lean).toMatchObject({ ok: true, size: full.size, segments: full.segments, head: full.head, entries: [] });
    const c = copyOf(l, 2, 1);
    c.entries[3] = encodeEntry({ ...JSON.parse(c.entries[3] as string), msg: 'nothing happened' });
    expect(errors(verifyLog({ ...input(l), decode: false }))).toEqual(errors(verifyLog(input(l))));
  });

  it('names the entry a rewritten copy changes, and still reads the content f+1 replicas vouch for', () => {
    const l = memoryLog(4, 5);
    const c = copyOf(l, 2, 1);
    const e = JSON.parse(c.entries[3] as string);
    c.entries[3] = encodeEntry({ ...e, msg: 'nothing happened' });
    const r = verifyLog(input(l));
    expect(r.ok).toBe(false);
    expect(errors(r)).toEqual([expect.objectContaining({ segment: 2, replica: 1, entry: 13 })]);
    expect(r.entries[13]?.msg).toBe('event 13');
    expect(r.size).toBe(20);
  });

  it('catches a compromised replica that rewrites an earlier segment with its current keys', () => {
    const l = memoryLog(5, 4);
    // The attacker takes replica 2 after segment 4 was sealed: it holds A_6 and its signing key, not A_1.
    const current = secretAt(l.seeds[2] as Buffer, 0, 6);
    const target = clone(copyOf(l, 1, 2));
    target.entries[0] = encodeEntry({ ...JSON.parse(target.entries[0] as string), msg: 'rewritten' });
    // It even recomputes a consistent tree and chain for its version.
    const t = new MerkleTree();
    for (const e of [...copyOf(l, 0, 2).entries, ...target.entries]) t.append(Buffer.from(e));
    const partial = { size: target.head.size, root: t.root().toString('hex'), time: target.head.time, segment: 1 };
    const head = {
      ...partial,
      chain: chainNext(Buffer.from(copyOf(l, 0, 2).head.chain, 'hex'), headChainInput(partial)).toString('hex'),
    };
    for (const secret of [current, evolve(current)]) {
      l.copies
        .get(1)
        ?.set(2, authenticateSegment({ ...target, head }, { replica: 2, log: LOG, secret, signKey: l.signKeys[2]! }));
      const r = verifyLog(input(l));
      expect(r.ok).toBe(false);
      const p = errors(r)[0];
      expect(p).toMatchObject({ segment: 1, replica: 2, entry: 4 });
      expect(p?.message).toContain('forward-integrity MAC does not check');
      // The true content stands: three replicas vouch for it.
      expect(r.entries[4]?.msg).toBe('event 4');
    }
  });

  it('refuses a forged tree head: no f+1 valid signatures, entries named', () => {
    const l = memoryLog(3, 4);
    // Attacker with one replica's keys appends a segment of its own (forged head, signed by one replica only).
    const forged = clone(copyOf(l, 2, 0));
    forged.segment = 3;
    forged.first = 12;
    forged.head = { ...forged.head, segment: 3, size: 16 };
    l.copies.set(
      3,
      new Map([
        [
          0,
          authenticateSegment(forged, {
            replica: 0,
            log: LOG,
            secret: secretAt(l.seeds[0]!, 0, 4),
            signKey: l.signKeys[0]!,
          }),
        ],
      ]),
    );
    const r = verifyLog(input(l));
    expect(r.ok).toBe(false);
    expect(errors(r)[0]).toMatchObject({ segment: 3, entry: 12 });
    expect(r.size).toBe(12);
    // A head whose signature is bytes of nothing.
    const l2 = memoryLog(2, 4);
    for (let rep = 0; rep < 4; rep++) {
      const c = copyOf(l2, 1, rep);
      c.head = { ...c.head, root: 'ab'.repeat(32) };
    }
    const r2 = verifyLog(input(l2));
    expect(r2.ok).toBe(false);
    expect(errors(r2)[0]).toMatchObject({ segment: 1, entry: 4 });
    expect(errors(r2).some((p) => p.message.includes('signature does not check'))).toBe(true);
  });

  it('catches replayed old heads, reordered and deleted entries, and a removed segment', () => {
    // Replay: segment 1's copies replaced by segment 0's (an old, validly signed head).
    const l = memoryLog(3, 4);
    l.copies.set(1, l.copies.get(0) as Map<number, SegmentCopy>);
    const r = verifyLog(input(l));
    expect(r.ok).toBe(false);
    expect(errors(r)[0]).toMatchObject({ segment: 1, entry: 4 });
    expect(errors(r).some((p) => p.message.includes('moved or replayed'))).toBe(true);
    // Reorder within one copy.
    const l2 = memoryLog(2, 4);
    const c = copyOf(l2, 0, 3);
    [c.entries[1], c.entries[2]] = [c.entries[2] as string, c.entries[1] as string];
    expect(errors(verifyLog(input(l2)))[0]).toMatchObject({ segment: 0, replica: 3, entry: 1 });
    // Delete an entry from every copy: the signed heads no longer match.
    const l3 = memoryLog(2, 4);
    for (let rep = 0; rep < 4; rep++) copyOf(l3, 1, rep).entries.splice(2, 1);
    expect(errors(verifyLog(input(l3)))[0]).toMatchObject({ segment: 1, entry: 4 });
    // A whole segment gone from storage, later ones still there.
    const l4 = memoryLog(3, 4);
    l4.copies.delete(1);
    const r4 = verifyLog(input(l4));
    expect(errors(r4)[0]).toMatchObject({ segment: 1, entry: 4 });
    expect(r4.size).toBe(4);
  });

  it('tolerates f missing copies as warnings, and a truncated log only against a saved head', () => {
    const l = memoryLog(3, 4);
    l.copies.get(1)?.delete(3);
    const r = verifyLog(input(l));
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([expect.objectContaining({ segment: 1, replica: 3, severity: 'warning' })]);
    const saved = { size: r.size, root: r.tree.root().toString('hex') };
    l.copies.delete(2);
    expect(verifyLog(input(l)).ok).toBe(true);
    const truncated = verifyLog(input(l, saved));
    expect(truncated.ok).toBe(false);
    expect(errors(truncated)[0]).toMatchObject({ entry: 8 });
    expect(errors(truncated)[0]?.message).toContain('entries 8..11 were removed');
  });

  it('needs f+1: two replicas short of seeds or signatures cannot carry a segment', () => {
    const l = memoryLog(1, 3);
    l.seeds[0] = Buffer.alloc(32);
    l.seeds[1] = Buffer.alloc(32);
    l.seeds[2] = Buffer.alloc(32);
    const r = verifyLog(input(l));
    expect(r.ok).toBe(false);
    expect(errors(r)[0]?.message).toContain('f+1=2');
  });
});
