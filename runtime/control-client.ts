/**
 * The one client of a node's control port (runtime/control-server.ts), for everything on the operator's machine
 * that calls it: status probes, local and cloud rollouts, chaos. A node with a pinned certificate is spoken to over
 * TLS trusting that certificate alone: never the system's certificate authorities, never without verification,
 * and the bearer token is sent only once the handshake proved the pin. A node without one (local target, 127.x)
 * is plain HTTP.
 *
 * Connection failures stay plain errors carrying their errno code (ECONNREFUSED, timeout), which callers turn into
 * "down" or "not running"; a certificate that is not the pinned one is TC325, naming the node.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { ExitCode, TcError } from '../kernel/errors.js';
import { ControlPortCode, isLoopbackHost, loadPin, type PinnedCert } from './control-tls.js';
import { readAdminToken } from './keys.js';
import type { NodeOutput } from './node-spec.js';

/** Where one node's control port is, and how it is secured. */
export interface ControlEndpoint {
  id: string;
  host: string;
  controlPort: number;
  /** The pinned certificate (cloud nodes); absent: plain HTTP (loopback only). */
  tls?: PinnedCert;
}

export interface ControlRequestOptions {
  method?: 'GET' | 'POST';
  /** The node's admin bearer token (POST /admin/*). Never logged, never sent before a pinned handshake. */
  token?: string;
  /** JSON body (POST). */
  body?: unknown;
  /** Bound on the whole request (connect, handshake, answer), not only on idle time. */
  timeoutMs: number;
  /** Largest answer read (default 1 MiB); a longer one fails the request. */
  maxBytes?: number;
}

/** Default bound on an answer of the control port (a /metrics page of a large node is well under it). */
const MAX_RESPONSE_BYTES = 1 << 20;

export interface ControlResponse {
  status: number;
  body: string;
}

/** OpenSSL's verification errors when the peer is not the pinned certificate (or not that certificate's key). */
const PIN_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TC_PIN',
]);

/** The certificate's fingerprint as control-tls.ts writes it (lower-case hex, no colons). */
function fingerprintOfPeer(cert: PeerCertificate): string {
  return (cert.fingerprint256 ?? '').replace(/:/g, '').toLowerCase();
}

function pinError(ep: ControlEndpoint, why: string): TcError {
  return new TcError(
    ControlPortCode.pinMismatch,
    `node ${ep.id} (${ep.host}:${ep.controlPort}) is not the node this stack deployed: ${why}`,
    {
      exit: ExitCode.failure,
      hint: `its control port must present the certificate pinned in the stack directory (sha256 ${ep.tls?.sha256.slice(0, 16)}…); if the node was redeployed from another machine, deploy again from this one; otherwise something else answers at that address`,
    },
  );
}

/** A token would leave this machine in clear: refused before any connection. */
function plainTokenError(ep: ControlEndpoint): TcError {
  return new TcError(
    ControlPortCode.plainOnNetwork,
    `node ${ep.id} (${ep.host}:${ep.controlPort}) has no pinned certificate: its admin token would cross the network in clear`,
    {
      exit: ExitCode.invalid,
      hint: 'cloud nodes get a control certificate at deploy (outputs.json nodes[].controlTls); deploy again with this tclouds',
    },
  );
}

/** One request to a node's control port; resolves with any HTTP status, rejects on connection or pin failures. */
export function controlRequest(
  ep: ControlEndpoint,
  path: string,
  opts: ControlRequestOptions,
): Promise<ControlResponse> {
  if (opts.token !== undefined && !ep.tls && !isLoopbackHost(ep.host)) return Promise.reject(plainTokenError(ep));
  const data = opts.body === undefined ? '' : JSON.stringify(opts.body);
  const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(data) };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const base = {
    host: ep.host,
    port: ep.controlPort,
    path,
    method: opts.method ?? (opts.body === undefined && opts.token === undefined ? 'GET' : 'POST'),
    agent: false as const,
    timeout: opts.timeoutMs,
    headers,
  };
  const pin = ep.tls;
  return new Promise((resolve, reject) => {
    const maxBytes = opts.maxBytes ?? MAX_RESPONSE_BYTES;
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) req.destroy(new Error('response too large'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = pin
      ? https.request(
          {
            ...base,
            // The pinned certificate is the only trust anchor; the system CAs are not consulted.
            ca: [pin.cert],
            rejectUnauthorized: true,
            minVersion: 'TLSv1.3',
            // Addresses change with the cloud; the pin does not: the certificate itself is what is checked.
            checkServerIdentity: (_host, cert) => {
              if (fingerprintOfPeer(cert) === pin.sha256) return undefined;
              return Object.assign(new Error('certificate is not the pinned one'), { code: 'ERR_TC_PIN' });
            },
          },
          onResponse,
        )
      : http.request(base, onResponse);
    // agent: false above: one short-lived connection per request, so a paused node never poisons a pooled socket.
    const timedOut = () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    const timer = setTimeout(timedOut, opts.timeoutMs);
    req.on('timeout', timedOut);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (pin && e.code && PIN_ERRORS.has(e.code)) return reject(pinError(ep, e.message));
      if (pin && /wrong version number|packet length too long|EPROTO/i.test(`${e.code} ${e.message}`)) {
        return reject(pinError(ep, 'its control port does not speak TLS'));
      }
      reject(e);
    });
    req.end(data);
  });
}

/** How to reach one node of a deployment's outputs: its address, and its pinned certificate if it has one (TC324). */
export async function controlEndpointOf(node: NodeOutput): Promise<ControlEndpoint> {
  const tls = await loadPin(node.id, node.controlTls);
  return { id: node.id, host: node.host, controlPort: node.controlPort, ...(tls ? { tls } : {}) };
}

/** A node's own admin token on the operator's machine (cloud nodes): `<stackDir>/keys/<node>.admin.token` (0600). */
export function nodeAdminTokenFile(stackDir: string, nodeId: string): string {
  return path.join(stackDir, 'keys', `${nodeId}.admin.token`);
}

/** The stack-wide admin token of the local target: `<stackDir>/keys/admin.token` (0600). */
export function stackAdminTokenFile(stackDir: string): string {
  return path.join(stackDir, 'keys', 'admin.token');
}

/**
 * The bearer token a caller sends to one node: the node's own when it has one (cloud nodes refuse any other), else
 * the stack's (local target). The one place every admin caller gets a token from; TC328 when neither exists.
 */
export async function adminTokenFor(stackDir: string, nodeId: string): Promise<string> {
  const own = nodeAdminTokenFile(stackDir, nodeId);
  if (existsSync(own)) return readAdminToken(own);
  const shared = stackAdminTokenFile(stackDir);
  if (existsSync(shared)) return readAdminToken(shared);
  throw new TcError(
    ControlPortCode.noAdminToken,
    `no admin token for node ${nodeId}: neither ${own} nor ${shared} exists`,
    {
      exit: ExitCode.notFound,
      hint: 'admin tokens are written by `tclouds deploy` in the stack directory; run commands from the machine and directory that deployed, or deploy again',
    },
  );
}
