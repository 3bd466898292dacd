import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../topology/suggest.js';

describe('did you mean', () => {
  it('edit distance counts transpositions as one edit', () => {
    expect(editDistance('region', 'region')).toBe(0);
    expect(editDistance('regoin', 'region')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
  it('suggests close words only', () => {
    expect(closest('gatways', ['kind', 'f', 'clouds', 'gateways'])).toBe('gateways');
    expect(closest('Provider', ['provider', 'region'])).toBe('provider');
    expect(closest('zzzzzz', ['provider', 'region'])).toBeUndefined();
    expect(closest('x', [])).toBeUndefined();
  });
});
