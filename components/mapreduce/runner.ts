/**
 * Runs one task of a job module in a worker thread with a heap limit and a deadline (runner-thread.ts). The thread
 * is terminated at the deadline or on abort; what the module did wrong comes back as a JobError naming the record.
 *
 * Threads are kept warm between tasks of the same module file and heap limit (a new isolate per task cost about a
 * fifth of a word count map task: starting it, loading the job API and compiling the hot loop again). The module file
 * is in its job's directory (worker.ts), so a thread only ever runs one job's tasks, with one module instance
 * (runner-thread.ts). A thread that timed out, was aborted or failed is never reused; an idle one stops after
 * THREAD_IDLE_MS, and each runs at most THREAD_MAX_TASKS tasks.
 */
import { Worker } from 'node:worker_threads';
import { PROGRESS, splitRecord } from './job-api.js';
import { THREAD_IDLE_MS, THREAD_MAX_TASKS } from './limits.js';
import type { ThreadTask } from './runner-thread.js';
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

type ThreadReply = { id: number; ok: boolean; outputs?: Uint8Array[]; error?: JobError };

const THREAD = new URL('./runner-thread.js', import.meta.url);

interface Warm {
  worker: Worker;
  progress: Int32Array;
  tasks: number;
  idle?: NodeJS.Timeout;
}

const idle = new Map<string, Warm[]>();
let nextTask = 0;

function spawn(memoryMb: number): Warm {
  const progress = new SharedArrayBuffer(4 * PROGRESS.length);
  const worker = new Worker(THREAD, {
    workerData: { progress },
    resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.min(64, memoryMb / 4) },
    stdout: true,
    stderr: true,
  });
  // What a job module prints is not part of its output; drained so a chatty module cannot fill the worker's memory.
  worker.stdout.resume();
  worker.stderr.resume();
  return { worker, progress: new Int32Array(progress), tasks: 0 };
}

function take(key: string, memoryMb: number): Warm {
  const w = idle.get(key)?.pop();
  if (!w) return spawn(memoryMb);
  clearTimeout(w.idle);
  return w;
}

/** A thread that finished a task cleanly goes back to the pool (or stops, past its task budget). */
function release(key: string, w: Warm): void {
  w.worker.removeAllListeners('message').removeAllListeners('error').removeAllListeners('exit');
  if (w.tasks >= THREAD_MAX_TASKS) {
    void w.worker.terminate();
    return;
  }
  w.idle = setTimeout(() => {
    idle.set(
      key,
      (idle.get(key) ?? []).filter((x) => x !== w),
    );
    void w.worker.terminate();
  }, THREAD_IDLE_MS);
  w.idle.unref();
  w.worker.unref();
  idle.set(key, [...(idle.get(key) ?? []), w]);
}

/** Stops every warm thread (the worker role's stop). */
export async function closeRunners(): Promise<void> {
  const all = [...idle.values()].flat();
  idle.clear();
  await Promise.all(
    all.map((w) => {
      clearTimeout(w.idle);
      return w.worker.terminate();
    }),
  );
}

export function runTask(input: RunInput): Promise<RunResult> {
  const { signal, timeoutMs, memoryMb, ...rest } = input;
  const key = `${memoryMb}:${input.modulePath}`;
  const w = take(key, memoryMb);
  w.worker.ref();
  w.tasks++;
  const task: ThreadTask = { ...rest, id: nextTask++ };
  const at = () => {
    const p = w.progress;
    const n = p[PROGRESS.record] as number;
    if (input.kind === 'reduce') return `key #${n}`;
    if (p[PROGRESS.batch] !== 1) return `${input.input}:${n}`;
    const offset = p[PROGRESS.offset] as number;
    return splitRecord(input.input, input.firstLine, p[PROGRESS.lastLine] as number, offset < 0 ? null : offset);
  };
  return new Promise<RunResult>((resolve) => {
    let settled = false;
    const finish = (r: RunResult, reuse = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (reuse) release(key, w);
      else void w.worker.terminate();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        finish({ ok: false, error: { kind: 'timeout', message: `no result within ${timeoutMs} ms`, record: at() } }),
      timeoutMs,
    );
    const onAbort = () => finish({ ok: false, aborted: true });
    signal?.addEventListener('abort', onAbort);
    w.worker.on('message', (m: ThreadReply) => {
      if (m.id !== task.id) return;
      if (m.ok)
        finish(
          { ok: true, outputs: (m.outputs ?? []).map((o) => Buffer.from(o.buffer, o.byteOffset, o.byteLength)) },
          true,
        );
      // A module that threw may have left its thread in any state: not reused.
      else finish({ ok: false, error: m.error as JobError });
    });
    w.worker.on('error', (e: Error & { code?: string }) => {
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
    w.worker.on('exit', () =>
      finish({ ok: false, error: { kind: 'throw', message: 'the task thread exited without a result', record: at() } }),
    );
    w.worker.postMessage(task);
  });
}
