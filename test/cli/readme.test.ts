/**
 * The README is the first thing a user runs: every `tclouds ...` line in its shell blocks names a command that
 * exists in this build, and commands appear in the order a user meets them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repo } from '../support/cli.js';

const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');

/** Command ids of the build (`storage put`), from dist/commands. */
function commandIds(): Set<string> {
  const root = path.join(repo, 'dist', 'commands');
  const ids = new Set<string>();
  const walk = (dir: string, prefix: string[]) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name), [...prefix, e.name]);
      else if (e.name.endsWith('.js')) ids.add([...prefix, e.name.slice(0, -3)].join(' '));
    }
  };
  walk(root, []);
  return ids;
}

/** Every `tclouds ...` invocation in the README's sh blocks, with its line number. */
function invocations(): { line: number; words: string[] }[] {
  const out: { line: number; words: string[] }[] = [];
  let block: string | null = null; // the language of the fenced block we are in, '' for none given
  readme.split('\n').forEach((text, i) => {
    const fence = /^```(\w*)/.exec(text);
    if (fence) {
      block = block === null ? (fence[1] ?? '') : null;
      return;
    }
    if (block !== 'sh' && block !== 'bash' && block !== '') return;
    for (const part of text.replace(/#.*$/, '').split(/&&|\|\||;|\|/)) {
      const m = /^\s*(?:npx\s+)?tclouds\s+(.*)$/.exec(part);
      if (m) out.push({ line: i + 1, words: (m[1] ?? '').trim().split(/\s+/) });
    }
  });
  return out;
}

describe('README', () => {
  let ids = new Set<string>();
  beforeAll(() => {
    if (!existsSync(path.join(repo, 'dist', 'commands'))) throw new Error('build first: npm run build');
    ids = commandIds();
  });

  it('every tclouds command in a shell block exists', () => {
    const found = invocations();
    expect(found.length).toBeGreaterThan(30);
    const unknown = found.filter(({ words }) => {
      const two = words.slice(0, 2).join(' ');
      const three = words.slice(0, 3).join(' '); // topics of topics: `storage credentials create`
      return !ids.has(three) && !ids.has(two) && !ids.has(words[0] ?? '') && !(words[0] ?? '').startsWith('-');
    });
    expect(unknown.map((u) => `README.md:${u.line}: tclouds ${u.words.join(' ')}`)).toEqual([]);
  });

  it('storage commands start with what works after a deploy: keygen is not the first one shown', () => {
    const storage = invocations().filter(({ words }) => words[0] === 'storage');
    expect(storage[0]?.words[1]).not.toBe('keygen');
    expect(readme).not.toMatch(/`tclouds storage keygen\\\|/);
  });
});
