/**
 * Body of a worker thread that runs tasks of one job module of one job (runner.ts starts it with a heap limit, reuses
 * it for the next task of the same job and module while it stays warm, and stops it at a task's deadline). The module
 * is imported once per thread and its instance kept for the thread's later tasks: a fresh import per task cost about
 * an eighth of a word count map task (a new instance runs its hot loop cold). Tasks of one job may therefore see the
 * module-level state earlier tasks of the same job left in this thread; a module that depends on it gives outputs
 * that depend on scheduling, which the replicas' vote reports as non-deterministic. Another job never shares the
 * thread: the module file lives in the job's own directory, and threads are keyed by that path. It reports the record
 * it is at through shared memory, so a module that never returns can be named at the record it got stuck on.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import {
  checkModule,
  errorText,
  type JobModule,
  PROGRESS,
  RecordError,
  runMap,
  runReduce,
  type SplitMarks,
} from './job-api.js';

export interface ThreadTask {
  /** Tells the thread's reply to this task apart from a late one of an earlier task. */
  id: number;
  modulePath: string;
  kind: 'map' | 'reduce';
  input: string;
  firstLine: number;
  reducers: number;
  /** Map: the chunk; reduce: the partition of every map task, in map order. */
  data: Uint8Array[];
}

/** Shared with runner.ts: the record (line) a map is at, and for a `mapChunk` call its split and marked offset. */
const progress = new Int32Array((workerData as { progress: SharedArrayBuffer }).progress);
const current = (n: number) => {
  progress[PROGRESS.record] = n;
};
const marks: SplitMarks = {
  split: (lastLine) => {
    progress[PROGRESS.offset] = -1;
    progress[PROGRESS.lastLine] = lastLine;
    progress[PROGRESS.batch] = 1;
  },
  at: (offset) => {
    progress[PROGRESS.offset] = offset;
  },
};
/** The module instance this thread's tasks run: imported by the first of them (runner.ts keys threads by its path). */
let loaded: { path: string; module: JobModule } | undefined;

async function jobModule(modulePath: string): Promise<JobModule> {
  if (loaded?.path === modulePath) return loaded.module;
  const m = checkModule((await import(pathToFileURL(modulePath).href)) as Record<string, unknown>);
  if (typeof m === 'string') throw new RecordError('invalid', m, null);
  loaded = { path: modulePath, module: m };
  return m;
}

const dec = new TextDecoder();
const enc = new TextEncoder();

async function run(w: ThreadTask): Promise<void> {
  current(0);
  progress[PROGRESS.batch] = 0;
  try {
    const m = await jobModule(w.modulePath);
    const texts = w.data.map((d) => dec.decode(d));
    const outs =
      w.kind === 'map'
        ? runMap(m, w.input, w.firstLine, texts[0] ?? '', w.reducers, current, marks)
        : [runReduce(m, texts, current)];
    const bytes = outs.map((o) => enc.encode(o));
    parentPort?.postMessage(
      { id: w.id, ok: true, outputs: bytes },
      bytes.map((b) => b.buffer as ArrayBuffer),
    );
  } catch (e) {
    const r = e instanceof RecordError ? e : new RecordError('throw', errorText(e), null);
    parentPort?.postMessage({ id: w.id, ok: false, error: { kind: r.kind, message: r.message, record: r.record } });
  }
}

parentPort?.on('message', (t: ThreadTask) => void run(t));
