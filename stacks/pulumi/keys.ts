/**
 * Key material handed to the Pulumi program: node private keys, storage writer keys and one admin token per node
 * (each delivered only to its node, through the provider's secret store), public keys (in every spec), and the SSH
 * key Azure insists on for its admin account.
 *
 * Deploy keeps keys stable across runs in `<stackDir>/keys/` (same layout as the local target; 0600): a new key on
 * every run would change every node's secrets and restart every node. The admin token of a cloud node is its own
 * (`keys/<node>.admin.token`): one cloud's nodes never hold the token of another's. So is its control port's TLS
 * key and certificate (`keys/<node>.control.key` 0600, `.control.crt`): callers pin that certificate. Preview uses throwaway keys:
 * the mock run shows secrets as "[secret]" anyway.
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Plan, PlannedKey } from '../../components/plan-types.js';
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import { nodeAdminTokenFile } from '../../runtime/control-client.js';
import { type ControlTlsMaterial, ensureControlTls, generateControlTls } from '../../runtime/control-tls.js';
import { ensureAdminToken, generateNodeKey, readPrivateKey } from '../../runtime/keys.js';
import {
  ensurePlannedKey,
  ensureSigningKey,
  ephemeralPublicKey,
  ephemeralSigningPublicKey,
  hasSigningKey,
  keyFileOf,
  rawPublicKey,
} from '../plan-keys.js';

export interface KeyMaterial {
  /** PKCS8 PEM per node id (only nodes; client keys stay on this machine). */
  privatePem: Record<string, string>;
  /** base64url raw X25519 public key per key id (nodes and clients). */
  publicKeys: Record<string, string>;
  /**
   * base64url raw Ed25519 public key per SMR client key id: the key the client signs requests with. Goes into the
   * replicas' specs (clientSigners); the private signing key stays on this machine like the client's X25519 key.
   */
  signingPublicKeys: Record<string, string>;
  /** One admin token per node id (64 hex digits): the bearer token of that node's control port, and of no other. */
  adminTokens: Record<string, string>;
  /** The control port's TLS key and self-signed certificate per node id (runtime/control-tls.ts; callers pin it). */
  controlTls: Record<string, ControlTlsMaterial>;
  /** PKCS8 PEM of the Ed25519 writer key per storage component (delivered to its gateways only). */
  writerPem: Record<string, string>;
  /** OpenSSH public key for the Azure admin account (password login is disabled; no inbound SSH rule exists). */
  sshPublicKey: string;
}

/** Admin tokens: 32 random bytes, hex (the form runtime/keys.ts reads). */
const ADMIN_TOKEN_BYTES = 32;

/** Every key the plan needs: one per node, plus the component keys (clients, storage writers). */
function plannedKeys(plan: Plan): PlannedKey[] {
  const out = new Map<string, PlannedKey>();
  for (const [name, c] of Object.entries(plan.components)) {
    for (const n of c.nodes) out.set(n.id, { id: n.id, kind: 'node', for: name });
    for (const k of c.keys) out.set(k.id, k);
  }
  return [...out.values()];
}

/** Client keys that get an Ed25519 signing key beside them (smr components). */
function signingKeys(plan: Plan): PlannedKey[] {
  return Object.values(plan.components).flatMap((c) => c.keys.filter((k) => hasSigningKey(k, c.kind)));
}

/** Key material with nothing in it yet, filled by the one who reads or makes the keys. */
export function emptyKeyMaterial(): KeyMaterial {
  return {
    privatePem: {},
    publicKeys: {},
    signingPublicKeys: {},
    adminTokens: {},
    controlTls: {},
    writerPem: {},
    sshPublicKey: '',
  };
}

/** Fresh keys that are never written anywhere (mock preview). */
export function ephemeralKeys(plan: Plan): KeyMaterial {
  const km = { ...emptyKeyMaterial(), sshPublicKey: 'ssh-rsa (generated at deploy time)' };
  for (const k of plannedKeys(plan)) {
    if (k.kind === 'storage-writer') {
      const pair = generateKeyPairSync('ed25519');
      km.publicKeys[k.id] = rawPublicKey(pair.publicKey);
      km.writerPem[k.for] = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      continue;
    }
    if (k.kind !== 'node') {
      km.publicKeys[k.id] = ephemeralPublicKey(k);
      continue;
    }
    km.adminTokens[k.id] = randomBytes(ADMIN_TOKEN_BYTES).toString('hex');
    km.controlTls[k.id] = generateControlTls(k.id);
    const { privateKey, publicKey } = generateNodeKey();
    km.publicKeys[k.id] = publicKey;
    km.privatePem[k.id] = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
  for (const k of signingKeys(plan)) km.signingPublicKeys[k.id] = ephemeralSigningPublicKey();
  return km;
}

/**
 * Reads the stack's keys from `<stackDir>/keys/`, creating the missing ones (0600, atomic), in the layout every
 * realizer shares (stacks/plan-keys.ts): the storage writer key is the Ed25519 key `tclouds storage` uses.
 */
export async function ensureKeys(plan: Plan, stackDir: string, provider: string): Promise<KeyMaterial> {
  const dir = join(stackDir, 'keys');
  const km = emptyKeyMaterial();
  for (const k of plannedKeys(plan)) {
    km.publicKeys[k.id] = (await ensurePlannedKey(stackDir, k)).publicKey;
    if (k.kind === 'storage-writer') km.writerPem[k.for] = await readPem(keyFileOf(stackDir, k));
    if (k.kind === 'node') {
      km.adminTokens[k.id] = await ensureAdminToken(adminTokenFileOf(stackDir, k.id));
      km.controlTls[k.id] = await ensureControlTls(stackDir, k.id);
      const key = await readPrivateKey(keyFileOf(stackDir, k));
      km.privatePem[k.id] = key.export({ type: 'pkcs8', format: 'pem' }) as string;
    }
  }
  for (const k of signingKeys(plan)) km.signingPublicKeys[k.id] = (await ensureSigningKey(stackDir, k)).publicKey;
  if (provider === 'azure') km.sshPublicKey = await ensureSshKey(join(dir, 'azure-admin-ssh.key'));
  return km;
}

/** The admin token of one cloud node on the operator's machine: `<stackDir>/keys/<node>.admin.token` (0600). */
export function adminTokenFileOf(stackDir: string, nodeId: string): string {
  return nodeAdminTokenFile(stackDir, nodeId);
}

/** A private key file as PEM text (ensurePlannedKey created it 0600 just before). */
async function readPem(file: string): Promise<string> {
  return fs.readFile(file, 'utf8');
}

/** RSA key for the Azure admin user: private part 0600 in the stack dir (break-glass only), public part returned. */
async function ensureSshKey(file: string): Promise<string> {
  let pem = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (pem === undefined) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await writeFileAtomic(file, pem, { mode: 0o600, mkdir: true });
  }
  return opensshRsaPublicKey(pem);
}

/** `ssh-rsa AAAA...` from a PEM RSA key (RFC 4253 wire format: string "ssh-rsa", mpint e, mpint n). */
export function opensshRsaPublicKey(pem: string): string {
  const jwk = createPublicKey(pem).export({ format: 'jwk' });
  const mpint = (b64u: string) => {
    let b = Buffer.from(b64u, 'base64url');
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return b;
  };
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([str(Buffer.from('ssh-rsa')), str(mpint(jwk.e!)), str(mpint(jwk.n!))]);
  return `ssh-rsa ${blob.toString('base64')} tclouds-admin`;
}
