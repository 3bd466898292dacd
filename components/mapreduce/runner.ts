/**
 * Runs one task of a job module in a worker thread with a heap limit and a deadline (runner-thread.ts). The thread
 * is terminated at the deadline or on abort; what the module did wrong comes back as a JobError naming the record.
 */
import { Worker } from 'node:worker_threads';
import type { JobError } from './wire.js';

export interface RunInput {
  modulePath: string;
  kind: 'map' | 'reduce';
  input: string;
  firstLine: number;
  reducers: number;
  data: Uint8Array[];
  timeoutMs: number;
  memoryMb: number;
  signal?: AbortSignal;
}

export type RunResult = { ok: true; outputs: Buffer[] } | { ok: false; error: JobError } | { ok: false; aborted: true };

const THREAD = new URL('./runner-thread.js', import.meta.url);

export function runTask(input: RunInput): Promise<RunResult> {
  const progress = new SharedArrayBuffer(4);
  const { signal, timeoutMs, memoryMb, ...rest } = input;
  const thread = new Worker(THREAD, {
    workerData: { ...rest, progress },
    resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.min(64, memoryMb / 4) },
    stdout: true,
    stderr: true,
  });
  // What a job module prints is not part of its output; drained so a chatty module cannot fill the worker's memory.
  thread.stdout.resume();
  thread.stderr.resume();
  const at = () => {
    const n = new Int32Array(progress)[0] as number;
    return input.kind === 'map' ? `${input.input}:${n}` : `key #${n}`;
  };
  return new Promise<RunResult>((resolve) => {
    let settled = false;
    const finish = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void thread.terminate();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        finish({ ok: false, error: { kind: 'timeout', message: `no result within ${timeoutMs} ms`, record: at() } }),
      timeoutMs,
    );
    const onAbort = () => finish({ ok: false, aborted: true });
    signal?.addEventListener('abort', onAbort);
    thread.on('message', (m: { ok: boolean; outputs?: Uint8Array[]; error?: JobError }) => {
      if (m.ok)
        finish({ ok: true, outputs: (m.outputs ?? []).map((o) => Buffer.from(o.buffer, o.byteOffset, o.byteLength)) });
      else finish({ ok: false, error: m.error as JobError });
    });
    thread.on('error', (e: Error & { code?: string }) => {
      const memory = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      finish({
        ok: false,
        error: {
          kind: memory ? 'memory' : 'throw',
          message: memory ? `over the task heap limit of ${memoryMb} MiB` : e.message,
          record: at(),
        },
      });
    });
    thread.on('exit', () =>
      finish({ ok: false, error: { kind: 'throw', message: 'the task thread exited without a result', record: at() } }),
    );
  });
}
