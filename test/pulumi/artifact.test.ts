/**
 * packArtifact: the tarball holds what `tclouds node run` needs (bin, dist, package.json, the runtime
 * dependencies, not the Pulumi SDKs), its SHA-256 and size are the file's, and packing twice gives the same bytes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packArtifact, REQUIRED_FILES } from '../../stacks/pulumi/artifact.js';
import { tempDir } from '../support/tmp.js';
import { sha256 } from './boot-support.js';
import { ROOT } from './plans.js';

describe('packArtifact', () => {
  beforeAll(() => {
    if (!REQUIRED_FILES.every((f) => spawnSync('test', ['-f', join(ROOT, f)]).status === 0)) {
      const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stderr}`);
    }
  }, 600_000);

  it('packs the build with its runtime dependencies, deterministically, with the checksum of the file', async () => {
    const dir = tempDir('tc-artifact-');
    const a = await packArtifact({ outDir: join(dir, 'one') });
    expect(a.path.startsWith(join(dir, 'one'))).toBe(true);
    const bytes = readFileSync(a.path);
    expect(a.sha256).toBe(sha256(bytes));
    expect(a.bytes).toBe(statSync(a.path).size);
    const list = spawnSync('tar', ['-tzf', a.path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(list.status).toBe(0);
    const names = new Set(list.stdout.trim().split('\n'));
    for (const f of REQUIRED_FILES) expect(names).toContain(`package/${f}`);
    for (const dep of ['@oclif/core', 'zod', 'yaml', 'jose'])
      expect(names).toContain(`package/node_modules/${dep}/package.json`);
    expect([...names].some((n) => n.startsWith('package/node_modules/@pulumi/'))).toBe(false);
    expect([...names].some((n) => n.includes('/.bin/'))).toBe(false);
    const again = await packArtifact({ outDir: join(dir, 'two') });
    expect(again.sha256).toBe(a.sha256);
  });
});
