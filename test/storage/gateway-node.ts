/**
 * One storage gateway node in this process, as the node host runs it, over whatever clouds its config names, and a
 * client ("alice", a key the gateway's spec accepts) of its private HTTP API. For tests of what a gateway reaches
 * with its configured credentials.
 */
import path from 'node:path';
import type { StorageGatewayConfigInput } from '../../components/storage/config.js';
import { GatewayClient } from '../../components/storage/gateway-client.js';
import { roles } from '../../components/storage/node.js';
import { generateNodeKey } from '../../runtime/keys.js';
import { JsonLogger } from '../../runtime/logger.js';
import { MetricsRegistry } from '../../runtime/metrics.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import type { RoleInstance } from '../../runtime/role.js';
import { freePort } from './s3-support.js';

export interface GatewayNode {
  role: RoleInstance;
  client: GatewayClient;
  /** Errors the role reported as fatal (a test expects none). */
  fatal: unknown[];
}

export async function startGatewayNode(o: {
  dir: string;
  keysDir: string;
  cloud: string;
  config: StorageGatewayConfigInput;
}): Promise<GatewayNode> {
  const gw = generateNodeKey();
  const alice = generateNodeKey();
  const port = await freePort();
  const spec: NodeSpec = {
    version: 1,
    stack: 'demo',
    component: 'vault',
    kind: 'storage',
    role: 'gateway',
    id: 'vault-gateway-0',
    index: 0,
    cloud: o.cloud,
    domain: 0,
    host: '127.0.0.1',
    ports: { http: port },
    controlPort: 0,
    peers: [],
    clients: { alice: alice.publicKey },
    dataDir: path.join(o.dir, 'gw-data'),
    keyFile: path.join(o.keysDir, 'gw.key'),
    publicKey: gw.publicKey,
    config: o.config as Record<string, unknown>,
    adminTokenFile: path.join(o.keysDir, 'admin.token'),
  };
  const fatal: unknown[] = [];
  const role = await roles.gateway!({
    spec,
    log: new JsonLogger([{ write: () => {} }]),
    metrics: new MetricsRegistry(),
    signal: new AbortController().signal,
    privateKey: gw.privateKey,
    fatal: (e) => fatal.push(e),
    audit: () => {},
  });
  const client = new GatewayClient({
    url: `http://127.0.0.1:${port}`,
    stack: 'demo',
    clientId: 'alice',
    privateKey: alice.privateKey,
    gatewayId: 'vault-gateway-0',
    gatewayPublicKey: gw.publicKey,
  });
  return { role, client, fatal };
}
