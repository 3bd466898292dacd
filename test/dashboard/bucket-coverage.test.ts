/** Status counts a storage cloud that lacks data units as a fault and says how many objects are at risk. */
import { describe, expect, it } from 'vitest';
import { bucketCoverage } from '../../dashboard/bucket-coverage.js';
import { buildStatus } from '../../dashboard/status-model.js';
import { renderStatusText } from '../../dashboard/status-text.js';
import { model, outputs, round } from './fixtures.js';

describe('bucket coverage (pure)', () => {
  it('finds the cloud that lacks data units and the objects below needed + f copies', () => {
    const listings = new Map([
      ['a', ['x', 'y', 'z']],
      ['b', ['x', 'y', 'z']],
      ['c', ['x', 'y']],
      ['d', ['x']],
    ]);
    // CA with f=1: a read needs 2 blocks, so 3 copies tolerate one more fault; z (2 copies) and y (3) differ.
    expect(bucketCoverage(listings, 2, 1)).toEqual({
      missing: new Map([
        ['a', 0],
        ['b', 0],
        ['c', 1],
        ['d', 2],
      ]),
      atRisk: 1,
    });
    expect(bucketCoverage(listings, 1, 1)?.atRisk).toBe(0);
    // A cloud without a listing (down) may still hold its copies: it is not counted against any object.
    expect(bucketCoverage(listings, 2, 1, 1)?.atRisk).toBe(0);
    expect(bucketCoverage(new Map([['a', ['x']]]), 2, 1)).toBeUndefined();
  });
});

describe('status of a storage component whose cloud lost its data', () => {
  const healthy = round('healthy');
  const withListings = (lists: Record<string, string[]>) =>
    healthy.buckets.map((b) => (lists[b.cloud] ? { ...b, containers: lists[b.cloud] } : b));

  it('all clouds hold every data unit: ok', () => {
    const all = ['a', 'b', 'c'];
    const buckets = withListings({ 'local-a': all, 'local-b': all, 'local-c': all, 'local-d': all });
    const r = buildStatus({ outputs, placement: model, probes: healthy.probes, buckets, now: new Date(0) });
    const files = r.components.find((c) => c.name === 'files')!;
    expect(files).toMatchObject({ verdict: 'ok', atRisk: 0, faultsLeft: 1 });
    expect(files.clouds.map((c) => c.missingObjects)).toEqual([0, 0, 0, 0]);
  });

  it('two clouds down: the quorum is lost, and nothing is counted at risk for the copies they may hold', () => {
    const buckets = withListings({ 'local-a': ['a', 'b'], 'local-b': ['a', 'b'] }).map((b) =>
      b.cloud === 'local-c' || b.cloud === 'local-d' ? { ...b, reachable: false } : b,
    );
    const r = buildStatus({ outputs, placement: model, probes: healthy.probes, buckets, now: new Date(0) });
    const files = r.components.find((c) => c.name === 'files')!;
    expect(files).toMatchObject({ quorumLost: true, atRisk: 0, verdictLine: 'QUORUM LOST: 2/4 clouds up, quorum 3' });
  });

  it('one cloud emptied and one object also gone from another: degraded, the cloud named, objects at risk', () => {
    const buckets = withListings({
      'local-a': [],
      'local-b': ['a', 'b', 'c'],
      'local-c': ['a', 'b'],
      'local-d': ['a', 'b', 'c'],
    });
    const r = buildStatus({ outputs, placement: model, probes: healthy.probes, buckets, now: new Date(0) });
    const files = r.components.find((c) => c.name === 'files')!;
    expect(files).toMatchObject({ verdict: 'degraded', quorumLost: false, atRisk: 1, faultsLeft: 0 });
    expect(files.verdictLine).toMatch(/2 lacking data units.*1 object at risk/);
    expect(files.clouds.map((c) => c.missingObjects)).toEqual([3, 0, 1, 0]);
    expect(r.summary.degraded).toContain('files');
    expect(renderStatusText(r)).toMatch(/local-a .*lacks 3 data units/);
  });
});
