/**
 * The cloud-init document of one node (templates/cloud-init.yaml with templates/boot.sh) and the NodeSpec the
 * node fetches at boot.
 *
 * Pure: no Pulumi import. User data holds nothing secret and nothing that changes with a deploy: the Node runtime
 * the first boot installs (to run the installer) with its SHA-256, the installer, and which secret store entries
 * hold the node's spec, key, admin token, control TLS key and certificate, and software record (read by the VM
 * with its own identity at every start, see runtime/cloud-boot/). Neither a spec change nor a new build changes
 * user data, and it may be shown in plans.
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Plan, PlannedNode } from '../../components/plan-types.js';
import { TcError } from '../../kernel/errors.js';
import type { BootFile } from '../../runtime/cloud-boot/boot-file.js';
import { NODE_SPEC_VERSION, type NodeSpec, type PeerSpec } from '../../runtime/node-spec.js';
import { bootFetcherSource } from './boot-fetcher.js';
import type { BootValues, NodeSecretKind } from './boot-refs.js';
import { PulumiCode } from './codes.js';

/**
 * Paths on the VM (the systemd unit, the boot script and the spec agree on these). Secrets live in the unit's
 * RuntimeDirectory (/run/tclouds: tmpfs, 0700, the node user's), written before every start.
 */
export const VM_PATHS = {
  spec: '/run/tclouds/spec.json',
  keyFile: '/run/tclouds/node.key',
  adminTokenFile: '/run/tclouds/admin.token',
  controlTlsFile: '/run/tclouds/control-tls.pem',
  writerKeyFile: '/run/tclouds/writer.key',
  bucketCredentialsFile: '/run/tclouds/bucket-credentials.json',
  softwareFile: '/run/tclouds/software.json',
  dataDir: '/var/lib/tclouds/data',
  app: '/opt/tclouds/app',
  node: '/opt/tclouds/node',
  bootFile: '/etc/tclouds/boot.json',
} as const;

/** Where each kind of secret is written on the VM (for NodeSecretRef.path). */
export const SECRET_PATHS: Record<NodeSecretKind, string> = {
  spec: VM_PATHS.spec,
  'node-key': VM_PATHS.keyFile,
  'admin-token': VM_PATHS.adminTokenFile,
  'control-tls': VM_PATHS.controlTlsFile,
  'writer-key': VM_PATHS.writerKeyFile,
  'bucket-credentials': VM_PATHS.bucketCredentialsFile,
  software: VM_PATHS.softwareFile,
};

const templates = new Map<string, string>();

/** A file of templates/ of this package, found from here both in the sources and in dist/. */
function templateFile(name: string): string {
  const hit = templates.get(name);
  if (hit !== undefined) return hit;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'templates', name);
    if (existsSync(candidate)) {
      const text = readFileSync(candidate, 'utf8');
      templates.set(name, text);
      return text;
    }
    dir = dirname(dir);
  }
  throw new Error(`templates/${name} is missing from this installation of tclouds`);
}

/** templates/cloud-init.yaml of this package. */
export function cloudInitTemplate(): string {
  return templateFile('cloud-init.yaml');
}

/** Values the boot script sources (boot.env) and paths: nothing a shell could read as code. */
const SAFE = /^[A-Za-z0-9@._/:+=-]+$/;
const HEX64 = /^[0-9a-f]{64}$/;

function check(what: string, value: string, re: RegExp = SAFE): string {
  if (!re.test(value)) {
    throw new TcError(PulumiCode.bootValueInvalid, `cloud-init: unsafe ${what} ${JSON.stringify(value)}`, {
      exit: 3,
      hint:
        re === HEX64
          ? 'a SHA-256 is 64 lower-case hex digits'
          : 'boot values may hold only A-Z a-z 0-9 @ . _ / : + = -',
    });
  }
  return value;
}

function checkValues(v: BootValues): void {
  check('node id', v.nodeId);
  if (v.region !== undefined) check('region', v.region);
  check('Node version', v.nodeRuntime.version);
  check('Node URL', v.nodeRuntime.url);
  check('Node SHA-256', v.nodeRuntime.sha256, HEX64);
  for (const s of v.secrets) {
    check(`${s.kind} secret ref`, s.ref);
    check(`${s.kind} secret path`, s.path);
  }
}

/** The non-secret /etc/tclouds/boot.json of a node. */
export function bootFileOf(v: BootValues): BootFile {
  return {
    version: 1,
    nodeId: v.nodeId,
    provider: v.provider,
    ...(v.region !== undefined ? { region: v.region } : {}),
    secrets: v.secrets.map((s) => ({ kind: s.kind, ref: s.ref, path: s.path })),
    paths: { app: VM_PATHS.app, node: VM_PATHS.node, spec: specPathOf(v) },
  };
}

function specPathOf(v: BootValues): string {
  return v.secrets.find((s) => s.kind === 'spec')?.path ?? VM_PATHS.spec;
}

/** Fills `{{NAME}}`; a multi-line value is indented like its placeholder (block scalars of the template). */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(
    /^([ \t]*)(.*?)\{\{([A-Z0-9_]+)\}\}/gm,
    (_whole, indent: string, before: string, k: string) => {
      const value = values[k];
      if (value === undefined) throw new Error(`cloud-init template uses unknown value {{${k}}}`);
      return `${indent}${before}${value.replace(/\n(?=.)/g, `\n${indent}`)}`;
    },
  );
}

/**
 * The boot script without its comment lines (the template documents it): AWS caps user data at 16 KB (limits.ts),
 * and the gzipped fetcher already takes about 6 KB of it.
 */
function withoutComments(script: string): string {
  return script
    .split('\n')
    .filter((line, i) => i === 0 || !/^\s*(#|$)/.test(line))
    .join('\n');
}

/** The cloud-init document of one node (user data). Throws TC364 on a value the boot script must not see. */
export function renderCloudInit(v: BootValues): string {
  checkValues(v);
  const values: Record<string, string> = {
    NODE_ID: v.nodeId,
    NODE_VERSION: v.nodeRuntime.version,
    NODE_URL: v.nodeRuntime.url,
    NODE_SHA256: v.nodeRuntime.sha256,
    SPEC_PATH: specPathOf(v),
    BOOT_JSON: JSON.stringify(bootFileOf(v)),
    BOOT_SH: withoutComments(templateFile('boot.sh')),
    FETCHER_GZ_B64: gzipSync(bootFetcherSource(), { level: 9 }).toString('base64'),
  };
  // Placeholders may repeat on a line only at its end; fill line by line until none is left.
  let text = cloudInitTemplate();
  for (let i = 0; i < 4 && /\{\{[A-Z0-9_]+\}\}/.test(text); i++) text = fill(text, values);
  // A placeholder mangled by an editor or formatter (e.g. `{ { X } }`) would ship a broken node: refuse.
  if (/\{\s*\{/.test(text)) throw new Error('cloud-init template has a malformed placeholder');
  // AWS's 16 KB cap on user data is a plan-time limit (limits.ts, TC382), measured on this document.
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
  /** SHA-256 of the node's control certificate (its key and certificate arrive as the `control-tls` secret). */
  controlTlsSha256?: string,
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
    // The control port is reached over the internet: TLS with the node's own certificate, which callers pin.
    ...(controlTlsSha256 ? { controlTls: { file: VM_PATHS.controlTlsFile, sha256: controlTlsSha256 } } : {}),
  };
}
