/**
 * The validated-topology cache (topology/validated-cache.ts) gives exactly what loadTopology gives: the same
 * topology and warnings for valid files (from the cache or not), the same errors for everything else, and it
 * never answers for a different text, name or build. Real files in a temp dir.
 */
import { promises as fs, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTcError } from '../../kernel/errors.js';
import { loadTopology } from '../../topology/load.js';
import { loadTopologyCached } from '../../topology/validated-cache.js';
import { tempDir } from '../support/tmp.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/topology');
let dir: string;
let cache: string;

beforeAll(() => {
  dir = tempDir('tclouds-topology-cache-');
  cache = path.join(dir, 'cache');
});

const entries = () => {
  try {
    return readdirSync(cache).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
};

/** What a load throws (code, message, exit, problems), to compare two loaders. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    if (!isTcError(e)) throw e;
    return { code: e.code, message: e.message, exit: e.exit, hint: e.hint, problems: e.problems };
  }
  throw new Error('expected a failure');
}

describe('validated-topology cache', () => {
  it('gives what loadTopology gives for every fixture, first from validation and then from the cache', async () => {
    for (const name of readdirSync(fixtures).filter((f) => f.endsWith('.yaml'))) {
      const file = path.join(dir, name);
      writeFileSync(file, readFileSync(path.join(fixtures, name)));
      const reference = await loadTopology(file).catch((e: unknown) => e);
      for (let round = 0; round < 2; round++) {
        const before = entries().length;
        if (reference instanceof Error) {
          expect(await failure(loadTopologyCached(file, { codeId: 'b1', dir: cache }))).toEqual(
            await failure(loadTopology(file)),
          );
          expect(entries().length, `${name}: an invalid topology is never remembered`).toBe(before);
        } else {
          expect(await loadTopologyCached(file, { codeId: 'b1', dir: cache }), name).toStrictEqual(reference);
          expect(entries().length).toBe(round === 0 ? before + 1 : before);
        }
      }
    }
  });

  it('never answers for another text, build or shown name', async () => {
    const file = path.join(dir, 'tclouds.yaml');
    const text = (n: number) =>
      `name: s${n}\nclouds:\n  a: { provider: local }\n  b: { provider: local }\n  c: { provider: local }\n  d: { provider: local }\ncomponents:\n  v: { kind: storage, f: 1, clouds: [a, b, c, d] }\n`;
    writeFileSync(file, text(1));
    expect((await loadTopologyCached(file, { codeId: 'b1', dir: cache })).topology.name).toBe('s1');
    writeFileSync(file, text(2));
    expect((await loadTopologyCached(file, { codeId: 'b1', dir: cache })).topology.name).toBe('s2');
    const n = entries().length;
    await loadTopologyCached(file, { codeId: 'b2', dir: cache });
    expect(entries().length).toBe(n + 1);
    // A broken edit after a good one: the error, not the remembered topology.
    writeFileSync(file, `${text(2)}  w: { kind: storage, f: 1, clouds: [a, zz] }\n`);
    expect(await failure(loadTopologyCached(file, { codeId: 'b1', dir: cache }))).toEqual(
      await failure(loadTopology(file)),
    );
  });

  it('leaves missing, directory, oversized and binary files to loadTopology, with its errors', async () => {
    const big = path.join(dir, 'big.yaml');
    writeFileSync(big, `name: x\n#${'x'.repeat(1024 * 1024)}\n`);
    const binary = path.join(dir, 'bin.yaml');
    writeFileSync(binary, Buffer.from([0x6e, 0x3a, 0xff, 0xfe, 0x0a]));
    for (const file of [path.join(dir, 'absent.yaml'), dir, big, binary]) {
      expect(await failure(loadTopologyCached(file, { codeId: 'b1', dir: cache }))).toEqual(
        await failure(loadTopology(file)),
      );
    }
  });

  it('keeps its entries private to the user', async () => {
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    for (const n of entries()) expect(statSync(path.join(cache, n)).mode & 0o777).toBe(0o600);
    await fs.rm(cache, { recursive: true, force: true });
  });
});
