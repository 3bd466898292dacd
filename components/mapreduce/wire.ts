/**
 * Messages of the MapReduce roles and clients over the authenticated transport: `u32 header length | JSON header |
 * payload bytes`. Headers are checked by zod schemas before anything acts on them; a message that fails is dropped
 * and counted by the receiver, which keeps serving.
 */
import { z } from 'zod';
import { MAX_HEADER_BYTES, MAX_REDUCERS } from './limits.js';

const id = z.string().min(1).max(128);
const idx = z.int().min(0).max(1_000_000);
/** Request numbers: any non-negative 32-bit integer (a long-lived client or worker counts up). */
const reqNo = z
  .int()
  .min(0)
  .max(2 ** 31);
const task = z.enum(['map', 'reduce']);
const digest = z.string().regex(/^[0-9a-f]{64}$/);

export const JobErrorSchema = z.object({
  kind: z.enum(['throw', 'timeout', 'memory', 'invalid']),
  message: z.string().max(4096),
  /** The record being processed: `<input>:<line>` for a map, the key for a reduce. */
  record: z.string().max(1024).nullable(),
});
export type JobError = z.infer<typeof JobErrorSchema>;

const taskRef = { job: id, task, index: idx, attempt: idx };

/** Where a reduce task gets the partition of one map task: the agreed digest and the workers that reported it. */
export const SourceSchema = z.object({ map: idx, digest, workers: z.array(id).max(64) });
export type Source = z.infer<typeof SourceSchema>;

export const TrackerToWorker = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('run'),
    ...taskRef,
    reducers: z.int().min(1).max(MAX_REDUCERS),
    module: z.string(),
    /** sha256 of `module`: the digest ordered with the job (replicated tracker); a run whose module differs is dropped. */
    moduleDigest: digest,
    input: z.string().max(1024),
    timeoutMs: z.int().min(1),
    memoryMb: z.int().min(1),
    sources: z.array(SourceSchema).optional(),
  }),
  z.object({ t: z.literal('abort'), ...taskRef }),
  z.object({ t: z.literal('forget'), job: id }),
]);
export type TrackerToWorkerMsg = z.infer<typeof TrackerToWorker>;

export const WorkerToTracker = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('done'),
    ...taskRef,
    digests: z.array(digest).max(MAX_REDUCERS),
    error: JobErrorSchema.nullable(),
  }),
  z.object({ t: z.literal('lost'), ...taskRef, why: z.string().max(1024) }),
  /** Sent on every (re)connection: where the worker runs, so replicas of a task can go to distinct fault domains. */
  z.object({ t: z.literal('hello'), cloud: z.string().max(128), domain: z.int().min(0).max(100_000) }),
]);
export type WorkerToTrackerMsg = z.infer<typeof WorkerToTracker>;

export const WorkerToWorker = z.discriminatedUnion('t', [
  z.object({ t: z.literal('fetch'), req: reqNo, job: id, map: idx, part: idx }),
  z.object({ t: z.literal('data'), req: reqNo, ok: z.boolean() }),
]);
export type WorkerToWorkerMsg = z.infer<typeof WorkerToWorker>;

export const ClientRequest = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('submit'),
    req: reqNo,
    /** Chosen by the client for a replicated tracker (every replica must know the job by one id). */
    job: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .optional(),
    name: z.string().min(1).max(200),
    module: z.string(),
    reducers: z.int().min(1).max(MAX_REDUCERS),
    chunks: z.array(z.string().max(1024)).min(1),
    timeoutMs: z.int().min(1),
    stragglerMs: z.int().min(0),
    memoryMb: z.int().min(1),
    replicated: z.boolean(),
    tentative: z.boolean().optional(),
  }),
  z.object({ t: z.literal('chunk'), req: reqNo, job: id, index: idx }),
  z.object({ t: z.literal('start'), req: reqNo, job: id }),
  z.object({ t: z.literal('status'), req: reqNo, job: id.optional() }),
  z.object({ t: z.literal('result'), req: reqNo, job: id, part: idx, replica: idx }),
  z.object({ t: z.literal('cancel'), req: reqNo, job: id }),
]);
export type ClientRequestMsg = z.infer<typeof ClientRequest>;

export const TrackerReply = z.object({
  t: z.literal('reply'),
  req: reqNo,
  ok: z.boolean(),
  body: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
});
export type TrackerReplyMsg = z.infer<typeof TrackerReply>;

export function encode(header: unknown, payload?: Uint8Array): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(h.length);
  return payload && payload.length > 0 ? Buffer.concat([len, h, payload]) : Buffer.concat([len, h]);
}

/** The header parsed by `schema` and the payload, or null for anything malformed. */
export function decode<T>(buf: Buffer, schema: z.ZodType<T>): { header: T; payload: Buffer } | null {
  if (buf.length < 4) return null;
  const n = buf.readUInt32BE(0);
  if (n > MAX_HEADER_BYTES || 4 + n > buf.length) return null;
  let json: unknown;
  try {
    json = JSON.parse(buf.subarray(4, 4 + n).toString('utf8'));
  } catch {
    return null;
  }
  const r = schema.safeParse(json);
  return r.success ? { header: r.data, payload: buf.subarray(4 + n) } : null;
}
