/**
 * Node configuration of SMR replicas (roles `replica` and `standby`): written by plan.ts, parsed by node.ts.
 * Defaults are those of a replica started from a hand-written spec; the plan always writes the topology's values.
 */
import { z } from 'zod';

export const SmrReplicaConfigSchema = z.object({
  f: z.int().min(0).default(1),
  /** Group size; a replica checks it against the replicas its spec lists. Default: as many as listed. */
  n: z.int().min(1).optional(),
  faults: z.enum(['byzantine', 'crash']).default('byzantine'),
  /** `kv`, `noop`, or the path of a user service module. */
  service: z.string().min(1).default('kv'),
  batchSize: z.int().min(1).default(400),
  checkpointPeriod: z.int().min(1).default(1000),
  /** How clients authenticate requests; with `signature` MAC-only requests are refused. */
  clientAuth: z.enum(['mac', 'signature']).default('mac'),
  /** Twin quad: which of the two independent groups (0 replica, 1 standby). */
  group: z.int().min(0).optional(),
  tickMs: z.int().min(1).default(10),
  requestTimeoutMs: z.int().min(10).default(500),
  maxPending: z.int().min(1).default(50_000),
  /** Lets POST /admin/fault turn this replica Byzantine (test deployments only). */
  testFaults: z.boolean().default(false),
});
export type SmrReplicaConfig = z.output<typeof SmrReplicaConfigSchema>;
export type SmrReplicaConfigInput = z.input<typeof SmrReplicaConfigSchema>;

export const SMR_CONFIGS = { replica: SmrReplicaConfigSchema, standby: SmrReplicaConfigSchema } as const;
