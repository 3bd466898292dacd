/**
 * Node configuration of storage gateways: written by plan.ts, completed by the realizer (`bucketPaths` on the local
 * target), parsed by node.ts.
 */
import { z } from 'zod';

const byCloud = <T extends z.ZodType>(value: T) => z.record(z.string(), value);

export const StorageGatewayConfigSchema = z.object({
  protocol: z.enum(['depsky-a', 'depsky-ca']).default('depsky-ca'),
  f: z.int().min(0),
  n: z.int().min(1).optional(),
  clouds: z.array(z.string().min(1)).min(1),
  /** Bucket name per cloud. */
  buckets: byCloud(z.string().min(1)),
  /** Provider per cloud: how a gateway on a cloud VM reaches each bucket. */
  providers: byCloud(z.enum(['aws', 'azure', 'gcp', 'local'])).optional(),
  regions: byCloud(z.string()).optional(),
  /** Local target: the directory of each cloud's bucket (written by the local realizer). */
  bucketPaths: byCloud(z.string().min(1)).optional(),
  /** Writer key; default `storage-<component>-writer.key` next to the node key. */
  writerKeyFile: z.string().min(1).optional(),
  /** Largest request body accepted. */
  maxBodyBytes: z
    .int()
    .min(1)
    .default(1 << 30),
});
export type StorageGatewayConfig = z.output<typeof StorageGatewayConfigSchema>;
export type StorageGatewayConfigInput = z.input<typeof StorageGatewayConfigSchema>;

export const STORAGE_CONFIGS = { gateway: StorageGatewayConfigSchema } as const;
