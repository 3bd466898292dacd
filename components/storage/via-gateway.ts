/**
 * `tclouds storage put|get|ls|rm --via-gateway`: the same operations through a deployed gateway of the component
 * (mediator or appliance mode) instead of straight to the clouds, with the component's client key (X25519,
 * ./gateway-client.ts). Gateways are tried in order; the first that answers serves the call.
 */
import { ExitCode, isTcError, TcError } from '../../kernel/errors.js';
import { readPrivateKey } from '../../runtime/keys.js';
import { StorageCode } from './codes.js';
import { GatewayClient } from './gateway-client.js';
import { resolveStorage } from './resolve.js';

export interface ViaGateway {
  /** Runs `fn` on the first gateway that answers. */
  call<T>(fn: (c: GatewayClient) => Promise<T>): Promise<T & { gateway: string }>;
}

export async function openViaGateway(component: string, topology: string): Promise<ViaGateway> {
  const resolved = await resolveStorage(component, topology);
  const out = resolved.outputs?.components[component];
  const gateways = (out?.nodes ?? []).filter((n) => n.role === 'gateway' && n.ports.http !== undefined);
  const clientId = `client-${component}`;
  const clientKey = out?.clientKeys[clientId];
  if (gateways.length === 0 || !clientKey) {
    throw new TcError(StorageCode.noGateway, `storage component ${component} has no deployed gateway`, {
      exit: ExitCode.notFound,
      hint: 'gateways exist in mediator and appliance mode once deployed; without --via-gateway the command talks to the clouds',
    });
  }
  const privateKey = await readPrivateKey(clientKey.keyFile);
  const clients = gateways.map(
    (g) =>
      new GatewayClient({
        url: `http://${g.host.includes(':') ? `[${g.host}]` : g.host}:${g.ports.http}`,
        stack: resolved.stack,
        clientId,
        privateKey,
        gatewayId: g.id,
        gatewayPublicKey: g.publicKey,
      }),
  );
  return {
    async call(fn) {
      const failures: string[] = [];
      for (const c of clients) {
        try {
          return { ...(await fn(c)), gateway: c.opts.gatewayId };
        } catch (e) {
          if (isTcError(e)) throw e; // the gateway answered: its answer stands
          failures.push(`${c.opts.gatewayId}: ${(e as Error).message}`);
        }
      }
      throw new TcError(StorageCode.gatewayUnreachable, `no gateway of ${component} answered`, {
        exit: ExitCode.unavailable,
        hint: `check the gateways with tclouds status (${failures.join('; ')})`,
      });
    },
  };
}
