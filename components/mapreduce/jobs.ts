/**
 * What `tclouds mapreduce` does against a deployment: submit a job (module and input chunks), follow it, read its
 * record, cancel it, and the client-side vote on the reduce outputs (`result`): a partition's output is accepted
 * once f+1 replicas wrote identical bytes (digests computed here, not taken from anyone); replicas that wrote
 * something else are named.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ExitCode, TcError } from '../../kernel/errors.js';
import type { MapReduceClient } from './client.js';
import { MapReduceCode } from './codes.js';
import { type Chunk, readChunk, splitInputs } from './inputs.js';
import { checkModule } from './job-api.js';
import type { JobRecord } from './job-record.js';
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_STRAGGLER_MS,
  DEFAULT_TASK_MEMORY_MB,
  DEFAULT_TASK_TIMEOUT_MS,
  MAX_CHUNK_BYTES,
  MAX_MODULE_BYTES,
  MAX_REDUCERS,
  MAX_TASK_MEMORY_MB,
  MAX_TASK_TIMEOUT_MS,
  MIN_CHUNK_BYTES,
  MIN_TASK_MEMORY_MB,
  MIN_TASK_TIMEOUT_MS,
  UPLOAD_WINDOW,
} from './limits.js';
import { readStorageInputs } from './storage-io.js';

export const SubmitOptionsSchema = z.object({
  job: z.string().min(1),
  inputs: z.array(z.string().min(1)).min(1),
  name: z.string().min(1).max(200).optional(),
  reducers: z.int().min(1).max(MAX_REDUCERS),
  chunkBytes: z.int().min(MIN_CHUNK_BYTES).max(MAX_CHUNK_BYTES).default(DEFAULT_CHUNK_BYTES),
  /** Lines per chunk at most (chunks still end at chunkBytes). */
  chunkLines: z.int().min(1).max(MAX_CHUNK_BYTES).optional(),
  /** Topology file of the deployment, for `storage:COMPONENT/OBJECT` inputs. */
  topology: z.string().min(1).default('tclouds.yaml'),
  timeoutMs: z.int().min(MIN_TASK_TIMEOUT_MS).max(MAX_TASK_TIMEOUT_MS).default(DEFAULT_TASK_TIMEOUT_MS),
  stragglerMs: z.int().min(0).max(MAX_TASK_TIMEOUT_MS).default(DEFAULT_STRAGGLER_MS),
  memoryMb: z.int().min(MIN_TASK_MEMORY_MB).max(MAX_TASK_MEMORY_MB).default(DEFAULT_TASK_MEMORY_MB),
  replicated: z.boolean().default(true),
  /** Tentative execution: reduces start on first map copies, restarting when the vote disagrees. */
  tentative: z.boolean().default(false),
});
export type SubmitOptions = z.input<typeof SubmitOptionsSchema>;

function usage(message: string, hint?: string, where?: string): TcError {
  return new TcError(MapReduceCode.usage, message, {
    exit: ExitCode.usage,
    ...(hint ? { hint } : {}),
    ...(where ? { location: { path: where } } : {}),
  });
}

export function parseSubmitOptions(o: SubmitOptions) {
  const r = SubmitOptionsSchema.safeParse(o);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.join('.') ?? '';
  throw usage(
    `bad submit option ${where}: ${issue?.message ?? 'invalid'}`,
    'see `tclouds mapreduce submit --help`',
    where,
  );
}

/** The job module's text, checked by loading it here once (a module that does not load fails before upload). */
export async function loadJobModule(file: string): Promise<string> {
  const abs = path.resolve(file);
  const text = await fs.readFile(abs, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new TcError(MapReduceCode.jobModule, `cannot read the job module ${file}: ${e.code ?? e.message}`, {
      exit: ExitCode.notFound,
      location: { file: abs },
      hint: 'give a JavaScript module exporting map and reduce (examples: templates/mapreduce/)',
    });
  });
  if (Buffer.byteLength(text) > MAX_MODULE_BYTES) {
    throw new TcError(MapReduceCode.jobModule, `the job module is over ${MAX_MODULE_BYTES} bytes`, {
      exit: ExitCode.invalid,
      location: { file: abs },
    });
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`data:text/javascript;base64,${Buffer.from(text).toString('base64')}`)) as Record<
      string,
      unknown
    >;
  } catch (e) {
    throw new TcError(MapReduceCode.jobModule, `the job module ${file} does not load: ${(e as Error).message}`, {
      exit: ExitCode.invalid,
      location: { file: abs },
      hint: 'a job module is self-contained ESM (no imports of relative files): it runs on the workers',
    });
  }
  const checked = checkModule(mod);
  if (typeof checked === 'string') {
    throw new TcError(MapReduceCode.jobModule, `${file}: ${checked}`, {
      exit: ExitCode.invalid,
      location: { file: abs },
      hint: 'see templates/mapreduce/wordcount.mjs',
    });
  }
  return text;
}

export interface SubmitProgress {
  phase: 'upload' | 'running';
  chunksSent?: number;
  chunks?: number;
  record?: JobRecord;
}

