/** Data unit names that DepSky accepts but a cloud cannot hold are refused up front (TC208), per driver kind. */
import { describe, expect, it } from 'vitest';
import { LocalDirectoryDriver } from '../../components/storage/drivers/local.js';
import type { CloudDriver } from '../../components/storage/drivers/types.js';
import { checkNameFitsClouds } from '../../components/storage/name-limits.js';

const local = new LocalDirectoryDriver('l1', '/nonexistent');
const s3Like = { cloud: 'a1', kind: 's3' } as unknown as CloudDriver;

describe('data unit names against what each cloud accepts', () => {
  it('a local directory cloud takes 255 encoded bytes; object stores more', () => {
    expect(() => checkNameFitsClouds('a'.repeat(255), [local])).not.toThrow();
    expect(() => checkNameFitsClouds('a'.repeat(256), [local])).toThrow(expect.objectContaining({ code: 'TC208' }));
    expect(() => checkNameFitsClouds('a'.repeat(500), [s3Like])).not.toThrow();
    expect(() => checkNameFitsClouds('a'.repeat(500), [s3Like, local])).toThrow(/too long for cloud l1/);
  });

  it('counts the encoded name: a dot takes 3 bytes, an é 6', () => {
    expect(() => checkNameFitsClouds('.'.repeat(86), [local])).toThrow(expect.objectContaining({ code: 'TC208' }));
    expect(() => checkNameFitsClouds('é'.repeat(42), [local])).not.toThrow();
    expect(() => checkNameFitsClouds('é'.repeat(43), [local])).toThrow(expect.objectContaining({ code: 'TC208' }));
  });
});
