/**
 * The local-directory cloud's puts on real files: a put creates its container directory (and the root) when they
 * are missing, writes the object 0600 in whole writes, leaves no temporary file behind, and a put stopped before
 * its rename leaves nothing while the next one succeeds.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalDirectoryDriver } from '../../components/storage/drivers/local.js';
import { pattern, tempDir } from './support.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
});

describe('local-directory puts', () => {
  it('create the missing container and root, store 0600 files, leave no temporary files', async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const root = path.join(t.dir, 'root-not-made-yet');
    const d = new LocalDirectoryDriver('l1', root);
    const blocks = [0, 1, 2].map((i) => pattern(3 << 20, i + 1));
    await Promise.all(blocks.map((b, i) => d.put('du', `block${i}`, b, { deferDirectorySync: true })));
    await d.put('du', 'metadata', pattern(200, 9));
    for (const [i, b] of blocks.entries()) expect(Buffer.from((await d.get('du', `block${i}`))!).equals(b)).toBe(true);
    expect((await d.list('du')).sort()).toEqual(['block0', 'block1', 'block2', 'metadata']);
    expect((await fs.readdir(path.join(root, 'du'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await fs.stat(path.join(root, 'du', 'block0'))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.join(root, 'du'))).mode & 0o777).toBe(0o700);
    // The container removed behind the driver's back (a cloud that lost its data): the next put makes it again.
    await fs.rm(path.join(root, 'du'), { recursive: true });
    await d.put('du', 'metadata', pattern(200, 10));
    expect(await d.list('du')).toEqual(['metadata']);
  });

  it('a put stopped before its rename leaves nothing, and the next put succeeds', async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const d = new LocalDirectoryDriver('l1', t.dir);
    const stop = new AbortController();
    stop.abort(new Error('stopped'));
    await expect(d.put('du', 'block0', pattern(1 << 20, 3), { signal: stop.signal })).rejects.toThrow('stopped');
    expect(await fs.readdir(path.join(t.dir, 'du'))).toEqual([]);
    await d.put('du', 'metadata', pattern(10, 1));
    expect(await d.list('du')).toEqual(['metadata']);
  });
});
