/**
 * Node configuration of a workflow component's roles: the engine replicas and the coordination ensemble.
 * Written by plan.ts; parsed by the roles once they exist.
 */
import { z } from 'zod';

export const WorkflowEngineConfigSchema = z.object({
  f: z.int().min(0),
  n: z.int().min(1),
  faults: z.enum(['byzantine', 'crash']),
});
export const CoordinationConfigSchema = z.object({ f: z.int().min(0), n: z.int().min(1) });

export const WORKFLOW_CONFIGS = { engine: WorkflowEngineConfigSchema, coordination: CoordinationConfigSchema } as const;
