/**
 * Client of a storage gateway (./node.ts): signs each request with the client's X25519 key and checks the
 * gateway's response MAC and body digest, so a tampered or foreign answer is rejected (TC213).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { StorageCode } from './codes.js';
import { EMPTY_SHA256, gatewayKey, macEqual, newNonce, requestMac, responseMac } from './gateway-auth.js';

export interface GatewayClientOptions {
  /** e.g. http://127.0.0.1:7300 */
  url: string;
  stack: string;
  clientId: string;
  /** The client's X25519 private key. */
  privateKey: KeyObject;
  gatewayId: string;
  /** The gateway node's X25519 public key (base64url, as in deployment outputs). */
  gatewayPublicKey: string;
}

export class GatewayClient {
  private readonly key: Buffer;

  constructor(readonly opts: GatewayClientOptions) {
    this.key = gatewayKey(opts.privateKey, opts.gatewayPublicKey, opts.stack, opts.gatewayId, opts.clientId);
  }

  private async call(
    method: string,
    route: string,
    body?: Uint8Array,
  ): Promise<{ status: number; body: Buffer; version?: string }> {
    const time = String(Date.now());
    const nonce = newNonce();
    const sha = body ? createHash('sha256').update(body).digest('hex') : EMPTY_SHA256;
    const res = await fetch(`${this.opts.url}${route}`, {
      method,
      headers: {
        'x-tclouds-client': this.opts.clientId,
        'x-tclouds-time': time,
        'x-tclouds-nonce': nonce,
        'x-tclouds-mac': requestMac(this.key, method, route, time, nonce, sha),
      },
      ...(body ? { body } : {}),
    });
    const buf = Buffer.from(await res.arrayBuffer());
    const got = createHash('sha256').update(buf).digest('hex');
    const mac = res.headers.get('x-tclouds-mac') ?? '';
    if (
      res.status !== 401 &&
      (got !== res.headers.get('x-tclouds-sha256') || !macEqual(mac, responseMac(this.key, res.status, nonce, got)))
    ) {
      throw new TcError(StorageCode.gatewayAuth, `response of ${this.opts.gatewayId} failed authentication`, {
        exit: ExitCode.failure,
      });
    }
    const version = res.headers.get('x-tclouds-version') ?? undefined;
    return { status: res.status, body: buf, ...(version ? { version } : {}) };
  }

  private json<T>(r: { status: number; body: Buffer }): T {
    const doc = JSON.parse(r.body.toString('utf8')) as T & { error?: { code: string; message: string; hint?: string } };
    if (r.status >= 400 || doc.error) {
      const e = doc.error ?? { code: 'TC000', message: `HTTP ${r.status}` };
      throw new TcError(e.code, e.message, {
        exit: r.status === 404 ? ExitCode.notFound : r.status === 503 ? ExitCode.unavailable : ExitCode.failure,
        ...(e.hint ? { hint: e.hint } : {}),
      });
    }
    return doc;
  }

  async put(du: string, data: Uint8Array): Promise<{ version: string; size: number }> {
    return this.json(await this.call('PUT', `/v1/objects/${encodeURIComponent(du)}`, data));
  }

  async get(du: string): Promise<{ bytes: Buffer; version: string }> {
    const r = await this.call('GET', `/v1/objects/${encodeURIComponent(du)}`);
    if (r.status !== 200) this.json(r);
    return { bytes: r.body, version: r.version ?? '' };
  }

  async stat(du: string): Promise<{ version: string; protocol: 'depsky-a' | 'depsky-ca'; size: number }> {
    return this.json(await this.call('GET', `/v1/stat/${encodeURIComponent(du)}`));
  }

  async ls(): Promise<{ dataUnits: string[] }> {
    return this.json(await this.call('GET', '/v1/objects'));
  }

  async rm(du: string): Promise<{ removedFiles: number }> {
    return this.json(await this.call('DELETE', `/v1/objects/${encodeURIComponent(du)}`));
  }
}
