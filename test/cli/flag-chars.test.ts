/**
 * Every short flag means one thing per command: oclif does not check that two flags of a command (or a flag and
 * another's alias) share a letter, and the second silently shadows the first (`log tail -f` is follow, so its
 * topology file is `--file` only). Read from the manifest the build writes (`npm run build`).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo } from '../support/cli.js';

const manifestFile = path.join(repo, 'oclif.manifest.json');

describe.skipIf(!existsSync(manifestFile))('short flags', () => {
  it('no command gives one letter to two flags', () => {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      commands: Record<string, { flags: Record<string, { char?: string; charAliases?: string[] }> }>;
    };
    const clashes: string[] = [];
    for (const [id, c] of Object.entries(manifest.commands)) {
      const owner = new Map<string, string>();
      for (const [name, f] of Object.entries(c.flags)) {
        for (const ch of [f.char, ...(f.charAliases ?? [])].filter((x): x is string => Boolean(x))) {
          const other = owner.get(ch);
          if (other) clashes.push(`${id}: -${ch} is --${other} and --${name}`);
          else owner.set(ch, name);
        }
      }
    }
    expect(clashes).toEqual([]);
  });
});