/** Uploads the job and starts it; returns the job id. */
export async function submitJob(
  client: MapReduceClient,
  options: SubmitOptions,
  progress?: (p: SubmitProgress) => void,
): Promise<string> {
  const o = parseSubmitOptions(options);
  const module = await loadJobModule(o.job);
  const loaded = await readStorageInputs(o.inputs, o.topology);
  const chunks: Chunk[] = await splitInputs(o.inputs, o.chunkBytes, o.chunkLines, loaded);
  const { body } = await client.request({
    t: 'submit',
    // Every replica of a replicated tracker must know the job by one id: the client names it.
    ...(client.replicated ? { job: `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}` } : {}),
    name: o.name ?? path.basename(o.job),
    module,
    reducers: o.reducers,
    chunks: chunks.map((c) => c.label),
    timeoutMs: o.timeoutMs,
    stragglerMs: o.stragglerMs,
    memoryMb: o.memoryMb,
    replicated: o.replicated,
    ...(o.tentative ? { tentative: true } : {}),
  });
  const job = (body as { job: string }).job;
  // A single tracker starts the job now and runs each map as its chunk arrives (the upload overlaps the work); the
  // replicas of a replicated one endorse the job with a digest of all its content, so they start it after the upload.
  const early = !client.replicated;
  if (early) await client.request({ t: 'start', job });
  try {
    await uploadChunks(client, job, chunks, progress);
  } catch (e) {
    if (early) await cancelJob(client, job).catch(() => {});
    throw e;
  }
  if (!early) await client.request({ t: 'start', job });
  return job;
}

/** The chunks of `job`, UPLOAD_WINDOW in flight: the tracker stores one while the next is read and on the wire. */
async function uploadChunks(
  client: MapReduceClient,
  job: string,
  chunks: Chunk[],
  progress?: (p: SubmitProgress) => void,
): Promise<void> {
  let next = 0;
  let sent = 0;
  const lane = async () => {
    for (let i = next++; i < chunks.length; i = next++) {
      await client.request({ t: 'chunk', job, index: i }, await readChunk(chunks[i] as Chunk));
      progress?.({ phase: 'upload', chunksSent: ++sent, chunks: chunks.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOAD_WINDOW, chunks.length) }, lane));
}

export async function jobStatus(client: MapReduceClient, job: string): Promise<JobRecord> {
  return (await client.request({ t: 'status', job })).body as JobRecord;
}

export async function listJobs(client: MapReduceClient): Promise<Array<Omit<JobRecord, 'taskDetail'>>> {
  return ((await client.request({ t: 'status' })).body as { jobs: Array<Omit<JobRecord, 'taskDetail'>> }).jobs;
}

export async function cancelJob(client: MapReduceClient, job: string): Promise<{ job: string; state: string }> {
  return (await client.request({ t: 'cancel', job })).body as { job: string; state: string };
}

/** Follows a job until it ends, reporting each record (the tracker answers status at once; this paces the asking). */
export async function waitJob(
  client: MapReduceClient,
  job: string,
  everyMs: number,
  onRecord?: (r: JobRecord) => void,
  signal?: AbortSignal,
): Promise<JobRecord> {
  for (;;) {
    const rec = await jobStatus(client, job);
    onRecord?.(rec);
    if (rec.state !== 'running' || signal?.aborted) return rec;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface PartitionVote {
  part: number;
  accepted: boolean;
  digest: string | null;
  bytes: number;
  replicas: Array<{ worker: string; attempt: number; digest: string; agreed: boolean }>;
}

export interface ResultVote {
  job: string;
  f: number;
  ok: boolean;
  parts: PartitionVote[];
  /** Workers whose reduce output differed from the accepted one. */
  disagreeing: string[];
}

/** The client-side vote over every reduce partition; the accepted outputs in partition order (when all agreed). */
export async function voteResult(
  client: MapReduceClient,
  job: string,
): Promise<{ vote: ResultVote; output: Buffer[] }> {
  const rec = await jobStatus(client, job);
  if (rec.state !== 'done') {
    throw new TcError(
      MapReduceCode.notFinished,
      `job ${job} is ${rec.state}${rec.failure ? `: ${rec.failure.message}` : ''}`,
      {
        exit: rec.state === 'running' ? ExitCode.unavailable : ExitCode.failure,
        hint:
          rec.state === 'running'
            ? 'wait for it: `tclouds mapreduce status JOB`'
            : 'see `tclouds mapreduce status JOB`',
      },
    );
  }
  const parts: PartitionVote[] = [];
  const output: Buffer[] = [];
  for (let part = 0; part < rec.reducers; part++) {
    const replicas: Array<{ worker: string; attempt: number; digest: string; data: Buffer }> = [];
    for (let i = 0; ; i++) {
      const r = await client.request({ t: 'result', job, part, replica: i });
      const b = r.body as { worker: string; attempt: number; replicas: number };
      replicas.push({
        worker: b.worker,
        attempt: b.attempt,
        digest: createHash('sha256').update(r.payload).digest('hex'),
        data: r.payload,
      });
      if (i + 1 >= b.replicas) break;
    }
    const counts = new Map<string, number>();
    for (const r of replicas) counts.set(r.digest, (counts.get(r.digest) ?? 0) + 1);
    const winner = [...counts].find(([, n]) => n >= rec.f + 1)?.[0] ?? null;
    const data = replicas.find((r) => r.digest === winner)?.data;
    if (data) output.push(data);
    parts.push({
      part,
      accepted: winner !== null,
      digest: winner,
      bytes: data?.length ?? 0,
      replicas: replicas.map((r) => ({
        worker: r.worker,
        attempt: r.attempt,
        digest: r.digest,
        agreed: r.digest === winner,
      })),
    });
  }
  const disagreeing = [
    ...new Set(parts.flatMap((p) => p.replicas.filter((r) => !r.agreed).map((r) => r.worker))),
  ].sort();
  return { vote: { job, f: rec.f, ok: parts.every((p) => p.accepted), parts, disagreeing }, output };
}
