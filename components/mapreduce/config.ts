/**
 * Node configuration of a MapReduce component's roles: the job tracker and the workers. Written by plan.ts;
 * parsed by the roles (node.ts).
 */
import { z } from 'zod';

export const JobTrackerConfigSchema = z.object({
  f: z.int().min(0),
  workers: z.int().min(1),
  /** Replicas each task starts with (f+1) and the most it may reach after disagreements (2f+1). */
  taskReplicas: z.int().min(1),
  maxTaskReplicas: z.int().min(1),
  /**
   * `jobTracker: replicated`: this node is one of 3f+1 tracker replicas running the scheduling state on the SMR
   * (tracker-service.ts); absent or false: the single trusted tracker of the seed.
   */
  replicated: z.boolean().optional(),
  /** Local deployments switch it on for every node of a kind with fault modes; only a replicated tracker takes them. */
  faultInjection: z.boolean().optional(),
});
export const WorkerConfigSchema = z.object({
  f: z.int().min(0),
  /** POST /admin/fault may switch this worker into a misbehaviour mode (worker-faults.ts). */
  faultInjection: z.boolean().optional(),
});

export const MAPREDUCE_CONFIGS = { 'job-tracker': JobTrackerConfigSchema, worker: WorkerConfigSchema } as const;
