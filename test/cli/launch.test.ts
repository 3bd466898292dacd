/** The command-manifest cache of cli/launch.ts: fresh when nothing changed, dropped when a command changes. */
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commandsFingerprint, ensureFreshManifest, MANIFEST_FILE } from '../../cli/launch.js';
import { tempDir } from '../support/tmp.js';

let root: string;
beforeAll(() => {
  root = tempDir('tclouds-launch-');
  mkdirSync(path.join(root, 'dist', 'commands', 'topic'), { recursive: true });
  mkdirSync(path.join(root, 'dist', 'cli'), { recursive: true });
  writeFileSync(path.join(root, 'dist', 'commands', 'a.js'), 'export default 1;\n');
  writeFileSync(path.join(root, 'dist', 'commands', 'topic', 'b.js'), 'export default 2;\n');
  writeFileSync(path.join(root, 'dist', 'cli', 'flags.js'), 'export const x = 1;\n');
});

function writeManifest(fingerprint: string, version = '1.0.0'): void {
  writeFileSync(
    path.join(root, MANIFEST_FILE),
    JSON.stringify({ commands: {}, version, tcloudsFingerprint: fingerprint }),
  );
}

describe('command manifest freshness', () => {
  it('counts command files and is stable while nothing changes', async () => {
    const a = await commandsFingerprint(root, '1.0.0');
    expect(a.commands).toBe(2);
    expect(await commandsFingerprint(root, '1.0.0')).toEqual(a);
    expect((await commandsFingerprint(root, '1.0.1')).id).not.toBe(a.id);
  });

  it('a manifest with the current fingerprint is used as is', async () => {
    const { id } = await commandsFingerprint(root, '1.0.0');
    writeManifest(id);
    expect((await ensureFreshManifest(root, '1.0.0')).fresh).toBe(true);
    expect(existsSync(path.join(root, MANIFEST_FILE))).toBe(true);
  });

  it('a changed command file, a new command or a changed cli helper makes it stale and removes it', async () => {
    const changes = [
      () => writeFileSync(path.join(root, 'dist', 'commands', 'a.js'), 'export default 11;\n'),
      () => writeFileSync(path.join(root, 'dist', 'commands', 'topic', 'c.js'), 'export default 3;\n'),
      () => utimesSync(path.join(root, 'dist', 'cli', 'flags.js'), new Date(), new Date(Date.now() + 5000)),
    ];
    for (const change of changes) {
      const { id } = await commandsFingerprint(root, '1.0.0');
      writeManifest(id);
      change();
      const r = await ensureFreshManifest(root, '1.0.0');
      expect(r.fresh).toBe(false);
      expect(r.fingerprint).not.toBe(id);
      expect(existsSync(path.join(root, MANIFEST_FILE))).toBe(false);
    }
  });

  it('a manifest without our fingerprint (e.g. from `oclif manifest`) is not trusted', async () => {
    writeFileSync(path.join(root, MANIFEST_FILE), JSON.stringify({ commands: {}, version: '1.0.0' }));
    expect((await ensureFreshManifest(root, '1.0.0')).fresh).toBe(false);
  });
});
