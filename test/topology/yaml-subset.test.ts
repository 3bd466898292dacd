import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { isWritten, locate, parseYaml } from '../../topology/yaml-source.js';
import { readYamlSubset } from '../../topology/yaml-subset.js';

/** What the full parser says: the data when the text parses without errors or warnings. */
function full(text: string): { ok: boolean; data?: unknown } {
  const doc = parseDocument(text, { uniqueKeys: false, strict: true, prettyErrors: false });
  if (doc.errors.length > 0 || doc.warnings.length > 0) return { ok: false };
  return { ok: true, data: doc.toJS() };
}

const word = fc.constantFrom('a', 'b', 'x-y', 'k.v', 'A_1', 'constructor', 'true', 'Null', 'yes', 'on', 'NaN', 'e1');
const scalar = fc.oneof(word, fc.constantFrom('0', '1', '-3', '007', '1.5', '0x1', '~', '"q"', "'q'", '&a', '*a', ''));
const flow = fc.letrec<{ value: string; seq: string; map: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, word, word, scalar, tie('seq'), tie('map')),
  seq: fc.array(tie('value'), { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`),
  map: fc
    .array(fc.tuple(word, fc.constantFrom(': ', ': ', ': ', ':', ' : '), tie('value')), { maxLength: 3 })
    .map((es) => `{ ${es.map(([k, c, v]) => `${k}${c}${v}`).join(', ')} }`),
})).value;
const line = fc
  .tuple(
    fc.constantFrom('', '', '', '', '  ', '  ', '    ', ' ', '- ', '# '),
    word,
    fc.constantFrom(':', ': ', ': ', ': ', ':  '),
    fc.option(flow, { freq: 4 }),
    fc.constantFrom('', '', '', ' # note', '#x', '  '),
  )
  .map(([indent, k, colon, v, comment]) => `${indent}${k}${colon}${v ?? ''}${comment}`);

describe('readYamlSubset', () => {
  it('returns exactly what yaml returns whenever it accepts a text, and accepts the common shape', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), fc.constantFrom('\n', ''), (lines, end) => {
        const text = `${lines.join('\n')}${end}`;
        const fast = readYamlSubset(text);
        if (fast === undefined) return;
        accepted++;
        const ref = full(text);
        expect(ref.ok).toBe(true);
        // node's deep equality (vitest's toStrictEqual compares `.constructor`, which is a key here).
        expect(isDeepStrictEqual(fast, ref.data), text).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(20); // typically 50-80 of 3000
  });

  it('leaves everything outside the subset to yaml', () => {
    for (const text of [
      'a: 1\na: 2\n', // duplicate key: reported by the full path
      'a:\n', // null value
      'a: "quoted"\n',
      'a: &x [b]\nc: *x\n',
      'a:\n  - b\n',
      'a: b\r\n',
      '\ta: b\n',
      '---\na: b\n',
      'a: [b,\n  c]\n',
      '  a: b\n',
      'a: 010\n',
      'a: 1.5\n',
      '__proto__: x\n',
      '# only a comment\n',
    ]) {
      expect(readYamlSubset(text), JSON.stringify(text)).toBeUndefined();
    }
  });

  it('a file read by the fast path still locates problems and knows what was written', () => {
    const text = 'name: demo\ncomponents:\n  vault: { kind: storage, f: 1, clouds: [a, b] }\n';
    const parsed = parseYaml(text, 'x.yaml');
    expect(parsed.errors).toEqual([]);
    expect(parsed.data).toEqual({ name: 'demo', components: { vault: { kind: 'storage', f: 1, clouds: ['a', 'b'] } } });
    expect(locate(parsed, ['components', 'vault', 'clouds', 1])).toEqual({ line: 3, column: 45 });
    expect(locate(parsed, ['components', 'vault', 'f'], 'key')).toEqual({ line: 3, column: 27 });
    expect(isWritten(parsed, ['components', 'vault', 'f'])).toBe(true);
    expect(isWritten(parsed, ['components', 'vault', 'gateways'])).toBe(false);
  });
});
