/**
 * The shape of an Amazon States Language definition as this engine runs it, as zod schemas (strict: an unknown
 * field, often a typo, is refused with its path). What one schema cannot say (targets exist, every state is
 * reachable, paths parse, Choice rules) is checked in validate.ts.
 */
import { z } from 'zod';
import {
  MAX_BRANCHES,
  MAX_MAP_ITEMS,
  MAX_RETRY_ATTEMPTS,
  MAX_TASK_TIMEOUT_SECONDS,
  MAX_WAIT_SECONDS,
} from '../limits.js';
import type { Json } from './json.js';

/** The one Task resource: Step Functions' HTTP task, so definitions port both ways. */
export const HTTP_INVOKE = 'arn:aws:states:::http:invoke';

const json: z.ZodType<Json> = z.json() as z.ZodType<Json>;
const path = z.string().min(1);
const nullablePath = path.nullable().optional();
const common = {
  Comment: z.string().optional(),
  InputPath: nullablePath,
  OutputPath: nullablePath,
};
const flow = { Next: z.string().min(1).optional(), End: z.literal(true).optional() };

const retrier = z.strictObject({
  ErrorEquals: z.array(z.string().min(1)).min(1),
  IntervalSeconds: z.int().min(1).max(MAX_WAIT_SECONDS).optional(),
  MaxAttempts: z.int().min(0).max(MAX_RETRY_ATTEMPTS).optional(),
  BackoffRate: z.number().min(1).max(100).optional(),
  MaxDelaySeconds: z.int().min(1).max(MAX_WAIT_SECONDS).optional(),
  Comment: z.string().optional(),
});
const catcher = z.strictObject({
  ErrorEquals: z.array(z.string().min(1)).min(1),
  Next: z.string().min(1),
  ResultPath: nullablePath,
  Comment: z.string().optional(),
});
const errorHandling = { Retry: z.array(retrier).optional(), Catch: z.array(catcher).optional() };
const results = { ResultPath: nullablePath, ResultSelector: json.optional() };

export const PassSchema = z.strictObject({
  Type: z.literal('Pass'),
  ...common,
  ...flow,
  Parameters: json.optional(),
  Result: json.optional(),
  ResultPath: nullablePath,
});
export const TaskSchema = z.strictObject({
  Type: z.literal('Task'),
  ...common,
  ...flow,
  ...results,
  ...errorHandling,
  Resource: z.literal(HTTP_INVOKE, { error: `the only Task resource this engine runs is ${HTTP_INVOKE}` }),
  Parameters: z.record(z.string(), json),
  TimeoutSeconds: z.int().min(1).max(MAX_TASK_TIMEOUT_SECONDS).optional(),
});
export const WaitSchema = z.strictObject({
  Type: z.literal('Wait'),
  ...common,
  ...flow,
  Seconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional(),
  SecondsPath: path.optional(),
  Timestamp: z.iso.datetime({ offset: true }).optional(),
  TimestampPath: path.optional(),
});
export const SucceedSchema = z.strictObject({ Type: z.literal('Succeed'), ...common });
export const FailSchema = z.strictObject({
  Type: z.literal('Fail'),
  Comment: z.string().optional(),
  Error: z.string().optional(),
  Cause: z.string().optional(),
  ErrorPath: path.optional(),
  CausePath: path.optional(),
});
export const ChoiceSchema = z.strictObject({
  Type: z.literal('Choice'),
  ...common,
  Choices: z.array(z.record(z.string(), json)).min(1),
  Default: z.string().min(1).optional(),
});

export interface Scope {
  StartAt: string;
  States: Record<string, State>;
  Comment?: string;
}
const scope: z.ZodType<Scope> = z.lazy(() =>
  z.strictObject({
    StartAt: z.string().min(1),
    States: z.record(z.string().min(1).max(80), StateSchema),
    Comment: z.string().optional(),
    ProcessorConfig: z.record(z.string(), json).optional(),
  }),
) as unknown as z.ZodType<Scope>;

export const ParallelSchema = z.strictObject({
  Type: z.literal('Parallel'),
  ...common,
  ...flow,
  ...results,
  ...errorHandling,
  Parameters: json.optional(),
  Branches: z.array(scope).min(1).max(MAX_BRANCHES),
});
export const MapSchema = z.strictObject({
  Type: z.literal('Map'),
  ...common,
  ...flow,
  ...results,
  ...errorHandling,
  ItemsPath: path.optional(),
  ItemSelector: json.optional(),
  /** The pre-2022 names of ItemSelector and ItemProcessor, still accepted by Step Functions. */
  Parameters: json.optional(),
  ItemProcessor: scope.optional(),
  Iterator: scope.optional(),
  MaxConcurrency: z.int().min(0).max(MAX_MAP_ITEMS).optional(),
});

export const StateSchema = z.discriminatedUnion('Type', [
  PassSchema,
  TaskSchema,
  ChoiceSchema,
  WaitSchema,
  SucceedSchema,
  FailSchema,
  ParallelSchema,
  MapSchema,
]);

export const DefinitionSchema = z.strictObject({
  Comment: z.string().optional(),
  StartAt: z.string().min(1),
  States: z.record(z.string().min(1).max(80), StateSchema),
  Version: z.literal('1.0').optional(),
  TimeoutSeconds: z.int().min(1).optional(),
  QueryLanguage: z.literal('JSONPath', { error: 'only JSONPath is supported (no JSONata)' }).optional(),
});

export type State = z.infer<typeof StateSchema>;
export type Definition = z.infer<typeof DefinitionSchema>;
export type TaskState = z.infer<typeof TaskSchema>;
export type PassState = z.infer<typeof PassSchema>;
export type ChoiceState = z.infer<typeof ChoiceSchema>;
export type WaitState = z.infer<typeof WaitSchema>;
export type FailState = z.infer<typeof FailSchema>;
export type ParallelState = z.infer<typeof ParallelSchema>;
export type MapState = z.infer<typeof MapSchema>;
export type Retrier = z.infer<typeof retrier>;
export type Catcher = z.infer<typeof catcher>;
