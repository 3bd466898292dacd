/**
 * Data unit keys (seed L1008): writers share an Ed25519 signing key, readers hold only its verification key.
 * Files are PEM (PKCS8 private, SPKI public), written atomically with mode 0600. A private key file readable by
 * group or others is refused, like ssh does.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { StorageCode } from './codes.js';

export interface WriterKeyFiles {
  privateKey: string;
  publicKey: string;
}

/** Default key files of a storage component: `<stackDir>/keys/storage-<component>-writer.{key,pub}`. */
export function defaultKeyFiles(stackDir: string, component: string): WriterKeyFiles {
  const base = path.join(stackDir, 'keys', `storage-${component}-writer`);
  return { privateKey: `${base}.key`, publicKey: `${base}.pub` };
}

export async function generateWriterKeys(files: WriterKeyFiles, overwrite = false): Promise<{ publicKey: KeyObject }> {
  if (!overwrite) {
    for (const f of [files.privateKey, files.publicKey]) {
      const exists = await fs.stat(f).then(
        () => true,
        () => false,
      );
      if (exists) {
        throw new TcError(StorageCode.badKey, `key file ${f} already exists`, {
          exit: ExitCode.invalid,
          hint: 'a new key makes every data unit written with the old one unreadable; pass --force to replace it anyway',
        });
      }
    }
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  try {
    await writeFileAtomic(files.privateKey, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, {
      mode: 0o600,
    });
    await writeFileAtomic(files.publicKey, publicKey.export({ type: 'spki', format: 'pem' }) as string, {
      mode: 0o600,
    });
  } catch (e) {
    // An unwritable --out is a user error, not an internal one (TC000).
    throw new TcError(
      StorageCode.badKey,
      `cannot write key file ${files.privateKey}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      {
        exit: ExitCode.notFound,
        hint: 'pass --out with a path in a writable directory',
      },
    );
  }
  return { publicKey };
}

async function readKeyText(file: string, what: string): Promise<string> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > 64 * 1024) throw new Error('too large for a key file');
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new TcError(StorageCode.badKey, `cannot read ${what} ${file}: ${(e as Error).message}`, {
      exit: ExitCode.notFound,
      hint: 'create the keys with `tclouds storage keygen <component>` or pass --key/--pubkey',
    });
  }
}

function badKey(file: string, why: string): TcError {
  return new TcError(StorageCode.badKey, `${file} is not an Ed25519 ${why}`, {
    exit: ExitCode.invalid,
    hint: 'storage keys come from `tclouds storage keygen` (PEM, Ed25519)',
  });
}

export async function readSigningKey(file: string): Promise<KeyObject> {
  const text = await readKeyText(file, 'writer key');
  const st = await fs.stat(file);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new TcError(
      StorageCode.badKey,
      `writer key ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)})`,
      {
        exit: ExitCode.invalid,
        hint: `chmod 600 ${file}`,
      },
    );
  }
  return ed25519Key(text, file, 'private key', createPrivateKey);
}

/** Verification key from a public key file, or derived from a private key file. */
export async function readVerifyKey(file: string): Promise<KeyObject> {
  const text = await readKeyText(file, 'verification key');
  return ed25519Key(text, file, 'public key', createPublicKey);
}

/** Parse a PEM key with `parse`; anything unparsable or not Ed25519 is a bad key. */
function ed25519Key(
  text: string,
  file: string,
  what: 'private key' | 'public key',
  parse: (pem: string) => KeyObject,
): KeyObject {
  let key: KeyObject;
  try {
    key = parse(text);
  } catch {
    throw badKey(file, what);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw badKey(file, what);
  return key;
}

/** Hex fingerprint of a verification key (first 16 bytes of SHA-256 over the raw SPKI). */
export function fingerprint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Default writer id: stable per (key, machine, user), different between machines sharing the key, so versions of
 * concurrent writers get different file names (DS-19). Override with --writer-id.
 */
export function defaultWriterId(publicKey: KeyObject): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .update(`\n${os.hostname()}\n${uid}`)
    .digest('hex')
    .slice(0, 12);
}
