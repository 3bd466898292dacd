/** The pure classification core of `storage scrub` and the re-derivation of a lost key share. */
import { describe, expect, it } from 'vitest';
import { shareSecret } from '../../components/storage/crypto/primitives.js';
import { freeCoordinates, shareAt, shareX } from '../../components/storage/crypto/share-rederive.js';
import {
  type CloudObservation,
  classifyObject,
  currentVersion,
  repairable,
  tallyClouds,
} from '../../components/storage/protocol/scrub.js';
import type { Metadata } from '../../components/storage/protocol/types.js';

const clouds = ['a', 'b', 'c', 'd'];
const v1 = { counter: 1, writer: 'ab' };
const v2 = { counter: 2, writer: 'ab' };
const meta = (protocol: Metadata['protocol']): Metadata => ({
  format: 1,
  du: 'doc',
  protocol,
  version: v2,
  size: 10,
  n: 4,
  f: 1,
  clouds,
  digests: [],
});
const ok: CloudObservation = { meta: { kind: 'valid', version: v2 }, data: { kind: 'ok' } };

describe('classifyObject', () => {
  it('all copies verified: ok, nothing to repair', () => {
    const v = classifyObject({ du: 'doc', f: 1, clouds, observations: [ok, ok, ok, ok], meta: meta('depsky-ca') })!;
    expect(v).toMatchObject({ state: 'ok', copies: 4, needed: 2, version: '2.ab' });
    expect(repairable(v)).toBe(false);
  });

  it('names each fault: missing, stale, corrupt (data or signature), unreachable; CA with 2 copies is at risk', () => {
    const observations: CloudObservation[] = [
      { meta: { kind: 'absent' }, data: { kind: 'missing', what: 'manifest missing' } },
      { meta: { kind: 'valid', version: v1 }, data: { kind: 'missing', what: 'manifest missing' } },
      ok,
      ok,
    ];
    const v = classifyObject({ du: 'doc', f: 1, clouds, observations, meta: meta('depsky-ca') })!;
    expect(v.clouds.map((c) => c.state)).toEqual(['missing', 'stale', 'ok', 'ok']);
    expect(v).toMatchObject({ state: 'atRisk', copies: 2, verifiedData: 2 });
    expect(v.clouds[1]).toMatchObject({ rewriteData: true, rewriteMeta: true, detail: /older version 1\.ab/ });
    expect(repairable(v)).toBe(true);

    const damaged: CloudObservation[] = [
      { meta: { kind: 'garbled' }, data: { kind: 'ok' } },
      { meta: { kind: 'foreign' }, data: { kind: 'ok' } },
      { meta: { kind: 'valid', version: v2 }, data: { kind: 'corrupt', what: 'block corrupt' } },
      { meta: { kind: 'error', message: 'timeout' }, data: { kind: 'error', message: 'timeout' } },
    ];
    const d = classifyObject({ du: 'doc', f: 1, clouds, observations: damaged, meta: meta('depsky-a') })!;
    expect(d.clouds.map((c) => c.state)).toEqual(['corrupt', 'corrupt', 'corrupt', 'unreachable']);
    expect(d.clouds.map((c) => [c.rewriteData, c.rewriteMeta])).toEqual([
      [false, true],
      [false, true],
      [true, true],
      [false, false],
    ]);
    expect(d.clouds[0]!.detail).toMatch(/unreadable/);
    expect(d.clouds[1]!.detail).toMatch(/not signed by this writer key/);
    // A: two verified values are enough to repair, none is a complete copy.
    expect(d).toMatchObject({ state: 'atRisk', copies: 0, verifiedData: 2 });
  });

  it('fewer verified copies than a read needs: lost, not repairable; one missing A copy: only degraded', () => {
    const lost = classifyObject({
      du: 'doc',
      f: 1,
      clouds,
      observations: [
        ok,
        { ...ok, data: { kind: 'missing', what: 'x' } },
        { ...ok, data: { kind: 'corrupt', what: 'y' } },
        { meta: { kind: 'absent' }, data: { kind: 'missing', what: 'z' } },
      ],
      meta: meta('depsky-ca'),
    })!;
    expect(lost.state).toBe('lost');
    expect(repairable(lost)).toBe(false);
    const a = classifyObject({
      du: 'doc',
      f: 1,
      clouds,
      observations: [{ meta: { kind: 'absent' }, data: { kind: 'missing', what: 'value missing' } }, ok, ok, ok],
      meta: meta('depsky-a'),
    })!;
    expect(a).toMatchObject({ state: 'degraded', copies: 3, needed: 1 });
  });

  it('no metadata anywhere is no object; only damaged metadata is a lost object', () => {
    const absent: CloudObservation = { meta: { kind: 'absent' }, data: { kind: 'none' } };
    expect(
      classifyObject({ du: 'x', f: 1, clouds, observations: [absent, absent, absent, absent], meta: undefined }),
    ).toBeUndefined();
    const garbled: CloudObservation = { meta: { kind: 'garbled' }, data: { kind: 'none' } };
    const v = classifyObject({
      du: 'x',
      f: 1,
      clouds,
      observations: [garbled, garbled, absent, absent],
      meta: undefined,
    })!;
    expect(v).toMatchObject({ state: 'lost', version: null });
    expect(v.clouds.map((c) => c.state)).toEqual(['corrupt', 'corrupt', 'missing', 'missing']);
  });

  it('currentVersion is the highest valid one; tallies count per cloud', () => {
    expect(currentVersion([{ meta: { kind: 'valid', version: v1 }, data: { kind: 'none' } }, ok])).toEqual(v2);
    const obs: CloudObservation[] = [{ meta: { kind: 'absent' }, data: { kind: 'missing', what: 'm' } }, ok, ok, ok];
    const v = classifyObject({ du: 'doc', f: 1, clouds, observations: obs, meta: meta('depsky-ca') })!;
    const t = tallyClouds(clouds, [v], new Map([['doc', ['a']]]));
    expect(t[0]).toEqual({ cloud: 'a', ok: 0, missing: 1, stale: 0, corrupt: 0, unreachable: 0, repaired: 1 });
    expect(t[1]).toMatchObject({ ok: 1, repaired: 0 });
  });
});

describe('share re-derivation', () => {
  it('rebuilds any share from threshold others, at its coordinate, without the secret', async () => {
    const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 5) & 0xff);
    for (const [n, k] of [
      [4, 2],
      [7, 3],
    ] as const) {
      const shares = await shareSecret(secret, n, k);
      const lost = shares[n - 1]!;
      const known = shares.slice(0, k);
      expect(freeCoordinates(known)).toContain(shareX(lost));
      expect(Buffer.from(shareAt(known, shareX(lost))).equals(Buffer.from(lost))).toBe(true);
    }
  });
});
