/**
 * package.json's `engines.node` tells the truth: the Node running the suite satisfies it (CI runs the suite on
 * every major it names: .ci/run, EXTRA_NODE_MAJORS, besides the machine's own), it names each major CI runs,
 * and it is never looser than what a dependency declares for the same major.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo } from '../support/cli.js';

type Version = [number, number, number];

const parse = (v: string): Version => {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim());
  if (!m) throw new Error(`not a version: ${v}`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
};
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The subset of semver ranges package.json files use here: `||` of `^x.y.z`, `>=x.y.z`, `x.y.z`. */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split('||').some((clause) => {
    const c = clause.trim();
    if (c.startsWith('^')) {
      const lo = parse(c.slice(1));
      return v[0] === lo[0] && cmp(v, lo) >= 0;
    }
    if (c.startsWith('>=')) return cmp(v, parse(c.slice(2))) >= 0;
    if (c.startsWith('>')) return cmp(v, parse(c.slice(1))) > 0;
    return cmp(v, parse(c)) === 0;
  });
}

const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};
const engines = pkg.engines.node;
const ciMajors = (() => {
  const m = /^EXTRA_NODE_MAJORS="([\d ]+)"/m.exec(readFileSync(path.join(repo, '.ci', 'run'), 'utf8'));
  return (m?.[1] ?? '').split(' ').filter(Boolean).map(Number);
})();
/** The lowest release engines admits in each major it names. */
const floors = engines.split('||').map((c) => parse(c.trim().replace(/^(\^|>=)/, '')));

describe('engines.node', () => {
  it(`admits the Node running this suite (${process.version})`, () => {
    expect(satisfies(process.version, engines), `engines.node "${engines}"`).toBe(true);
  });

  it('names every major CI runs the suite on, and CI runs the suite on every major it names', () => {
    expect(ciMajors.length, '.ci/run: EXTRA_NODE_MAJORS').toBeGreaterThan(0);
    for (const major of ciMajors)
      expect(
        floors.map((f) => f[0]),
        `major ${major}`,
      ).toContain(major);
    for (const [major] of floors.slice(1)) expect(ciMajors, `engines names ${major}`).toContain(major);
  });

  it("is no looser than a runtime dependency's own engines", () => {
    for (const dep of Object.keys(pkg.dependencies)) {
      const own = (
        JSON.parse(readFileSync(path.join(repo, 'node_modules', dep, 'package.json'), 'utf8')) as {
          engines?: { node?: string };
        }
      ).engines?.node;
      if (!own) continue;
      for (const floor of floors) {
        const v = floor.join('.');
        expect(satisfies(v, own.replace(/\s+(?=\d)/g, '')), `${dep} wants node "${own}", engines admits ${v}`).toBe(
          true,
        );
      }
    }
  });
});
