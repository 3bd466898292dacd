/** Whatever the input, validation returns problems with positions; it never throws (no stack traces). */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { validateTopologyText } from '../../topology/load.js';
import { templatePath } from '../../topology/templates.js';

function checkResult(text: string): void {
  const r = validateTopologyText(text, 'fuzz.yaml');
  for (const p of [...r.errors, ...r.warnings]) {
    expect(p.code).toMatch(/^TC0\d\d$/);
    expect(p.line).toBeGreaterThanOrEqual(1);
    expect(p.column).toBeGreaterThanOrEqual(1);
    expect(p.message).not.toContain('undefined');
  }
  expect(r.topology === undefined).toBe(r.errors.length > 0);
}

/** More cases locally: TCLOUDS_FUZZ_RUNS=5000 npx vitest run test/topology/fuzz.test.ts */
const RUNS = Number(process.env.TCLOUDS_FUZZ_RUNS ?? 300);
const template = readFileSync(templatePath('mediator'), 'utf8');
const lines = template.split('\n');

describe('validation never throws', () => {
  it('on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), checkResult), { numRuns: RUNS });
  });

  it('on arbitrary YAML data', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4 }), (value) => {
        let text: unknown;
        try {
          text = stringify(value);
        } catch {
          return; // not representable as YAML: nothing to validate
        }
        if (typeof text === 'string') checkResult(text);
      }),
      { numRuns: RUNS },
    );
  });

  it('on a template with lines removed, duplicated or edited', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            line: fc.nat({ max: lines.length - 1 }),
            op: fc.constantFrom('drop', 'dup', 'edit'),
            text: fc.string({ maxLength: 12 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (edits) => {
          const copy = [...lines];
          for (const e of edits) {
            if (e.line >= copy.length) continue;
            if (e.op === 'drop') copy.splice(e.line, 1);
            else if (e.op === 'dup') copy.splice(e.line, 0, copy[e.line] ?? '');
            else copy[e.line] = `${(copy[e.line] ?? '').slice(0, 6)}${e.text}`;
          }
          checkResult(copy.join('\n'));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
