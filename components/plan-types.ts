/**
 * The Plan: the deterministic list of everything a deployment must create, the contract between the compiler and
 * the realizers.
 *
 * Realizers (stacks/local, stacks/pulumi), the dashboard and the clients read only this and the deployment
 * outputs, never the YAML. A Plan is plain JSON: the same topology always compiles to byte-identical JSON
 * (stable key order, no timestamps, no absolute paths), so plans can be diffed and snapshot-tested.
 *
 * Fields marked "added" came after the first version of the format; the format only ever grows (a field is never
 * removed or given another meaning), so an older reader still understands a newer plan.
 */
import type { ComponentKind, Keep, Mode, Provider, Threat } from '../topology/schema.js';

export const PLAN_VERSION = 1 as const;

export interface Plan {
  version: typeof PLAN_VERSION;
  /** Stack name (topology `name`). */
  stack: string;
  mode: Mode;
  placement: { threat: Threat; keep: Keep; removal: boolean };
  clouds: Record<string, PlannedCloud>;
  components: Record<string, ComponentPlan>;
  /** added: networks allowed to reach client-facing ports (topology `clients.cidrs`); links from `clients` use them. */
  clients: { cidrs: string[] };
  /** Human-readable remarks, e.g. "fault domains assigned by even spread" when the advisor was not used. */
  notes: string[];
}

export interface PlannedCloud {
  provider: Provider;
  region?: string;
  /** Physical machines / fault domains available for placement (topology `hosts`). */
  hosts?: number;
  /**
   * Fault-domain construct per provider, e.g. `aws:partition-placement-group`, `azure:availability-set`,
   * `gcp:resource-policy`, `local:loopback`. The Pulumi realizer may refine it (dedicated hosts etc.).
   */
  construct?: string;
  /** added: local clouds with `path:` in the topology: the directory, relative to the topology file's directory. */
  path?: string;
}

export interface ComponentPlan {
  kind: ComponentKind;
  f: number;
  /** added: fault kind the replica group tolerates (storage, log: byzantine; mapreduce: byzantine task replicas). */
  faults: 'byzantine' | 'crash';
  /** added: clouds this component spans, in topology order. */
  clouds: string[];
  /**
   * added: how TIS nodes are housed: `servers` (one VM per node), `appliance-box` (all replicas as VMs on one
   * box), `twin-quad` (two boxes, each holding a full replica group). Client-resident storage has no nodes.
   */
  housing: 'none' | 'servers' | 'appliance-box' | 'twin-quad';
  nodes: PlannedNode[];
  buckets: PlannedBucket[];
  links: PlannedLink[];
  keys: PlannedKey[];
  /** TIA configuration (SMR: {f, n, faults, ...}; storage: {protocol, f, n, clouds, ...}). */
  client: Record<string, unknown>;
  /** Per cloud: hosts (fault domains) used and VMs per host, from the placement advisor or an even spread. */
  layouts: Record<string, PlannedLayout>;
  /**
   * added: the log component (of the same stack) this component's nodes record their security and availability
   * events in (topology `auditLog`); each node then has a producer client key `audit-<node>` of that log.
   */
  auditLog?: string;
}

export interface PlannedLayout {
  /** Number of hosts (fault domains) the layout uses. */
  hosts: number;
  /** VMs per host, sorted descending (the placement paper's partition notation). */
  layout: number[];
  /** added: 'appliance' = VMs on the appliance box(es) by construction, no choice to make. */
  method: 'advisor' | 'even-spread' | 'appliance';
  /** Advisor's probability of keeping the majority (when the advisor was used). */
  pKeep?: number;
  /** added: advisor's minimum number of attacks that can break the majority. */
  attacksToBreak?: number;
}

export interface PlannedNode {
  /** Unique in the stack: `<component>-<role>-<index>` (e.g. `ledger-replica-0`). */
  id: string;
  /** added: component name (so a node can be handled without its parent). */
  component: string;
  role: string;
  /** Index inside its role group, 0-based (SMR replica id). */
  index: number;
  cloud: string;
  /** Fault domain (host / PM / partition) inside the cloud, 0-based. */
  domain: number;
  /** Named ports this node listens on, e.g. `{ peer: 7100, client: 7101 }`. */
  ports: Record<string, number>;
  /** Control HTTP server port (GET /health, /metrics). */
  controlPort: number;
  /** Role-specific configuration passed into the NodeSpec. */
  config: Record<string, unknown>;
}

export interface PlannedBucket {
  cloud: string;
  /** Bucket / container name (lowercase, DNS-safe, deterministic). */
  name: string;
  /** added: component that owns the bucket. */
  component?: string;
}

/**
 * Who talks to whom, used for firewall rules. `from`/`to` are role names of the same component, or the
 * special source `clients` (the topology's client CIDRs / TIAs). `port` is a port name of the `to` role.
 */
export interface PlannedLink {
  from: string;
  to: string;
  port: string;
}

export interface PlannedKey {
  /** Key id; node keys use the node id, client keys `client-<component>`, writer keys `writer-<component>`. */
  id: string;
  kind: 'node' | 'client' | 'storage-writer';
  /** Node id or component name the key belongs to. */
  for: string;
}

/** Per-kind plan builders (components/<kind>/plan.ts) get this and return one ComponentPlan. */
export interface ComponentPlanInput {
  name: string;
  mode: Mode;
  /** The validated component, defaults applied. */
  component: import('../topology/schema.js').Component;
  clouds: Record<string, PlannedCloud>;
  placement: Plan['placement'];
  /** Collect plan notes here (deduplicated and kept in order by the joiner). */
  notes: string[];
}
