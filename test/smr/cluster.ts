/**
 * Test helper: a real n-replica SMR cluster in a temp dir, laid out like the local target
 * (.tclouds/<stack>/{keys,nodes/<id>/{spec.json,data},outputs.json}), on its own 127.x.y.z addresses.
 * Nodes run either in this process (startNode) or as real `node bin/run.js node run --spec` processes.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { rolesOf } from '../../components/kinds.js';
import { writeJsonAtomic } from '../../kernel/atomic-file.js';
import {
  ensureAdminToken,
  generateNodeKey,
  generateSigningKey,
  writePrivateKey,
  writeSigningKey,
} from '../../runtime/keys.js';
import { type RunningNode, startNode } from '../../runtime/node-host.js';
import type { DeploymentOutputs, NodeSpec } from '../../runtime/node-spec.js';
import { tempDir } from '../support/tmp.js';

export interface Cluster {
  dir: string;
  stackDir: string;
  stack: string;
  specs: NodeSpec[];
  specFiles: string[];
  token: string;
  component: string;
}

export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host, port: 0 }, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A replica of the test cluster, before its spec is written. */
interface ClusterNode {
  id: string;
  index: number;
  host: string;
  ports: { peer: number; client: number };
  controlPort: number;
  publicKey: string;
  keyFile: string;
}

/** n replicas on 127.net2.net3.(i+1), each with its key file and free ports. */
async function makeNodes(stackDir: string, component: string, n: number): Promise<ClusterNode[]> {
  const net2 = randomInt(1, 250);
  const net3 = randomInt(1, 200);
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < n; i++) {
    const host = `127.${net2}.${net3}.${i + 1}`;
    const id = `${component}-replica-${i}`;
    const k = generateNodeKey();
    const keyFile = path.join(stackDir, 'keys', `${id}.key`);
    await writePrivateKey(keyFile, k.privateKey);
    nodes.push({
      id,
      index: i,
      host,
      ports: { peer: await freePort(host), client: await freePort(host) },
      controlPort: await freePort(host),
      publicKey: k.publicKey,
      keyFile,
    });
  }
  return nodes;
}

/** `count` client identities, each with its X25519 key and, like a deploy, an Ed25519 request-signing key beside it. */
async function makeClients(stackDir: string, component: string, count: number) {
  const clientKeys: DeploymentOutputs['components'][string]['clientKeys'] = {};
  const clients: Record<string, string> = {};
  const clientSigners: Record<string, string> = {};
  for (let c = 0; c < count; c++) {
    const id = c === 0 ? `client-${component}` : `client-${component}-${c}`;
    const k = generateNodeKey();
    const keyFile = path.join(stackDir, 'keys', `${id}.key`);
    await writePrivateKey(keyFile, k.privateKey);
    const s = generateSigningKey();
    const signingKeyFile = path.join(stackDir, 'keys', `${id}.sign.key`);
    await writeSigningKey(signingKeyFile, s.privateKey);
    clientKeys[id] = { keyFile, publicKey: k.publicKey, signingKeyFile, signingPublicKey: s.publicKey };
    clients[id] = k.publicKey;
    clientSigners[id] = s.publicKey;
  }
  return { clientKeys, clients, clientSigners };
}

