/**
 * Body of a worker thread that runs tasks of one job module (runner.ts starts it with a heap limit, reuses it for the
 * next task of the same module while it stays warm, and stops it at a task's deadline). Each task imports the module
 * afresh (a URL of its own), so module-level state never carries from one task to the next, as with a new thread;
 * what stays warm is the isolate, the job API and the engine's compiled code. It reports the record it is at through
 * shared memory, so a module that never returns can be named at the record it got stuck on.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { checkModule, errorText, PROGRESS, RecordError, runMap, runReduce, type SplitMarks } from './job-api.js';

export interface ThreadTask {
  /** Tells a task's import apart from the previous ones (a fresh module instance). */
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
const dec = new TextDecoder();
const enc = new TextEncoder();

async function run(w: ThreadTask): Promise<void> {
  current(0);
  progress[PROGRESS.batch] = 0;
  try {
    const url = `${pathToFileURL(w.modulePath).href}?task=${w.id}`;
    const m = checkModule((await import(url)) as Record<string, unknown>);
    if (typeof m === 'string') throw new RecordError('invalid', m, null);
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
