/**
 * Node configuration of a log component's roles: the replicated core (an SMR replica running the log service,
 * which also writes its copies of sealed segments to the component's buckets through DepSky) and the console.
 * Written by plan.ts, completed by the local realizer (`bucketPaths`), parsed by the roles at start.
 */
import { z } from 'zod';
import { SmrReplicaConfigSchema } from '../smr/config.js';

const byCloud = <T extends z.ZodType>(v: T) => z.record(z.string().min(1), v);

/** Where the component's buckets are: the same fields as a storage gateway's (components/storage/config.ts). */
const BucketsSchema = z.object({
  clouds: z.array(z.string().min(1)).min(1),
  buckets: byCloud(z.string().min(1)),
  providers: byCloud(z.enum(['local', 'aws', 'azure', 'gcp'])).optional(),
  regions: byCloud(z.string().min(1)).optional(),
  /** Local target: cloud -> bucket directory. */
  bucketPaths: byCloud(z.string().min(1)).optional(),
});

export const LogCoreConfigSchema = SmrReplicaConfigSchema.extend({
  ...BucketsSchema.shape,
  /** Entries per sealed segment (tests use small segments). */
  segmentEntries: z.int().min(1).max(65_536).optional(),
  /**
   * Nodes of other components that record their events here (components/log/audit-plan.ts): producer client id ->
   * the cloud and node its entries must name. The core refuses entries of such a client that claim another origin.
   */
  producers: byCloud(z.strictObject({ cloud: z.string().min(1), node: z.string().min(1) })).optional(),
});
export type LogCoreConfig = z.output<typeof LogCoreConfigSchema>;

export const LogConsoleConfigSchema = z.object({
  f: z.int().min(0),
  ...BucketsSchema.shape,
  /** Jurisdiction of each cloud (from its region), for policies that confine readers to one. */
  jurisdictions: byCloud(z.string().min(1)),
  /** SMR client identity the console appends under (a client key of the component). */
  clientId: z.string().min(1),
});
export type LogConsoleConfig = z.output<typeof LogConsoleConfigSchema>;

export const LOG_CONFIGS = {
  core: LogCoreConfigSchema,
  console: LogConsoleConfigSchema,
} as const;
