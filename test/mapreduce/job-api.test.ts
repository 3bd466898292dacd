/**
 * The job module contract (components/mapreduce/job-api.ts) with the shipped templates: map and reduce over several
 * chunks give the outputs computed directly here, whatever the chunking or the number of reducers; mistakes of a job
 * module are errors naming the record.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModule, type JobModule, RecordError, runMap, runReduce } from '../../components/mapreduce/job-api.js';
import { repo } from '../support/cli.js';

const template = async (name: string) =>
  checkModule(await import(path.join(repo, 'templates', 'mapreduce', name))) as JobModule;

/** map over `chunks` (line lists), then reduce every partition: the output as one Map. */
function run(job: JobModule, chunks: string[][], reducers: number): Map<string, unknown> {
  let line = 1;
  const maps = chunks.map((c) => {
    const out = runMap(job, 'in', line, `${c.join('\n')}\n`, reducers, () => {});
    line += c.length;
    return out;
  });
  const out = new Map<string, unknown>();
  for (let p = 0; p < reducers; p++) {
    const text = runReduce(
      job,
      maps.map((m) => m[p] as string),
      () => {},
    );
    const lines = text.split('\n').filter((l) => l !== '');
    const keys = lines.map((l) => (JSON.parse(l) as [string])[0]);
    expect(keys).toEqual([...keys].sort());
    for (const l of lines) {
      const [k, v] = JSON.parse(l) as [string, unknown];
      expect(out.has(k)).toBe(false);
      out.set(k, v);
    }
  }
  return out;
}

describe('job modules', () => {
  it('word count gives the direct count for any chunking and reducer count', async () => {
    const job = await template('wordcount.mjs');
    const lines = Array.from({ length: 500 }, (_, i) => `Alpha beta ${i % 7} l'été ALPHA w${i % 300}`);
    const direct = new Map<string, number>();
    for (const w of lines
      .join('\n')
      .toLowerCase()
      .matchAll(/[\p{L}\p{N}']+/gu))
      direct.set(w[0], (direct.get(w[0]) ?? 0) + 1);
    for (const [size, reducers] of [
      [500, 1],
      [37, 3],
      [1, 5],
    ] as const) {
      const chunks: string[][] = [];
      for (let i = 0; i < lines.length; i += size) chunks.push(lines.slice(i, i + size));
      expect(run(job, chunks, reducers)).toEqual(direct);
    }
  });

  it('inverted index and join give the expected outputs', async () => {
    const index = run(await template('inverted-index.mjs'), [['d1\tthe cat', 'd2\tthe dog'], ['d3\tcat and dog']], 2);
    expect(index.get('cat')).toEqual(['d1', 'd3']);
    expect(index.get('the')).toEqual(['d1', 'd2']);
    const joined = run(
      await template('join.mjs'),
      [
        ['users,1,ann', 'orders,1,book'],
        ['orders,1,pen', 'users,2,bob'],
      ],
      2,
    );
    expect(joined.get('1')).toEqual([
      ['ann', 'book'],
      ['ann', 'pen'],
    ]);
    expect(joined.has('2')).toBe(false);
  });

  it('names the record of a job module mistake', () => {
    const bad = (m: Partial<JobModule>) => ({ map: () => {}, reduce: () => 1, ...m }) as JobModule;
    const at = (job: JobModule) => {
      try {
        runMap(job, 'f.txt', 10, 'a\nb\nc\n', 2, () => {});
      } catch (e) {
        return e instanceof RecordError ? { kind: e.kind, record: e.record, message: e.message } : null;
      }
      return 'no error';
    };
    expect(
      at(
        bad({
          map: (_k, v) => {
            if (v === 'b') throw new Error('bad b');
          },
        }),
      ),
    ).toEqual({ kind: 'throw', record: 'f.txt:11', message: 'bad b' });
    expect(at(bad({ map: (_k, v, emit) => emit(7 as unknown as string, v) }))).toMatchObject({
      kind: 'invalid',
      record: 'f.txt:10',
    });
    expect(at(bad({ map: (_k, v, emit) => emit(v, 1), partition: () => 9 }))).toMatchObject({ kind: 'invalid' });
    expect(checkModule({ map: () => {} })).toBe('the job module exports no function `reduce`');
    expect(checkModule({ reduce: () => {} })).toBe('the job module exports no function `map` (nor `mapChunk`)');
    expect(checkModule({ mapChunk: () => {}, reduce: () => {} })).not.toBeTypeOf('string');
  });

  it('word count by mapChunk gives the same outputs, byte for byte, as its per-line map over generated text', async () => {
    const batch = await template('wordcount.mjs');
    expect(batch.mapChunk).toBeTypeOf('function');
    const { mapChunk: _, ...perLine } = batch;
    let s = 7;
    const next = () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s >>> 8;
    };
    const vocab = ['Alpha', "l'été", 'ÉCOLE', 'naïve', 'x1', "don't", 'İstanbul', 'ß'];
    const lines = Array.from({ length: 3000 }, () =>
      Array.from({ length: next() % 9 }, () => (next() % 2 ? `w${next() % 500}` : vocab[next() % vocab.length])).join(
        next() % 4 ? ' ' : ', ',
      ),
    );
    const text = `${lines.join('\n')}\n`;
    for (const reducers of [1, 4]) {
      const a = runMap(batch, 'in', 1, text, reducers, () => {});
      const b = runMap(perLine as JobModule, 'in', 1, text, reducers, () => {});
      expect(a).toEqual(b);
    }
    const chunks: string[][] = [];
    for (let i = 0; i < lines.length; i += 700) chunks.push(lines.slice(i, i + 700));
    expect(run(batch, chunks, 3)).toEqual(run(perLine as JobModule, chunks, 3));
  });

  it('names the split of a mapChunk mistake, and the line of the offset it marked', () => {
    const at = (mapChunk: JobModule['mapChunk']) => {
      try {
        runMap({ mapChunk, reduce: () => 1 } as unknown as JobModule, 'f.txt', 10, 'a\nb\nneedle\nc\n', 2, () => {});
      } catch (e) {
        return e instanceof RecordError ? { kind: e.kind, record: e.record, message: e.message } : null;
      }
      return 'no error';
    };
    expect(
      at(() => {
        throw new Error('no');
      }),
    ).toEqual({ kind: 'throw', record: 'f.txt:10-13', message: 'no' });
    expect(
      at((_k, text, _emit, mark) => {
        mark(text.indexOf('needle'));
        throw new Error('found the needle');
      }),
    ).toEqual({ kind: 'throw', record: 'f.txt:10-13 at offset 4 (line 12)', message: 'found the needle' });
    expect(at((_k, _t, emit) => emit(7 as unknown as string, 1))).toMatchObject({
      kind: 'invalid',
      record: 'f.txt:10-13',
    });
  });
});
