/**
 * Incremental `log verify --checkpoint`: a checkpoint holds a head signed by f+1 replicas and the tree's right edge
 * giving that root; verification from it checks only the later segments and ends where a full one does. A forged,
 * altered or foreign checkpoint is refused (verify fails), and tampering after it is still caught.
 */
import { describe, expect, it } from 'vitest';
import { checkpointProblem } from '../../components/log/protocol/checkpoint.js';
import { encodeEntry } from '../../components/log/protocol/entry.js';
import type { SegmentCopy } from '../../components/log/protocol/segment.js';
import { verifyFrom, verifyLog } from '../../components/log/protocol/verify.js';
import { clone, input, LOG, memoryLog } from './support.js';

/** The input as a verifier that read only segments `from..` sees it. */
function laterSegments(l: ReturnType<typeof memoryLog>, from: number) {
  const inp = input(l);
  return { ...inp, copies: new Map([...inp.copies].filter(([k]) => k >= from)) };
}

describe('log verify from a checkpoint', () => {
  it('checks only later segments and ends on the same head, size and checkpoint as a full run', () => {
    const l = memoryLog(8, 5);
    const early = verifyLog({ ...input(l), copies: new Map([...l.copies].filter(([k]) => k < 3)) });
    expect(early.ok).toBe(true);
    const cp = early.checkpoint!;
    expect(cp.head.segment).toBe(2);
    expect(cp.signatures.length).toBeGreaterThanOrEqual(2);
    expect(checkpointProblem(cp, { log: LOG, f: 1, keys: l.keys })).toBeUndefined();
    const full = verifyLog(input(l));
    const inc = verifyFrom(laterSegments(l, 3), cp);
    expect(inc).toMatchObject({ ok: true, size: full.size, segments: full.segments, head: full.head, problems: [] });
    expect(inc.checkpoint?.frontier).toEqual(full.checkpoint?.frontier);
    // Nothing new: the checkpoint stays where it was.
    expect(verifyFrom(laterSegments(l, 8), full.checkpoint!)).toMatchObject({ ok: true, size: 40, segments: 8 });
  });

  it('refuses a checkpoint with a forged head, a wrong tree edge, too few signatures or another log', () => {
    const l = memoryLog(4, 5);
    const cp = verifyLog(input(l)).checkpoint!;
    const keys = { log: LOG, f: 1, keys: l.keys };
    const forged = clone(cp);
    forged.head.size += 1;
    expect(checkpointProblem(forged, keys)).toMatch(/valid signatures of 0 core replicas/);
    const edge = clone(cp);
    edge.frontier.hashes[0] = '00'.repeat(32);
    expect(checkpointProblem(edge, keys)).toBe('its tree edge does not give the signed root');
    const one = clone(cp);
    one.signatures = one.signatures.slice(0, 1);
    expect(checkpointProblem(one, keys)).toMatch(/valid signatures of 1 core replicas; f\+1=2/);
    expect(checkpointProblem(cp, { ...keys, log: 'other/audit' })).toMatch(/not other\/audit/);
    const r = verifyFrom(laterSegments(l, 4), forged);
    expect(r.ok).toBe(false);
    expect(r.problems[0]?.message).toMatch(/^the checkpoint does not check/);
  });

  it('still catches a copy rewritten after the checkpoint', () => {
    const l = memoryLog(6, 5);
    const cp = verifyLog({ ...input(l), copies: new Map([...l.copies].filter(([k]) => k < 2)) }).checkpoint!;
    const c = l.copies.get(4)?.get(2) as SegmentCopy;
    c.entries[1] = encodeEntry({ ...JSON.parse(c.entries[1] as string), msg: 'nothing happened' });
    const r = verifyFrom(laterSegments(l, 2), cp);
    expect(r.ok).toBe(false);
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([
      expect.objectContaining({ segment: 4, replica: 2, entry: 21 }),
    ]);
  });
});
