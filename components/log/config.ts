/**
 * Node configuration of a log component's roles: the replicated core, one storage node per cloud and the
 * console. Written by plan.ts; parsed by the roles once they exist.
 */
import { z } from 'zod';

export const LogCoreConfigSchema = z.object({
  f: z.int().min(0),
  n: z.int().min(1),
  faults: z.literal('byzantine'),
});
export const LogStorageConfigSchema = z.object({ f: z.int().min(0) });
export const LogConsoleConfigSchema = z.object({ f: z.int().min(0) });

export const LOG_CONFIGS = {
  core: LogCoreConfigSchema,
  storage: LogStorageConfigSchema,
  console: LogConsoleConfigSchema,
} as const;
