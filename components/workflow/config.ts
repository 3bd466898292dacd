/**
 * Node configuration of a workflow component's one role, `engine`: an SMR replica (components/smr) running the
 * workflow service, plus what its caller shell needs. Written by plan.ts, parsed by node.ts (engineConfig).
 *
 * There is no coordination role: the SMR orders every input of the engines (the seed's ZooKeeper ensemble did
 * that, and elected who makes each call; here the call's id and the ordered takeovers choose the caller).
 */
import { z } from 'zod';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { parseNodeConfig } from '../node-config.js';
import { DEFAULT_WAL_MAX_BYTES, MIN_WAL_MAX_BYTES } from '../smr/config.js';
import { WorkflowCode } from './codes.js';

/** How long the other replicas give a call's caller before the next one takes it over (TClouds D2.2.1, §9.3.2). */
export const DEFAULT_TAKEOVER_MS = 2000;
/** Bounds of the takeover time: below it a call slower than a few round trips would be made twice. */
export const MIN_TAKEOVER_MS = 100;
export const MAX_TAKEOVER_MS = 600_000;

export const WorkflowEngineConfigSchema = z.object({
  f: z.int().min(0),
  n: z.int().min(1),
  faults: z.enum(['byzantine', 'crash']),
  /** `fsync`: every ordered input is in the replica's write-ahead log before it is answered; `none`: memory. */
  durability: z.enum(['fsync', 'none']).default('fsync'),
  walMaxBytes: z.int().min(MIN_WAL_MAX_BYTES).default(DEFAULT_WAL_MAX_BYTES),
  checkpointPeriod: z.int().min(1).default(1000),
  batchSize: z.int().min(1).max(4000).default(400),
  takeoverMs: z.int().min(MIN_TAKEOVER_MS).max(MAX_TAKEOVER_MS).default(DEFAULT_TAKEOVER_MS),
  /** POST /admin/fault may make this engine misbehave (kind.ts fault modes); local deployments set it. */
  faultInjection: z.boolean().default(false),
});
export type WorkflowEngineConfig = z.output<typeof WorkflowEngineConfigSchema>;

export const WORKFLOW_CONFIGS = { engine: WorkflowEngineConfigSchema } as const;

/** The engine's config, checked against its group: n engines listed, n >= 2f+1 (crash) or 3f+1 (Byzantine). */
export function engineConfig(raw: unknown, members: number): WorkflowEngineConfig {
  const c = parseNodeConfig(WorkflowEngineConfigSchema, raw, {
    code: WorkflowCode.config,
    what: 'workflow engine config',
  });
  const need = c.faults === 'crash' ? 2 * c.f + 1 : 3 * c.f + 1;
  if (c.n !== members || c.n < need) {
    throw new TcError(
      WorkflowCode.config,
      `workflow engine config says n=${c.n}, f=${c.f} (${c.faults}) but the spec lists ${members} engines (need n = listed >= ${need})`,
      { exit: ExitCode.invalid, hint: 'redeploy so that specs and config agree' },
    );
  }
  return c;
}