export async function makeCluster(
  opts: {
    n?: number;
    f?: number;
    config?: Record<string, unknown>;
    clients?: number;
    /** The component's client authentication (replica config and client config), as the plan sets it. */
    clientAuth?: 'mac' | 'signature';
    /** The fault model (replica config and client config); `crash` wants n = 2f+1. */
    faults?: 'byzantine' | 'crash';
  } = {},
): Promise<Cluster> {
  const n = opts.n ?? 4;
  const f = opts.f ?? 1;
  const dir = tempDir('tclouds-smr-');
  const stack = 'smrtest';
  const component = 'ledger';
  const stackDir = path.join(dir, '.tclouds', stack);
  const token = await ensureAdminToken(path.join(stackDir, 'keys', 'admin.token'));
  const nodes = await makeNodes(stackDir, component, n);
  const { clientKeys, clients, clientSigners } = await makeClients(stackDir, component, opts.clients ?? 1);
  const specs: NodeSpec[] = nodes.map((nd) => ({
    version: 1,
    stack,
    component,
    kind: 'smr',
    role: 'replica',
    id: nd.id,
    index: nd.index,
    cloud: `cloud${nd.index}`,
    domain: 0,
    host: nd.host,
    ports: nd.ports,
    controlPort: nd.controlPort,
    peers: nodes
      .filter((o) => o.id !== nd.id)
      .map((o) => ({
        id: o.id,
        role: 'replica',
        index: o.index,
        host: o.host,
        ports: o.ports,
        publicKey: o.publicKey,
      })),
    clients,
    clientSigners,
    dataDir: path.join(stackDir, 'nodes', nd.id, 'data'),
    keyFile: nd.keyFile,
    publicKey: nd.publicKey,
    config: {
      f,
      n,
      faults: opts.faults ?? 'byzantine',
      service: 'kv',
      batchSize: 400,
      checkpointPeriod: 50,
      clientAuth: opts.clientAuth ?? 'mac',
      ...opts.config,
    },
    adminTokenFile: path.join(stackDir, 'keys', 'admin.token'),
  }));
  const specFiles: string[] = [];
  for (const s of specs) {
    const file = path.join(stackDir, 'nodes', s.id, 'spec.json');
    await writeJsonAtomic(file, s);
    specFiles.push(file);
  }
  const outputs: DeploymentOutputs = {
    version: 1,
    stack,
    target: 'local',
    topologyFile: path.join(dir, 'tclouds.yaml'),
    planDigest: '0'.repeat(64),
    deployedAt: new Date().toISOString(),
    components: {
      [component]: {
        kind: 'smr',
        nodes: nodes.map((nd) => ({
          id: nd.id,
          role: 'replica',
          index: nd.index,
          host: nd.host,
          ports: nd.ports,
          publicKey: nd.publicKey,
          cloud: `cloud${nd.index}`,
          domain: 0,
          controlPort: nd.controlPort,
        })),
        buckets: [],
        client: { f, n, faults: opts.faults ?? 'byzantine', service: 'kv', clientAuth: opts.clientAuth ?? 'mac' },
        clientKeys,
      },
    },
  };
  await writeJsonAtomic(path.join(stackDir, 'outputs.json'), outputs);
  return { dir, stackDir, stack, specs, specFiles, token, component };
}

export async function startInProcess(c: Cluster): Promise<RunningNode[]> {
  return Promise.all(c.specFiles.map((f) => startNode(f, { stderr: false, roles: rolesOf })));
}

export const REPO = path.resolve(import.meta.dirname, '..', '..');

export function spawnNode(specFile: string): ChildProcess {
  return spawn(process.execPath, [path.join(REPO, 'bin', 'run.js'), 'node', 'run', '--spec', specFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
}

export async function waitHealthy(spec: NodeSpec, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://${spec.host}:${spec.controlPort}/health`);
      const h = (await r.json()) as Record<string, unknown>;
      if (h.status === 'ok') return h;
      last = h;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`node ${spec.id} not healthy: ${String(last)}`);
}

/**
 * Waits until every replica reports (GET /health) that it has decided instance `cid`. A replica that dialled its
 * peers late (backoff) may lag the others by a heartbeat: tests that inspect every replica's state wait for this.
 */
export async function waitDecided(specs: NodeSpec[], cid: number, timeoutMs = 60_000): Promise<void> {
  for (const spec of specs) {
    const deadline = Date.now() + timeoutMs;
    let seen = -1;
    while (seen < cid) {
      if (Date.now() > deadline) throw new Error(`replica ${spec.id} decided ${seen}, not ${cid}, in ${timeoutMs} ms`);
      try {
        const h = (await (await fetch(`http://${spec.host}:${spec.controlPort}/health`)).json()) as {
          role?: { lastDecided?: number };
        };
        seen = h.role?.lastDecided ?? -1;
      } catch {
        seen = -1;
      }
      if (seen < cid) await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export async function admin(
  spec: NodeSpec,
  token: string,
  action: string,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`http://${spec.host}:${spec.controlPort}/admin/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}
