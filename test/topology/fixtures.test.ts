/**
 * Every file in test/fixtures/topology/ declares the problems it must produce, one trailing comment per
 * problem: `# expect error TC012 10:5`. The validator must report exactly those (code, severity, position).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TopologyCodes } from '../../topology/codes.js';
import { validateTopologyText } from '../../topology/load.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/topology');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

function expected(text: string): string[] {
  return [...text.matchAll(/^# expect (error|warning) (TC\d{3}) (\d+):(\d+)$/gm)]
    .map((m) => `${m[1]} ${m[2]} ${m[3]}:${m[4]}`)
    .sort();
}

describe('topology fixtures', () => {
  it('has fixtures', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  for (const file of files) {
    it(`${file} reports exactly its expected problems`, () => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      const want = expected(text);
      const r = validateTopologyText(text, file);
      const got = [...r.errors, ...r.warnings].map((p) => `${p.severity} ${p.code} ${p.line}:${p.column}`).sort();
      expect(got).toEqual(want);
      // Every problem names the file, has a message and a registered code; errors and warnings are not mixed.
      for (const p of r.errors) expect(p.severity).toBe('error');
      for (const p of r.warnings) expect(p.severity).toBe('warning');
      for (const p of [...r.errors, ...r.warnings]) {
        expect(p.file).toBe(file);
        expect(p.message.length).toBeGreaterThan(10);
        expect(Object.keys(TopologyCodes)).toContain(p.code);
      }
      if (r.errors.length === 0) expect(r.topology).toBeDefined();
      else expect(r.topology).toBeUndefined();
    });
  }

  it("every code that a file's content can cause has a fixture", () => {
    const covered = new Set(
      files.flatMap((f) => expected(readFileSync(path.join(dir, f), 'utf8'))).map((e) => e.split(' ')[1]),
    );
    // TC001-TC004, TC009 are about the file itself (missing, directory, size, binary, unreadable) and
    // TC030-TC032 about `init`; they are tested in load.test.ts, init.test.ts and the CLI tests.
    const fileLevel = ['TC001', 'TC002', 'TC003', 'TC004', 'TC009', 'TC030', 'TC031', 'TC032'];
    const missing = Object.keys(TopologyCodes).filter((c) => !fileLevel.includes(c) && !covered.has(c));
    expect(missing).toEqual([]);
  });
});
