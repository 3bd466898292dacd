/**
 * Request authentication between storage clients and a mediator gateway (HTTP on loopback or a private network).
 *
 * Each request carries `x-tclouds-client` (client id from spec.clients), `x-tclouds-time` (ms since the epoch),
 * `x-tclouds-nonce` (random hex) and `x-tclouds-mac` = HMAC-SHA256(k, method \n path \n time \n nonce \n
 * sha256(body)), with k = HKDF(X25519(gateway, client)) from runtime/channel-keys.ts (purpose "vector"): no secret
 * travels, keys differ per stack and per (gateway, client) pair. The gateway refuses requests older than 60 s
 * and nonces it has seen in that window (replays). Responses carry `x-tclouds-mac` over status, request nonce and
 * the body digest (header `x-tclouds-sha256`), so the client knows the answer came from the gateway.
 */
import { createHash, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { hmac, pairKey } from '../../runtime/channel-keys.js';

export const MAX_SKEW_MS = 60_000;
export const EMPTY_SHA256 = createHash('sha256').digest('hex');

export function requestMac(
  key: Buffer,
  method: string,
  path: string,
  time: string,
  nonce: string,
  bodySha: string,
): string {
  return hmac(key, Buffer.from(`${method}\n${path}\n${time}\n${nonce}\n${bodySha}`)).toString('hex');
}

export function responseMac(key: Buffer, status: number, nonce: string, bodySha: string): string {
  return hmac(key, Buffer.from(`response\n${status}\n${nonce}\n${bodySha}`)).toString('hex');
}

export function gatewayKey(
  own: KeyObject,
  peerPublic: string,
  stack: string,
  gatewayId: string,
  clientId: string,
): Buffer {
  return pairKey(own, peerPublic, 'vector', stack, gatewayId, clientId);
}

export function macEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

/** Replay guard: nonces seen within the skew window. */
export class NonceWindow {
  private readonly seen = new Map<string, number>();

  /** true when (time, nonce) is fresh; records it. */
  accept(nonce: string, time: number, now: number): boolean {
    if (!/^[0-9a-f]{32}$/.test(nonce) || Math.abs(now - time) > MAX_SKEW_MS) return false;
    for (const [n, t] of this.seen) if (now - t > 2 * MAX_SKEW_MS) this.seen.delete(n);
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, time);
    return true;
  }
}

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}
