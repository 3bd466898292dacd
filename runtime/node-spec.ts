/**
 * The contract between the plan, the realizers and the node host.
 *
 * A NodeSpec is everything one deployed node needs to run its role: written by a realizer (local target:
 * `.tclouds/<stack>/nodes/<node-id>/spec.json`; cloud targets: by cloud-init) and read by
 * `tclouds node run --spec FILE`. DeploymentOutputs is what a deployment leaves for clients, the status
 * dashboard and chaos (`.tclouds/<stack>/outputs.json` for the local target; `tclouds outputs --json`).
 * Both are plain JSON with a version field. Neither ever contains a private key: specs point at key files.
 */
import type { ComponentKind } from '../topology/schema.js';
import type { ControlTlsPin, ControlTlsSpec } from './control-tls.js';

export const NODE_SPEC_VERSION = 1;
export const OUTPUTS_VERSION = 1;

/** A peer as a node sees it: where it listens and the X25519 public key its channel keys derive from. */
export interface PeerSpec {
  /** Node id, unique in the stack, e.g. `ledger-replica-0`. */
  id: string;
  role: string;
  /** Index of the node inside its role group (replica id for SMR), 0-based. */
  index: number;
  host: string;
  /** Named ports, e.g. `{ peer: 7100, client: 7101 }`. */
  ports: Record<string, number>;
  /** Raw 32-byte X25519 public key, base64url. */
  publicKey: string;
}

export interface NodeSpec {
  version: typeof NODE_SPEC_VERSION;
  stack: string;
  component: string;
  kind: ComponentKind;
  /** Role of this node inside its component, e.g. `replica`, `gateway`, `job-tracker`. */
  role: string;
  id: string;
  index: number;
  cloud: string;
  /** Fault domain (physical machine / partition) inside the cloud, 0-based. */
  domain: number;
  /** Address this node binds to (a 127.x address on the local target). */
  host: string;
  ports: Record<string, number>;
  /** Port of the control HTTP server: GET /health, GET /metrics. Bound on `host`. */
  controlPort: number;
  /** Every other node of the same component that this node talks to. */
  peers: PeerSpec[];
  /** Public keys of the clients allowed to call this node (base64url X25519), keyed by client id. */
  clients: Record<string, string>;
  /**
   * added (Ed25519 client signatures), smr nodes: the Ed25519 public key (base64url raw 32 bytes) each client signs
   * its requests with, keyed by client id (the same ids as `clients`). Absent or empty: no client can sign.
   */
  clientSigners?: Record<string, string>;
  /** Directory for this node's durable state and logs. */
  dataDir: string;
  /** Path of this node's private key file (0600). Never inlined in the spec. */
  keyFile: string;
  /** This node's own public key (base64url), so the host can check it matches keyFile. */
  publicKey: string;
  /** Role-specific configuration from the component's plan (e.g. SMR: f, service, batch size). */
  config: Record<string, unknown>;
  /**
   * File (0600) holding the bearer token that guards the control server's POST /admin/* endpoints
   * (chaos partitions: POST /admin/partition {"block":[peer ids]}, POST /admin/heal). Local target: one token for
   * the stack (keys/admin.token); cloud targets: the node's own (keys/<node>.admin.token on the operator's machine).
   */
  adminTokenFile: string;
  /**
   * added (control port TLS): the control port speaks only TLS with this key and certificate (cloud nodes, whose
   * control port is reached over the internet). Absent: plain HTTP, allowed only on a loopback `host` (local target).
   */
  controlTls?: ControlTlsSpec;
  /**
   * added (audit events): where this node records its security and availability events, when its component
   * names a log (topology `auditLog`): the log component, this node's producer client id and key file (0600,
   * never inlined), and the log's core replicas (`ports.client`) with their f.
   */
  auditLog?: {
    component: string;
    clientId: string;
    keyFile: string;
    f: number;
    replicas: PeerSpec[];
  };
}

/** One node as deployment outputs show it. */
export interface NodeOutput extends PeerSpec {
  cloud: string;
  domain: number;
  controlPort: number;
  /**
   * added (control port TLS): cloud nodes: the control port is TLS with this certificate, which every caller pins
   * (runtime/control-client.ts). Absent: plain HTTP on a loopback address (local target).
   */
  controlTls?: ControlTlsPin;
}

export interface BucketOutput {
  cloud: string;
  provider: 'aws' | 'azure' | 'gcp' | 'local';
  /** Bucket / container name at the provider. */
  name: string;
  /** local: absolute directory of the bucket. */
  path?: string;
  /** Cloud targets: region and endpoint the driver talks to. */
  region?: string;
  endpoint?: string;
  /**
   * added (Pulumi realizer): cloud targets: file (0600) holding the credentials scoped to this bucket alone
   * (AWS access key / Azure container SAS / GCP service-account key), written at deploy time. Never inlined here.
   */
  credentialsFile?: string;
}

export interface ComponentOutput {
  kind: ComponentKind;
  /** Nodes the realizer started or created (empty for client-resident storage). */
  nodes: NodeOutput[];
  buckets: BucketOutput[];
  /** Client (TIA) configuration from the plan: what a client needs besides nodes and buckets. */
  client: Record<string, unknown>;
  /** Client key files usable from this machine (private key path, 0600), keyed by client id. */
  clientKeys: Record<
    string,
    {
      keyFile: string;
      publicKey: string;
      /** added (Ed25519 client signatures), smr: the client's Ed25519 signing key file (0600), never its contents. */
      signingKeyFile?: string;
      /** added (Ed25519 client signatures), smr: the matching public key (base64url raw 32 bytes). */
      signingPublicKey?: string;
    }
  >;
}

export interface DeploymentOutputs {
  version: typeof OUTPUTS_VERSION;
  stack: string;
  target: 'local' | 'aws' | 'azure' | 'gcp' | 'clouds';
  /** Absolute path of the topology file this deployment came from. */
  topologyFile: string;
  /** SHA-256 of the plan that was realized, hex. */
  planDigest: string;
  deployedAt: string;
  components: Record<string, ComponentOutput>;
}
