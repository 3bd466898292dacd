/**
 * TLS of a node's control port. A cloud node's control port is reached from the operator's machine over the
 * internet (a rule for the declared client CIDRs), so the admin bearer token must never travel in cleartext: each
 * cloud node gets its own self-signed certificate (ECDSA P-256), made with the node's other keys on the operator's
 * machine and delivered to the VM through the provider's secret store, and every caller pins exactly that
 * certificate (its file in the stack directory, checked against the SHA-256 the deployment outputs name). No
 * certificate authority is involved and none is trusted: a pinned self-signed certificate is all the trust there is.
 *
 * The certificate is built here (a minimal X.509 v3 DER encoder): Node can verify and parse certificates but not
 * make them, and a library or the openssl binary would be a dependency for 80 lines of ASN.1.
 *
 * Local-target nodes bind 127.x and keep plain HTTP; a spec says which through `controlTls` (absent: plain HTTP,
 * which the node host allows only on a loopback address).
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { writeFileAtomic } from '../kernel/atomic-file.js';
import { ExitCode, TcError } from '../kernel/errors.js';

/**
 * Error codes of reaching a node's control port securely (a part of deploying: listed with the deploy codes in README section
 * `deploy`, and re-exported by stacks/codes.ts). Stable: scripts match on them.
 */
export const ControlPortCode = {
  /** The operator's pinned certificate of a node is missing, unreadable, or not the one the outputs name. Exit 4. */
  pinMissing: 'TC324',
  /** A node's control port presented a certificate other than the pinned one (or spoke no TLS). Exit 1. */
  pinMismatch: 'TC325',
  /** A node cannot load the TLS key and certificate its spec names (missing, damaged, or not the spec's). Exit 3. */
  nodeMaterial: 'TC326',
  /**
   * The admin token would travel in clear beyond loopback: a spec binds the control port to a non-loopback address
   * without TLS (the node refuses to start), or a caller has no pinned certificate for a non-loopback node.
   */
  plainOnNetwork: 'TC327',
  /** Neither the node's own admin token (keys/<node>.admin.token) nor the stack's (keys/admin.token) exists. Exit 4. */
  noAdminToken: 'TC328',
} as const;

/** What a node's spec says about its control port's TLS. */
export interface ControlTlsSpec {
  /** File (0600) with the node's PKCS8 private key and its certificate, both PEM. Never inlined in the spec. */
  file: string;
  /** Lower-case hex SHA-256 of the certificate's DER: the node refuses to serve with any other. */
  sha256: string;
}

/** What the operator's machine pins for one node (deployment outputs: `NodeOutput.controlTls`). */
export interface ControlTlsPin {
  /** The node's certificate (PEM), in the stack directory. */
  certFile: string;
  /** Lower-case hex SHA-256 of the certificate's DER. */
  sha256: string;
}

/** A loaded pin: the certificate text a client trusts alone, and its fingerprint. */
export interface PinnedCert {
  cert: string;
  sha256: string;
}

/** A node's control TLS material as the operator's machine keeps it. */
export interface ControlTlsMaterial {
  keyPem: string;
  certPem: string;
  sha256: string;
}

/** RFC 5280 §4.1.2.5: 99991231235959Z means "no well-defined expiration"; a pinned certificate is replaced, not expired. */
const NOT_AFTER = '99991231235959Z';
/** Started a day back, so a VM whose clock is behind still accepts its own certificate. */
const NOT_BEFORE_SLACK_MS = 24 * 3600 * 1000;
/** Serial number length (RFC 5280: at most 20 octets, positive). */
const SERIAL_BYTES = 16;

