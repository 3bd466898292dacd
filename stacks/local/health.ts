/**
 * GET /health of a node's control server (runtime/role.ts, NodeHealth), with a short timeout, through the one
 * control client (runtime/control-client.ts): plain HTTP on the local target's loopback addresses, TLS pinned to the
 * node's certificate when one is given (cloud nodes).
 */
import { type ControlEndpoint, controlRequest } from '../../runtime/control-client.js';

export interface HealthProbe {
  ok: boolean;
  status?: string;
  body?: Record<string, unknown>;
  error?: string;
  /** The error that stopped the probe (a TcError when the node's certificate is not the pinned one: TC325). */
  failure?: unknown;
}

/** GET /health of a local node (plain HTTP on its loopback address). */
export function probeHealth(host: string, port: number, timeoutMs = 1000): Promise<HealthProbe> {
  return probeEndpoint({ id: `${host}:${port}`, host, controlPort: port }, timeoutMs);
}

/** GET /health of any node: pinned TLS when the endpoint has a certificate. Never rejects. */
export async function probeEndpoint(ep: ControlEndpoint, timeoutMs = 1000): Promise<HealthProbe> {
  try {
    const res = await controlRequest(ep, '/health', { method: 'GET', timeoutMs });
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(res.body) as Record<string, unknown>;
    } catch {}
    const status = typeof body?.status === 'string' ? body.status : undefined;
    return {
      ok: res.status === 200 && (status === undefined || status === 'ok' || status === 'degraded'),
      ...(status === undefined ? {} : { status }),
      ...(body === undefined ? {} : { body }),
    };
  } catch (e) {
    return { ok: false, error: (e as Error).message, failure: e };
  }
}
