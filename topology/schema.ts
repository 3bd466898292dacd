/**
 * The tclouds.yaml schema (zod v4). This is the single source of truth for the file format: the
 * TypeScript types, the runtime validation and the JSON Schema (`tclouds schema`) all come from here.
 *
 * Defaults are applied here and only here, so `tclouds validate --json` shows every default in force.
 * Semantic rules that relate fields to each other (n >= 3f+1, colocation, mode rules) live in
 * topology/semantics.ts, where each gets its own error code.
 */

import { z } from 'zod';
import { NAME_PATTERN } from './files.js';

export { NAME_PATTERN };

const name = z.string().regex(NAME_PATTERN, 'must match [a-z][a-z0-9-]{0,39}');

export const MODES = ['client-resident', 'mediator', 'appliance', 'native'] as const;
export const PROVIDERS = ['aws', 'azure', 'gcp', 'local'] as const;
export const THREATS = ['crash-pm', 'crash-vm', 'byzantine-pm', 'byzantine-vm', 'targeted-pm', 'targeted-vm'] as const;
export const KEEPS = ['pm-majority', 'vm-majority'] as const;
export const COMPONENT_KINDS = ['storage', 'smr', 'log', 'mapreduce', 'workflow'] as const;

export type Mode = (typeof MODES)[number];
export type Provider = (typeof PROVIDERS)[number];
export type Threat = (typeof THREATS)[number];
export type Keep = (typeof KEEPS)[number];
export type ComponentKind = (typeof COMPONENT_KINDS)[number];

export const CloudSchema = z
  .strictObject({
    provider: z.enum(PROVIDERS).describe('Which provider this cloud is'),
    region: z.string().min(1).optional().describe('Provider region, e.g. eu-west-1 (required for aws, azure, gcp)'),
    hosts: z
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe('Physical machines / fault domains available in this cloud for placement (default: as many as needed)'),
    path: z
      .string()
      .min(1)
      .optional()
      .describe('local only: directory holding this cloud data (default .tclouds/<name>/clouds/<cloud>)'),
    // added (Pulumi realizer, H4b): the construct that maps fault domains to machines; the realizer checks
    // that it belongs to the cloud's provider and that the layout fits its limits (TC351/TC352).
    construct: z
      .enum([
        'aws:partition-placement-group',
        'aws:dedicated-host',
        'azure:availability-set',
        'azure:dedicated-host',
        'gcp:resource-policy',
        'gcp:sole-tenant-node',
      ])
      .optional()
      .describe(
        'Cloud targets: fault-domain construct (default: aws partition placement group, azure availability set, gcp spread resource policy; dedicated hosts / sole-tenant nodes for more domains)',
      ),
  })
  .describe('One provider of the cloud-of-clouds');
export type Cloud = z.infer<typeof CloudSchema>;

export const PlacementSchema = z
  .strictObject({
    threat: z.enum(THREATS).default('byzantine-vm').describe('Fault model of the placement paper'),
    keep: z
      .enum(KEEPS)
      .default('pm-majority')
      .describe('What must survive: a majority of correct PMs or of correct VMs'),
    removal: z.boolean().default(false).describe('Attacks hit distinct VMs/PMs (sampling without replacement)'),
  })
  .describe('The fault model and what must survive (see the placement paper)');
export type Placement = z.infer<typeof PlacementSchema>;

const f = z.int().min(1).max(32).default(1).describe('Number of faulty replicas or clouds to tolerate');
const clouds = z.array(name).min(1).describe('Names of the clouds (keys of `clouds`) this component spans');
const colocate = z
  .enum(['forbidden', 'allowed'])
  .default('forbidden')
  .describe('allowed: let one cloud hold more than f replicas (one outage can then break the fault assumption)');
// Where the nodes of a component record their own security and availability events (components/log/audit-*.ts).
const auditLog = name
  .optional()
  .describe(
    'Name of a `kind: log` component of this topology: the nodes of this component append their security and availability events to it (leader changes, state transfers, refused frames, storage writes and locks)',
  );

export const StorageSchema = z.strictObject({
  kind: z.literal('storage'),
  auditLog,
  protocol: z
    .enum(['depsky-a', 'depsky-ca'])
    .default('depsky-ca')
    .describe('DepSky-A (replicated) or DepSky-CA (encrypted, erasure-coded)'),
  f,
  clouds,
  colocate,
  gateways: z
    .int()
    .min(1)
    .max(16)
    .default(2)
    .describe('mediator mode: number of gateway (TIS) nodes fronting the clouds'),
});

