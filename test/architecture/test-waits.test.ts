/**
 * Tests wait for events, not for time: a fixed pause long enough to matter (200 ms or more) is what fails on a
 * busy machine (load averages of 25-47 on CI) and wastes time on a quiet one. Polling loops with short pauses and
 * a generous deadline are fine; timing targets belong in bench/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo } from '../support/cli.js';

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'fixtures') out.push(...files(full));
    } else if (/\.tsx?$/.test(name)) out.push(full);
  }
  return out;
}

describe('test waits', () => {
  it('no test pauses for a fixed 200 ms or more', () => {
    const found: string[] = [];
    for (const file of files(path.join(repo, 'test'))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const m of line.matchAll(/(?:await sleep|await tick|setTimeout\(r,)\s*\(?\s*(\d[\d_]*)\)/g)) {
            if (Number(m[1]!.replaceAll('_', '')) >= 200)
              found.push(`${path.relative(repo, file)}:${i + 1}: ${line.trim()}`);
          }
        });
    }
    expect(found, 'wait for the event instead (with a generous deadline)').toEqual([]);
  });
});
