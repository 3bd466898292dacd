/**
 * The cloud-init document of one node (templates/cloud-init.yaml) and the NodeSpec it installs.
 *
 * Pure: no Pulumi import. The program resolves the addresses that are only known once created (public IPs of
 * peers in other clouds) and then calls `renderCloudInit`, inside a Pulumi secret.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan, PlannedNode } from '../../components/plan-types.js';
import { NODE_SPEC_VERSION, type NodeSpec, type PeerSpec } from '../../runtime/node-spec.js';

/** Paths on the VM (the systemd unit and the template agree on these). */
export const VM_PATHS = {
  spec: '/etc/tclouds/spec.json',
  keyFile: '/etc/tclouds/keys/node.key',
  adminTokenFile: '/etc/tclouds/keys/admin.token',
  dataDir: '/var/lib/tclouds/data',
} as const;

let cachedTemplate: string | undefined;

/** templates/cloud-init.yaml of this package, found from here both in the sources and in dist/. */
export function cloudInitTemplate(): string {
  if (cachedTemplate !== undefined) return cachedTemplate;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'templates', 'cloud-init.yaml');
    if (existsSync(candidate)) {
      cachedTemplate = readFileSync(candidate, 'utf8');
      return cachedTemplate;
    }
    dir = dirname(dir);
  }
  throw new Error('templates/cloud-init.yaml is missing from this installation of tclouds');
}

const SAFE = /^[A-Za-z0-9@._/:-]+$/;

export interface CloudInitValues {
  nodeId: string;
  spec: NodeSpec;
  /** PKCS8 PEM of the node's X25519 private key. */
  nodeKeyPem: string;
  adminToken: string;
  /** npm package spec installed on the VM, e.g. `tclouds@0.1.0`. */
  packageSpec: string;
}

export function renderCloudInit(v: CloudInitValues): string {
  for (const [what, s] of [
    ['node id', v.nodeId],
    ['package', v.packageSpec],
  ] as const) {
    if (!SAFE.test(s)) throw new Error(`cloud-init: unsafe ${what} ${JSON.stringify(s)}`);
  }
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const values: Record<string, string> = {
    NODE_ID: v.nodeId,
    PACKAGE: v.packageSpec,
    SPEC_B64: b64(`${JSON.stringify(v.spec, null, 2)}\n`),
    NODE_KEY_B64: b64(v.nodeKeyPem),
    ADMIN_TOKEN_B64: b64(v.adminToken),
  };
  const text = cloudInitTemplate().replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, k: string) => {
    const value = values[k];
    if (value === undefined) throw new Error(`cloud-init template uses unknown value {{${k}}}`);
    return value;
  });
  // A placeholder mangled by an editor or formatter (e.g. `{ { X } }`) would ship a broken node: refuse.
  if (/\{\s*\{/.test(text)) throw new Error('cloud-init template has a malformed placeholder');
  return text;
}

/** The NodeSpec of a cloud node. `hostOf` gives each peer's address as seen from this node. */
export function cloudNodeSpec(
  plan: Plan,
  node: PlannedNode,
  privateIp: string,
  hostOf: (peer: PlannedNode) => string,
  publicKeys: Record<string, string>,
  /** Ed25519 public keys of the SMR clients (request signatures), by client key id. */
  signingPublicKeys: Record<string, string> = {},
): NodeSpec {
  const comp = plan.components[node.component]!;
  const peers: PeerSpec[] = comp.nodes
    .filter((p) => p.id !== node.id)
    .map((p) => ({
      id: p.id,
      role: p.role,
      index: p.index,
      host: hostOf(p),
      ports: p.ports,
      publicKey: publicKeys[p.id] ?? '',
    }));
  const clients: Record<string, string> = {};
  const clientSigners: Record<string, string> = {};
  for (const k of comp.keys) {
    if (k.kind !== 'node' && publicKeys[k.id] !== undefined) clients[k.id] = publicKeys[k.id]!;
    if (k.kind === 'client' && signingPublicKeys[k.id] !== undefined) clientSigners[k.id] = signingPublicKeys[k.id]!;
  }
  return {
    version: NODE_SPEC_VERSION,
    stack: plan.stack,
    component: node.component,
    kind: comp.kind,
    role: node.role,
    id: node.id,
    index: node.index,
    cloud: node.cloud,
    domain: node.domain,
    host: privateIp,
    ports: node.ports,
    controlPort: node.controlPort,
    peers,
    clients,
    // Public keys only: a client's signing key never leaves the machine that deployed.
    ...(comp.kind === 'smr' ? { clientSigners } : {}),
    dataDir: VM_PATHS.dataDir,
    keyFile: VM_PATHS.keyFile,
    publicKey: publicKeys[node.id] ?? '',
    config: node.config,
    adminTokenFile: VM_PATHS.adminTokenFile,
  };
}