export const SmrSchema = z.strictObject({
  kind: z.literal('smr'),
  auditLog,
  faults: z.enum(['byzantine', 'crash']).default('byzantine'),
  f,
  clouds,
  colocate,
  service: z
    .string()
    .min(1)
    .default('kv')
    .describe('kv, noop, or a path to a JS module exporting execute/snapshot/restore'),
  replicas: z.int().min(1).max(100).optional().describe('Replica count (default 3f+1 for byzantine, 2f+1 for crash)'),
  checkpointPeriod: z.int().min(1).max(1_000_000).default(1000).describe('Decisions between checkpoints'),
  // At most the batch a follower accepts (components/smr/protocol/limits.ts MAX_BATCH_REQUESTS): a leader with a
  // larger one would see every full proposal refused.
  batchSize: z.int().min(1).max(4096).default(400).describe('Maximum requests per proposed batch'),
  // How clients authenticate requests: a MAC vector or Ed25519 signatures (components/smr/README.md, "Client
  // request authentication").
  clientAuth: z
    .enum(['mac', 'signature'])
    .default('mac')
    .describe(
      'How clients authenticate requests: mac (a MAC vector, one HMAC per replica: fastest) or signature (Ed25519: verifiable by anyone, non-repudiation; MAC-only requests are refused)',
    ),
  // Off unless asked: the switch lets whoever holds the stack's admin token make a replica lie. Local deployments
  // always have it (stacks/local/specs.ts), so this only matters on cloud targets.
  chaos: z
    .strictObject({
      byzantine: z
        .boolean()
        .default(false)
        .describe(
          'Let `tclouds chaos byzantine` switch these replicas into misbehaviour modes (POST /admin/fault) on cloud targets too; local deployments always allow it',
        ),
    })
    .optional()
    .describe('Fault injection this component accepts on cloud targets (default: none)'),
  // Whether replicas log their votes and decisions ahead of sending them (components/smr/wal.ts): `none` is for
  // benchmarks only, a crash of more than f replicas then loses what came after the last checkpoint.
  durability: z
    .enum(['fsync', 'none'])
    .default('fsync')
    .describe(
      'fsync: a write-ahead log makes every vote and decision durable before it is sent or answered; none: in memory only (benchmarks)',
    ),
  // The replica's own bound on its log (default 1 GiB, components/smr/config.ts): past it, it checkpoints early.
  walMaxBytes: z
    .int()
    .min(1 << 20)
    .max(2 ** 40)
    .optional()
    .describe(
      'Largest write-ahead log per replica, in bytes (default 1 GiB, at least 1 MiB): past it the replica checkpoints early; if it cannot, it stops taking part (TC438) rather than fill the disk',
    ),
});

export const LogSchema = z.strictObject({
  kind: z.literal('log'),
  f,
  clouds,
  colocate,
  jurisdictions: z
    .record(name, name)
    .optional()
    .describe(
      'Jurisdiction of each cloud for console policies (cloud -> e.g. eu); default: the first part of its region, else its name',
    ),
});

export const MapReduceSchema = z.strictObject({
  kind: z.literal('mapreduce'),
  auditLog,
  f,
  clouds,
  workers: z.int().min(1).max(10_000).describe('Worker nodes in the pool'),
  jobTracker: z
    .enum(['single', 'replicated'])
    .optional()
    .describe(
      'single (default): one job tracker, assumed correct as in the seed; replicated: 3f+1 tracker replicas running the scheduling state on the SMR, none of them trusted',
    ),
});

export const WorkflowSchema = z.strictObject({
  kind: z.literal('workflow'),
  auditLog,
  faults: z.enum(['byzantine', 'crash']).default('crash'),
  f,
  clouds,
  colocate,
  // The engines are SMR replicas (components/workflow/node.ts): the same write-ahead log, for the same reason.
  durability: z
    .enum(['fsync', 'none'])
    .default('fsync')
    .describe(
      "fsync: every ordered input (start, call result, timer) is in each engine's write-ahead log before it is answered; none: in memory only (benchmarks)",
    ),
  // Bounds as components/workflow/config.ts: below 100 ms a call slower than a few round trips would be made twice.
  takeoverMs: z
    .int()
    .min(100)
    .max(600_000)
    .optional()
    .describe(
      'How long the engines wait for the engine making a call before the next one makes it again with the same Idempotency-Key (default 2000 ms)',
    ),
});

export const ComponentSchema = z.discriminatedUnion('kind', [
  StorageSchema,
  SmrSchema,
  LogSchema,
  MapReduceSchema,
  WorkflowSchema,
]);
export type Component = z.infer<typeof ComponentSchema>;
export type StorageComponent = z.infer<typeof StorageSchema>;
export type SmrComponent = z.infer<typeof SmrSchema>;
export type LogComponent = z.infer<typeof LogSchema>;
export type MapReduceComponent = z.infer<typeof MapReduceSchema>;
export type WorkflowComponent = z.infer<typeof WorkflowSchema>;

export const ClientsSchema = z
  .strictObject({
    cidrs: z
      .array(z.cidrv4().or(z.cidrv6()))
      .default([])
      .describe('Networks allowed to reach the client-facing ports (default: none; nodes only talk to each other)'),
  })
  .describe('Who may call the deployed services');

export const TopologySchema = z
  .strictObject({
    name: name.describe('Stack name'),
    mode: z.enum(MODES).default('client-resident').describe('Deployment mode (seed chapter 4)'),
    clouds: z.record(name, CloudSchema).describe('The providers making up the cloud-of-clouds, keyed by name'),
    placement: PlacementSchema.default({ threat: 'byzantine-vm', keep: 'pm-majority', removal: false }),
    clients: ClientsSchema.default({ cidrs: [] }),
    components: z.record(name, ComponentSchema).describe('TClouds components, keyed by name'),
  })
  .describe('tclouds topology file');

/** A topology after schema validation, with every default applied. */
export type Topology = z.infer<typeof TopologySchema>;
export type TopologyInput = z.input<typeof TopologySchema>;
