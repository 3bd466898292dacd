/**
 * Body of the worker thread that runs one task of a job module (runner.ts starts it with a heap limit and stops it
 * at its deadline). It reports the record it is at through shared memory, so a module that never returns can be
 * named at the record it got stuck on.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkModule, errorText, RecordError, runMap, runReduce } from './job-api.js';

interface ThreadInput {
  modulePath: string;
  kind: 'map' | 'reduce';
  input: string;
  firstLine: number;
  reducers: number;
  /** Map: the chunk; reduce: the partition of every map task, in map order. */
  data: Uint8Array[];
  progress: SharedArrayBuffer;
}

async function main(): Promise<void> {
  const w = workerData as ThreadInput;
  const progress = new Int32Array(w.progress);
  const current = (n: number) => {
    progress[0] = n;
  };
  try {
    const m = checkModule((await import(w.modulePath)) as Record<string, unknown>);
    if (typeof m === 'string') throw new RecordError('invalid', m, null);
    const dec = new TextDecoder();
    const texts = w.data.map((d) => dec.decode(d));
    const outs =
      w.kind === 'map'
        ? runMap(m, w.input, w.firstLine, texts[0] ?? '', w.reducers, current)
        : [runReduce(m, texts, current)];
    const enc = new TextEncoder();
    const bytes = outs.map((o) => enc.encode(o));
    parentPort?.postMessage(
      { ok: true, outputs: bytes },
      bytes.map((b) => b.buffer as ArrayBuffer),
    );
  } catch (e) {
    const r = e instanceof RecordError ? e : new RecordError('throw', errorText(e), null);
    parentPort?.postMessage({ ok: false, error: { kind: r.kind, message: r.message, record: r.record } });
  }
}

void main();
