/**
 * Per-node and per-client keys.
 *
 * Every node and client has one X25519 key pair generated at deploy time. Channel keys are never stored:
 * two parties derive their pairwise HMAC key from ECDH(own private, peer public) (runtime/channel-keys.ts),
 * so a spec only needs the peers' public keys. Private keys are PKCS8 PEM files written atomically with mode
 * 0600; public keys travel as base64url of the raw 32 bytes (the same form NodeSpec and outputs.json use).
 *
 * SMR clients also hold a second, Ed25519 key pair for signing requests (`clientAuth: signature`, `--sign`). It is
 * a separate key, never the X25519 one reused across algorithms: X25519 keys only ever do key agreement, Ed25519
 * keys only ever sign. Its private key lives next to the X25519 one (`keys/<client id>.sign.key`, PKCS8 PEM, 0600).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../kernel/atomic-file.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { NodeCode } from './codes.js';

/** DER prefix of an X25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
/** DER prefix of an Ed25519 SubjectPublicKeyInfo (OID 1.3.101.112); the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function generateNodeKey(): { privateKey: KeyObject; publicKey: string } {
  const { privateKey } = generateKeyPairSync('x25519');
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** base64url of the raw 32-byte X25519 public key of a private (or public) key. */
export function publicKeyOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32).toString('base64url');
}

/** Parses a base64url raw X25519 public key (as in NodeSpec.peers[].publicKey) into a KeyObject. */
export function publicKeyFromString(text: string, what = 'public key'): KeyObject {
  const raw = Buffer.from(text, 'base64url');
  if (raw.length !== 32 || raw.toString('base64url') !== text.replace(/=+$/, '')) {
    throw new TcError(NodeCode.badKey, `${what} is not a base64url raw 32-byte X25519 key`, {
      exit: ExitCode.invalid,
      hint: 'Public keys in specs and outputs.json are written by `tclouds deploy`; redeploy to regenerate them.',
    });
  }
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A fresh Ed25519 signing key pair (SMR client request signatures). */
export function generateSigningKey(): { privateKey: KeyObject; publicKey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey: signingPublicKeyOf(privateKey) };
}

/** base64url of the raw 32-byte Ed25519 public key of a private (or public) signing key. */
export function signingPublicKeyOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') {
    throw new TcError(
      NodeCode.badSigningKey,
      `a ${pub.asymmetricKeyType ?? 'unknown'} key is not an Ed25519 signing key`,
      {
        exit: ExitCode.invalid,
      },
    );
  }
  const der = pub.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32).toString('base64url');
}

