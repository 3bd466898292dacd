/**
 * The folder rules of docs/architecture.md, read from the imports themselves: every static `from '...'` and
 * every `import('...')` with a literal specifier in the source folders (tests and benchmarks are outside the
 * rules). A failure names the file, the line and the import.
 *
 * - Folders form layers: a folder imports only folders below it (LAYERS), so there is no cycle between folders.
 * - `kernel/` imports nothing of ours; the folders below the CLI import neither oclif nor Ink nor React.
 * - `dashboard/` only observes: it never imports `chaos/`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Bottom first: each folder may import the folders before it in this list, and itself. */
const LAYERS = [
  'kernel',
  'topology',
  'placement',
  'runtime',
  'components',
  'stacks',
  'dashboard',
  'chaos',
  'cli',
  'commands',
] as const;
const UI_PACKAGES = ['@oclif/core', 'ink', 'ink-spinner', 'react'];
const NO_UI = ['kernel', 'topology', 'placement', 'runtime', 'components', 'stacks'];

interface ImportSite {
  file: string;
  line: number;
  specifier: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(full);
  }
  return out;
}

function importsOf(file: string): ImportSite[] {
  const text = readFileSync(file, 'utf8');
  const sites: ImportSite[] = [];
  const patterns = [
    /\bfrom\s+'([^']+)'/g,
    /\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)?'([^']+)'\s*\)/g,
    /^import\s+'([^']+)'/gm,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const line = text.slice(0, m.index).split('\n').length;
      sites.push({ file: path.relative(ROOT, file), line, specifier: m[1]! });
    }
  }
  return sites;
}

/** The top folder a relative import lands in, or undefined for a package. */
function targetFolder(site: ImportSite): string | undefined {
  if (!site.specifier.startsWith('.')) return undefined;
  const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(site.file), site.specifier));
  return target.split(path.sep)[0];
}

const all = LAYERS.flatMap((folder) => sourceFiles(path.join(ROOT, folder)).flatMap(importsOf));
const where = (s: ImportSite) => `${s.file}:${s.line} imports '${s.specifier}'`;

describe('folder rules (docs/architecture.md)', () => {
  it('reads the imports of every source folder', () => {
    for (const folder of LAYERS) expect(all.some((s) => s.file.startsWith(`${folder}/`))).toBe(true);
  });

  it('a folder imports only folders below it', () => {
    const rank = new Map<string, number>(LAYERS.map((f, i) => [f, i]));
    const broken = all.filter((s) => {
      const from = rank.get(s.file.split('/')[0]!)!;
      const to = targetFolder(s);
      if (to === undefined) return false;
      const target = rank.get(to);
      return target === undefined || target > from;
    });
    expect(broken.map(where)).toEqual([]);
  });

  it('kernel/ imports nothing of ours outside itself', () => {
    const broken = all.filter((s) => s.file.startsWith('kernel/') && s.specifier.startsWith('..'));
    expect(broken.map(where)).toEqual([]);
  });

  it('only the dashboard, cli and commands import oclif, Ink or React', () => {
    const broken = all.filter(
      (s) =>
        NO_UI.includes(s.file.split('/')[0]!) &&
        UI_PACKAGES.some((p) => s.specifier === p || s.specifier.startsWith(`${p}/`)),
    );
    expect(broken.map(where)).toEqual([]);
  });

  it('the dashboard never imports chaos', () => {
    const broken = all.filter((s) => s.file.startsWith('dashboard/') && targetFolder(s) === 'chaos');
    expect(broken.map(where)).toEqual([]);
  });
});
