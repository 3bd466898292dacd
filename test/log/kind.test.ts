/** The log kind's status hooks: what the dashboard shows of core replicas and the console, and the verdict inputs. */
import { describe, expect, it } from 'vitest';
import { logKind } from '../../components/log/kind.js';

describe('log kind status hooks', () => {
  it('counts the core replicas only (a BFT quorum of them), the console listed beside them', () => {
    expect(logKind.status.quorumRoles).toEqual(['core']);
    expect(logKind.status.quorum({ f: 1, n: 4, faults: 'byzantine' }, 4)).toEqual({ n: 4, f: 1, quorum: 3 });
    expect(logKind.status.quorum({ f: 2, n: 7, faults: 'byzantine' }, 7)).toEqual({ n: 7, f: 2, quorum: 5 });
  });

  it('shows entries and stored segments of a core replica, and what the console verified', () => {
    expect(logKind.status.keyMetric({ entries: 42, segments: 3, persisted: 3 })).toBe(
      '42 entries · 3/3 segments stored',
    );
    expect(logKind.status.keyMetric({ entries: 42, segments: 3, persisted: 2, storageError: 'no quorum' })).toBe(
      '42 entries · 2/3 segments stored · storage failing',
    );
    expect(logKind.status.keyMetric({ verifiedEntries: 10, verified: true })).toBe('10 entries verified');
    expect(logKind.status.keyMetric({ verifiedEntries: 10, verified: false })).toBe('verification failing at entry 10');
  });
});