/** Parses a base64url raw Ed25519 public key (as in NodeSpec.clientSigners) into a KeyObject. */
export function signingPublicKeyFromString(text: string, what = 'signing public key'): KeyObject {
  const raw = typeof text === 'string' ? Buffer.from(text, 'base64url') : Buffer.alloc(0);
  if (raw.length !== 32 || raw.toString('base64url') !== String(text).replace(/=+$/, '')) {
    throw new TcError(NodeCode.badSigningKey, `${what} is not a base64url raw 32-byte Ed25519 key`, {
      exit: ExitCode.invalid,
      hint: 'Signing public keys in specs and outputs.json are written by `tclouds deploy`; redeploy to regenerate them.',
    });
  }
  // OpenSSL takes any 32 bytes here (the point is only decoded when verifying): a key that is not a curve point
  // simply verifies nothing.
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** Writes an Ed25519 signing key as PKCS8 PEM, atomically, mode 0600. */
export async function writeSigningKey(file: string, key: KeyObject): Promise<void> {
  await writeKeyPem(file, key, 'ed25519', 'signing keys');
}

/** Reads an Ed25519 signing key (PKCS8 PEM); refused like readPrivateKey when other users can access the file. */
export async function readSigningKey(file: string): Promise<KeyObject> {
  return readKeyPem(file, {
    type: 'ed25519',
    code: NodeCode.badSigningKey,
    what: 'signing key file',
    missing:
      'Signing keys are created by `tclouds deploy` next to the client key (keys/<client>.sign.key); redeploy to create it.',
    format: 'Signing keys are Ed25519 PKCS8 PEM files written by `tclouds deploy`.',
  });
}

export async function writePrivateKey(file: string, key: KeyObject): Promise<void> {
  await writeKeyPem(file, key, 'x25519', 'node keys');
}

/** A private key of the given algorithm as PKCS8 PEM, written atomically with mode 0600. */
async function writeKeyPem(file: string, key: KeyObject, type: 'x25519' | 'ed25519', what: string): Promise<void> {
  if (key.type !== 'private' || key.asymmetricKeyType !== type) {
    const name = type === 'x25519' ? 'X25519' : 'Ed25519';
    throw new TcError(NodeCode.wrongKeyType, `only ${name} private keys can be written as ${what}`, {
      exit: ExitCode.invalid,
    });
  }
  const pem = key.export({ type: 'pkcs8', format: 'pem' });
  await writeFileAtomic(file, pem, { mode: 0o600, mkdir: true });
}

/**
 * The text of a key or token file; a missing or unreadable one is a TcError naming `what`, the file and why. A file
 * that other users may read or write is refused, as ssh refuses such keys: a key others can read is no secret, and
 * one they can write lets them impersonate this node or client.
 */
async function readSecretFile(file: string, what: string, hint?: string): Promise<string> {
  try {
    const handle = await fs.open(file, 'r');
    try {
      const st = await handle.stat();
      if ((st.mode & 0o077) !== 0) {
        throw new TcError(
          NodeCode.keyExposed,
          `${what} ${file} is accessible by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`,
          { exit: ExitCode.invalid, hint: `restrict it: chmod 600 ${file}`, location: { file } },
        );
      }
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof TcError) throw e;
    throw new TcError(
      NodeCode.keyMissing,
      `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      {
        exit: ExitCode.notFound,
        ...(hint === undefined ? {} : { hint }),
        location: { file },
      },
    );
  }
}

export async function readPrivateKey(file: string): Promise<KeyObject> {
  return readKeyPem(file, {
    type: 'x25519',
    code: NodeCode.badKey,
    what: 'key file',
    missing: 'Key files are created by `tclouds deploy`; check the path in the node spec or redeploy.',
    format: 'Node and client keys are X25519 PKCS8 PEM files written by `tclouds deploy`.',
  });
}

/** A private key file of one algorithm: readable only by its owner, PKCS8 PEM, of the expected type. */
async function readKeyPem(
  file: string,
  o: { type: 'x25519' | 'ed25519'; code: string; what: string; missing: string; format: string },
): Promise<KeyObject> {
  const text = await readSecretFile(file, o.what, o.missing);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw new TcError(o.code, `${o.what} ${file} is not a PKCS8 PEM private key`, {
      exit: ExitCode.invalid,
      hint: o.format,
      location: { file },
    });
  }
  if (key.asymmetricKeyType !== o.type) {
    const name = o.type === 'x25519' ? 'X25519' : 'Ed25519';
    throw new TcError(o.code, `${o.what} ${file} holds a ${key.asymmetricKeyType ?? 'unknown'} key, not ${name}`, {
      exit: ExitCode.invalid,
      location: { file },
    });
  }
  return key;
}

/** Returns the stack's admin token, creating it (32 random bytes, hex, 0600) on first use. */
export async function ensureAdminToken(file: string): Promise<string> {
  // Only a missing file is created: an existing one that is unreadable, exposed or malformed is an error to fix,
  // never silently replaced (running nodes hold the old token).
  const exists = await fs.stat(file).then(
    () => true,
    () => false,
  );
  if (exists) return readAdminToken(file);
  const token = randomBytes(32).toString('hex');
  await writeFileAtomic(file, `${token}\n`, { mode: 0o600, mkdir: true });
  // Two concurrent deploys could both have created one; whoever renamed last wins, so re-read.
  return readAdminToken(file);
}

export async function readAdminToken(file: string): Promise<string> {
  const text = await readSecretFile(file, 'admin token file');
  const token = text.trim();
  if (!/^[0-9a-f]{64}$/.test(token)) {
    throw new TcError(NodeCode.badKey, `admin token file ${file} does not hold a 64-hex-digit token`, {
      exit: ExitCode.invalid,
      location: { file },
    });
  }
  return token;
}
