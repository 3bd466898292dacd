/**
 * The mediator gateway role on loopback: a real HTTP server over four local-directory clouds, driven by the
 * authenticated gateway client. Unauthenticated, foreign-key and replayed requests are refused.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_SHA256, gatewayKey, requestMac } from '../../components/storage/gateway-auth.js';
import { GatewayClient } from '../../components/storage/gateway-client.js';
import { generateWriterKeys } from '../../components/storage/keys.js';
import { roles } from '../../components/storage/node.js';
import { generateNodeKey } from '../../runtime/keys.js';
import { JsonLogger } from '../../runtime/logger.js';
import { MetricsRegistry } from '../../runtime/metrics.js';
import type { NodeSpec } from '../../runtime/node-spec.js';
import type { RoleInstance } from '../../runtime/role.js';
import { pattern, tempDir } from './support.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let tmp: { dir: string; cleanup: () => Promise<void> };
let role: RoleInstance;
const fatalReports: unknown[] = [];
let port: number;
const gw = generateNodeKey();
const alice = generateNodeKey();
const mallory = generateNodeKey();

const audited: { type: string; msg: string }[] = [];

beforeAll(async () => {
  tmp = await tempDir('tclouds-gateway-');
  port = await freePort();
  const keysDir = path.join(tmp.dir, 'keys');
  await generateWriterKeys({
    privateKey: path.join(keysDir, 'storage-vault-writer.key'),
    publicKey: path.join(keysDir, 'storage-vault-writer.pub'),
  });
  const clouds = ['l1', 'l2', 'l3', 'l4'];
  const spec: NodeSpec = {
    version: 1,
    stack: 'demo',
    component: 'vault',
    kind: 'storage',
    role: 'gateway',
    id: 'vault-gateway-0',
    index: 0,
    cloud: 'l1',
    domain: 0,
    host: '127.0.0.1',
    ports: { http: port },
    controlPort: 0,
    peers: [],
    clients: { alice: alice.publicKey },
    dataDir: path.join(tmp.dir, 'data'),
    keyFile: path.join(keysDir, 'vault-gateway-0.key'),
    publicKey: gw.publicKey,
    config: {
      protocol: 'depsky-ca',
      f: 1,
      n: 4,
      clouds,
      buckets: Object.fromEntries(clouds.map((c) => [c, `demo-vault-${c}`])),
      bucketPaths: Object.fromEntries(clouds.map((c) => [c, path.join(tmp.dir, 'clouds', c)])),
    },
    adminTokenFile: path.join(keysDir, 'admin.token'),
  };
  role = await roles.gateway!({
    spec,
    log: new JsonLogger([{ write: () => {} }]),
    metrics: new MetricsRegistry(),
    signal: new AbortController().signal,
    privateKey: gw.privateKey,
    // A gateway has no invariant that may stop it here; any report fails the suite in afterAll.
    fatal: (e) => fatalReports.push(e),
    // What the node host hands a role when the topology names an audit log (runtime/audit.ts).
    audit: (type, msg) => audited.push({ type, msg }),
  });
});
afterAll(async () => {
  expect(fatalReports).toEqual([]);
  await role?.stop();
  await tmp?.cleanup();
});

const as = (id: string, key: ReturnType<typeof generateNodeKey>) =>
  new GatewayClient({
    url: `http://127.0.0.1:${port}`,
    stack: 'demo',
    clientId: id,
    privateKey: key.privateKey,
    gatewayId: 'vault-gateway-0',
    gatewayPublicKey: gw.publicKey,
  });

describe('storage gateway (mediator mode)', () => {
  it('serves put, get, ls and rm to an authenticated client', async () => {
    const c = as('alice', alice);
    for (const size of [0, 1, 1 << 20]) {
      const data = pattern(size, size + 3);
      const put = await c.put(`docs/${size}`, data);
      expect(put.version).toMatch(/^1\./);
      const got = await c.get(`docs/${size}`);
      expect(got.bytes.equals(Buffer.from(data))).toBe(true);
    }
    expect((await c.ls()).dataUnits).toEqual(['docs/0', 'docs/1', 'docs/1048576']);
    await c.rm('docs/1');
    await expect(c.get('docs/1')).rejects.toMatchObject({ code: 'TC202' });
    expect(role.health()).toMatchObject({ puts: 3, gets: 3, protocol: 'depsky-ca' });
    // Writes and deletes are audit events naming the client and the object.
    expect(audited.map((e) => e.type)).toEqual(['storage.write', 'storage.write', 'storage.write', 'storage.delete']);
    expect(audited[1]?.msg).toMatch(/^client alice wrote docs\/1 version 1\.\S+ \(1 bytes, clouds /);
    expect(audited[3]?.msg).toBe('client alice deleted docs/1');
  });

  it('refuses unknown clients, a client using another key, and replays', async () => {
    await expect(as('mallory', mallory).ls()).rejects.toMatchObject({ code: 'TC213' });
    await expect(as('alice', mallory).ls()).rejects.toMatchObject({ code: 'TC213' });
    // Without x-tclouds-client the request is an anonymous S3 request: refused with S3's AccessDenied.
    const res = await fetch(`http://127.0.0.1:${port}/v1/objects`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code>');
    // Replay: the same correctly signed request twice; the first is served, the copy refused.
    const key = gatewayKey(alice.privateKey, gw.publicKey, 'demo', 'vault-gateway-0', 'alice');
    const time = String(Date.now());
    const nonce = 'ab'.repeat(16);
    const headers = {
      'x-tclouds-client': 'alice',
      'x-tclouds-time': time,
      'x-tclouds-nonce': nonce,
      'x-tclouds-mac': requestMac(key, 'GET', '/v1/objects', time, nonce, EMPTY_SHA256),
    };
    expect((await fetch(`http://127.0.0.1:${port}/v1/objects`, { headers })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/v1/objects`, { headers })).status).toBe(401);
    // A stale timestamp is refused even with a fresh nonce and a valid MAC.
    const old = String(Date.now() - 10 * 60_000);
    const stale = {
      ...headers,
      'x-tclouds-time': old,
      'x-tclouds-nonce': 'cd'.repeat(16),
      'x-tclouds-mac': requestMac(key, 'GET', '/v1/objects', old, 'cd'.repeat(16), EMPTY_SHA256),
    };
    expect((await fetch(`http://127.0.0.1:${port}/v1/objects`, { headers: stale })).status).toBe(401);
  });
});