// --- minimal DER ---
function der(tag: number, body: Buffer): Buffer {
  const len = body.length;
  const head =
    len < 0x80
      ? Buffer.from([tag, len])
      : len < 0x100
        ? Buffer.from([tag, 0x81, len])
        : Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([head, body]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
const utf8 = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
const ctx = (n: number, body: Buffer) => der(0xa0 + n, body);
/** OIDs used here, pre-encoded (tag 06). */
const OID = {
  ecdsaWithSha256: Buffer.from('06082a8648ce3d040302', 'hex'),
  commonName: Buffer.from('0603550403', 'hex'),
  subjectAltName: Buffer.from('0603551d11', 'hex'),
};

function utcOrGeneralized(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  // UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5).
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(`${iso.slice(2)}Z`)) : der(0x18, Buffer.from(`${iso}Z`));
}

/** SubjectAltName: the node id as a DNS name (what a client may send as SNI; pinning does not depend on it). */
function altNames(nodeId: string): Buffer {
  const dns = der(0x82, Buffer.from(nodeId.toLowerCase(), 'ascii'));
  return ctx(3, seq(seq(OID.subjectAltName, der(0x04, seq(dns)))));
}

/** A fresh P-256 key and a self-signed certificate for `nodeId`'s control port. */
export function generateControlTls(nodeId: string, now = new Date()): ControlTlsMaterial {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serial = Buffer.from(createHash('sha256').update(nodeId).update(String(now.getTime())).digest());
  const serialBytes = serial.subarray(0, SERIAL_BYTES);
  serialBytes[0] = (serialBytes[0]! & 0x7f) | 0x40; // positive, and minimal DER (no leading zero octet)
  const name = seq(set(seq(OID.commonName, utf8(`tclouds control ${nodeId}`))));
  const algorithm = seq(OID.ecdsaWithSha256);
  const tbs = seq(
    ctx(0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, serialBytes),
    algorithm,
    name,
    seq(utcOrGeneralized(new Date(now.getTime() - NOT_BEFORE_SLACK_MS)), der(0x18, Buffer.from(NOT_AFTER))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    altNames(nodeId),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certDer = seq(tbs, algorithm, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const certPem = `-----BEGIN CERTIFICATE-----\n${certDer
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem,
    sha256: fingerprintOf(certPem),
  };
}

/** Lower-case hex SHA-256 of a PEM certificate's DER. Throws when the text is not a certificate. */
export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/** The one file a node reads: key then certificate, both PEM. */
export function controlTlsFileText(m: ControlTlsMaterial): string {
  return `${m.keyPem.trimEnd()}\n${m.certPem}`;
}

/** Where the operator's machine keeps a node's control TLS: key+certificate 0600, certificate alone for the pin. */
export function controlTlsFilesOf(stackDir: string, nodeId: string): { key: string; cert: string } {
  const dir = path.join(stackDir, 'keys');
  return { key: path.join(dir, `${nodeId}.control.key`), cert: path.join(dir, `${nodeId}.control.crt`) };
}

/**
 * Reads a node's control TLS material from the stack directory, creating it on first use (a stable certificate:
 * a new one on every deploy would change every node's secrets and restart every node).
 */
export async function ensureControlTls(stackDir: string, nodeId: string): Promise<ControlTlsMaterial> {
  const files = controlTlsFilesOf(stackDir, nodeId);
  const [keyPem, certPem] = await Promise.all([
    fs.readFile(files.key, 'utf8').catch(() => undefined),
    fs.readFile(files.cert, 'utf8').catch(() => undefined),
  ]);
  if (keyPem !== undefined && certPem !== undefined && keyMatchesCert(keyPem, certPem)) {
    return { keyPem, certPem, sha256: fingerprintOf(certPem) };
  }
  const m = generateControlTls(nodeId);
  await writeFileAtomic(files.key, m.keyPem, { mode: 0o600, mkdir: true });
  await writeFileAtomic(files.cert, m.certPem, { mode: 0o644, mkdir: true });
  return m;
}

function keyMatchesCert(keyPem: string, certPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** Splits a node's control TLS file into key and certificate, checked against the spec's fingerprint. */
export async function loadNodeControlTls(spec: ControlTlsSpec, nodeId: string): Promise<{ key: string; cert: string }> {
  const fail = (why: string, hint: string) =>
    new TcError(ControlPortCode.nodeMaterial, `node ${nodeId}: control TLS ${spec.file} ${why}`, {
      exit: ExitCode.invalid,
      hint,
      location: { file: spec.file },
    });
  const redeploy = 'it is written from the secret store at every start; deploy again so the secret and spec agree';
  const text = await fs.readFile(spec.file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw fail(`cannot be read (${e.code ?? e.message})`, redeploy);
  });
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(text)?.[0];
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
  if (!key || !cert) throw fail('does not hold a PEM private key and a PEM certificate', redeploy);
  let sha256: string;
  try {
    sha256 = fingerprintOf(cert);
  } catch {
    throw fail('holds a damaged certificate', redeploy);
  }
  if (sha256 !== spec.sha256)
    throw fail(`holds certificate ${sha256.slice(0, 16)}…, the spec names ${spec.sha256.slice(0, 16)}…`, redeploy);
  if (!keyMatchesCert(key, cert)) throw fail("holds a key that is not its certificate's", redeploy);
  return { key, cert };
}

/** Is `host` a loopback address (where plain HTTP carries the token no further than this machine)? */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * The pinned certificate of a node, from its outputs entry: undefined for a plain-HTTP node (local target); TC324
 * when the file is missing or is not the certificate the outputs name (a replaced file is never trusted).
 */
export async function loadPin(nodeId: string, pin: ControlTlsPin | undefined): Promise<PinnedCert | undefined> {
  if (!pin) return undefined;
  const hint = `the certificate is written by \`tclouds deploy\` beside the node's keys; deploy again from the machine that holds the stack directory`;
  const cert = await fs.readFile(pin.certFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new TcError(
      ControlPortCode.pinMissing,
      `no pinned control certificate for node ${nodeId}: ${pin.certFile} (${e.code ?? e.message})`,
      {
        exit: ExitCode.notFound,
        hint,
      },
    );
  });
  let sha256 = '';
  try {
    sha256 = fingerprintOf(cert);
  } catch {}
  if (sha256 !== pin.sha256) {
    throw new TcError(
      ControlPortCode.pinMissing,
      `the pinned control certificate of node ${nodeId} (${pin.certFile}) is not the one the deployment outputs name`,
      { exit: ExitCode.notFound, hint },
    );
  }
  return { cert, sha256 };
}
