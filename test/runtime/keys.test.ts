import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../kernel/errors.js';
import {
  ensureAdminToken,
  generateNodeKey,
  publicKeyOf,
  readAdminToken,
  readPrivateKey,
  writePrivateKey,
} from '../../runtime/keys.js';
import { rejectedTcError } from '../support/tc-error.js';
import { tempDir } from '../support/tmp.js';

describe('node keys and the admin token on disk', () => {
  it('writes keys 0600 and reads them back', async () => {
    const file = path.join(tempDir('tc-keys-'), 'keys', 'n0.key');
    const { privateKey, publicKey } = generateNodeKey();
    await writePrivateKey(file, privateKey);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(publicKeyOf(await readPrivateKey(file))).toBe(publicKey);
  });

  it('refuses a private key that other users can read, and says how to fix it', async () => {
    const file = path.join(tempDir('tc-keys-'), 'n0.key');
    await writePrivateKey(file, generateNodeKey().privateKey);
    chmodSync(file, 0o644);
    const e = await rejectedTcError(readPrivateKey(file));
    expect(e.code).toBe('TC404');
    expect(e.exit).toBe(ExitCode.invalid);
    expect(e.message).toContain('0644');
    expect(e.hint).toBe(`restrict it: chmod 600 ${file}`);
  });

  it('creates the admin token once, refuses an exposed one and never replaces it', async () => {
    const file = path.join(tempDir('tc-keys-'), 'keys', 'admin.token');
    const token = await ensureAdminToken(file);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(await ensureAdminToken(file)).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o640);
    expect((await rejectedTcError(readAdminToken(file))).code).toBe('TC404');
    expect((await rejectedTcError(ensureAdminToken(file))).code).toBe('TC404');
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
  });

  it('reports a missing key file as not found', async () => {
    const e = await rejectedTcError(readPrivateKey(path.join(tempDir('tc-keys-'), 'absent.key')));
    expect(e.code).toBe('TC403');
    expect(e.exit).toBe(ExitCode.notFound);
  });
});
