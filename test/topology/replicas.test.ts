import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quorumGroupSize, replicaCount, spreadOverClouds } from '../../topology/replicas.js';
import { ComponentSchema } from '../../topology/schema.js';

const parse = (c: unknown) => ComponentSchema.parse(c);

describe('replicaCount', () => {
  it('storage: one per cloud', () => {
    expect(replicaCount(parse({ kind: 'storage', f: 1, clouds: ['a', 'b', 'c', 'd', 'e'] }))).toBe(5);
  });
  it('smr: 3f+1 byzantine, 2f+1 crash, or the explicit replicas', () => {
    expect(replicaCount(parse({ kind: 'smr', f: 2, clouds: ['a'] }))).toBe(7);
    expect(replicaCount(parse({ kind: 'smr', faults: 'crash', f: 2, clouds: ['a'] }))).toBe(5);
    expect(replicaCount(parse({ kind: 'smr', f: 1, replicas: 6, clouds: ['a'] }))).toBe(6);
  });
  it('log: 3f+1; workflow: by fault model (crash by default); mapreduce: workers', () => {
    expect(replicaCount(parse({ kind: 'log', f: 2, clouds: ['a'] }))).toBe(7);
    expect(replicaCount(parse({ kind: 'workflow', f: 2, clouds: ['a'] }))).toBe(5);
    expect(replicaCount(parse({ kind: 'workflow', faults: 'byzantine', f: 2, clouds: ['a'] }))).toBe(7);
    expect(replicaCount(parse({ kind: 'mapreduce', f: 1, workers: 9, clouds: ['a'] }))).toBe(9);
  });
  it('quorumGroupSize', () => {
    expect(quorumGroupSize('byzantine', 3)).toBe(10);
    expect(quorumGroupSize('crash', 3)).toBe(7);
  });
});

describe('spreadOverClouds', () => {
  it('round-robin in list order; the first clouds take the remainder', () => {
    expect(spreadOverClouds(4, ['x', 'y', 'z'])).toEqual({ x: 2, y: 1, z: 1 });
    expect(Object.keys(spreadOverClouds(4, ['z', 'y', 'x']))).toEqual(['z', 'y', 'x']);
    expect(spreadOverClouds(2, ['a', 'b', 'c'])).toEqual({ a: 1, b: 1 });
    expect(spreadOverClouds(0, ['a'])).toEqual({});
    expect(spreadOverClouds(3, [])).toEqual({});
  });

  it('is even, complete and deterministic for any input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        // Cloud names start with a letter (NAME_PATTERN), so object keys keep insertion order.
        fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/), { minLength: 1, maxLength: 12 }),
        (count, clouds) => {
          const s = spreadOverClouds(count, clouds);
          const values = Object.values(s);
          expect(values.reduce((a, b) => a + b, 0)).toBe(count);
          if (values.length > 0) expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
          expect(Object.keys(s)).toEqual(clouds.slice(0, Math.min(count, clouds.length)));
          expect(spreadOverClouds(count, clouds)).toEqual(s);
        },
      ),
    );
  });
});
