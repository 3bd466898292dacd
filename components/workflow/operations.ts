/**
 * The operations of the workflow service and their replies, as JSON: what clients send (deploy a definition,
 * start, status, history, list, cancel) and what engine replicas send (a call's result, a takeover, a timer tick).
 * One zod schema checks every operation at the replica, so a malformed one gets an error reply that is the same
 * on every replica.
 */
import { z } from 'zod';
import type { Json } from './asl/json.js';
import type { CallOutcome, ExecutionStatus, HistoryEvent } from './engine/types.js';
import { MAX_HISTORY_PAGE, MAX_LIST, MAX_NAME_LENGTH, MAX_START_WAIT_MS } from './limits.js';

const name = z
  .string()
  .min(1)
  .max(MAX_NAME_LENGTH)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only');
const json = z.json() as z.ZodType<Json>;
const outcome: z.ZodType<CallOutcome> = z.union([
  z.object({
    ok: z.literal(true),
    status: z.int().min(100).max(999),
    statusText: z.string(),
    headers: z.record(z.string(), z.string()),
    body: z.string(),
  }),
  z.object({ ok: z.literal(false), error: z.string().min(1), cause: z.string() }),
]);

export const WorkflowOpSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('deploy'), name, definition: json }),
  z.object({
    op: z.literal('start'),
    definition: name,
    version: z.int().min(1).optional(),
    input: json,
    name: name.optional(),
    /** Reply when the execution ends, or after this long with it still running (a long-poll, no status polls). */
    waitMs: z.int().min(0).max(MAX_START_WAIT_MS).optional(),
  }),
  z.object({ op: z.literal('status'), execution: z.string().min(1) }),
  z.object({
    op: z.literal('history'),
    execution: z.string().min(1),
    from: z.int().min(0).default(0),
    limit: z.int().min(1).max(MAX_HISTORY_PAGE).default(MAX_HISTORY_PAGE),
  }),
  z.object({
    op: z.literal('list'),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'ABORTED']).optional(),
    limit: z.int().min(1).max(MAX_LIST).default(100),
  }),
  z.object({ op: z.literal('definitions') }),
  z.object({ op: z.literal('cancel'), execution: z.string().min(1), cause: z.string().max(1000).default('') }),
  z.object({ op: z.literal('result'), call: z.string().min(1), outcome }),
  z.object({ op: z.literal('takeover'), call: z.string().min(1), takeovers: z.int().min(0) }),
  z.object({ op: z.literal('tick') }),
]);
export type WorkflowOp = z.input<typeof WorkflowOpSchema>;
export type ParsedWorkflowOp = z.output<typeof WorkflowOpSchema>;

/** Operations only engine replicas may send. */
export const ENGINE_OPS = new Set(['result', 'takeover', 'tick']);
/** Operations that change nothing (clients may send them read-only). */
export const READ_OPS = new Set(['status', 'history', 'list', 'definitions']);

export interface ExecutionSummary {
  execution: string;
  definition: string;
  version: number;
  status: ExecutionStatus;
  startedAt: string;
  stoppedAt: string | null;
  output?: Json;
  error?: string;
  cause?: string;
  /** Calls scheduled and not yet answered. */
  callsInFlight: number;
  steps: number;
}

export interface ErrorReply {
  error: { code: string; message: string; hint?: string };
}

export type WorkflowReply =
  | ErrorReply
  | { deployed: { name: string; version: number; created: boolean } }
  | { execution: ExecutionSummary; created?: boolean }
  | { history: HistoryEvent[]; truncated: boolean; next: number | null }
  | { executions: ExecutionSummary[] }
  | { definitions: { name: string; versions: number; latestDeployedAt: string }[] }
  | { ok: true; applied: boolean };
