/**
 * The stacks tests deploy (test/support/stacks.ts) never share a 127.A block with a user's stack or with each
 * other, and every suite that deploys uses one of them and destroys it in an after-hook, which runs also when a
 * test or the setup failed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stackSlot } from '../../stacks/local/addresses.js';
import { NAME_PATTERN } from '../../topology/schema.js';
import { repo } from './cli.js';
import { TEST_STACK_PREFIX, TEST_STACKS, USER_STACKS } from './stacks.js';

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'fixtures') out.push(...testFiles(full));
    } else if (/\.test\.tsx?$/.test(name)) out.push(full);
  }
  return out;
}

describe('test stacks', () => {
  it('are valid stack names with the test prefix, each in a 127.A block no user stack and no other test stack has', () => {
    const names = Object.values(TEST_STACKS);
    const userSlots = new Map(USER_STACKS.map((u) => [stackSlot(u), u]));
    const seen = new Map<number, string>();
    for (const name of names) {
      expect(name).toMatch(NAME_PATTERN);
      expect(name.startsWith(TEST_STACK_PREFIX)).toBe(true);
      const slot = stackSlot(name);
      expect(userSlots.get(slot), `${name} shares 127.${slot + 1}.x.x with a user stack`).toBeUndefined();
      expect(seen.get(slot), `${name} shares 127.${slot + 1}.x.x with another test stack`).toBeUndefined();
      seen.set(slot, name);
    }
  });

  it('every suite that deploys names its stack from TEST_STACKS and destroys it in an after-hook', () => {
    // A local deploy: `['deploy', ...]` without a cloud target (those go through Pulumi and bind nothing here).
    const self = fileURLToPath(import.meta.url);
    const deploying = testFiles(path.join(repo, 'test')).filter(
      (f) => f !== self && /\[\s*'deploy'(?![^\]]*'--target', '(aws|azure|gcp)')/.test(readFileSync(f, 'utf8')),
    );
    expect(deploying.length).toBeGreaterThanOrEqual(6);
    for (const file of deploying) {
      const text = readFileSync(file, 'utf8');
      const rel = path.relative(repo, file);
      expect(text, `${rel}: stack name not from TEST_STACKS`).toContain('TEST_STACKS.');
      expect(text, `${rel}: a literal --name`).not.toMatch(/'--name',\s*'/);
      expect(text, `${rel}: a literal stack name in a topology`).not.toMatch(/^name: [a-z]/m);
      expect(text, `${rel}: no destroy in an after-hook`).toMatch(/afterAll\([\s\S]*?'destroy'/);
    }
  });
});
