/**
 * What a job module is (the contract users write against; templates/mapreduce/ has examples), and the pure parts of
 * running one that the runner thread, the single-process reference of the tests and the bench share:
 *
 *   export function map(key, value, emit)     key: `<input>:<line>`, value: one line of text; emit(k: string, v)
 *   export function mapChunk(key, text, emit, at)
 *                                             optional, preferred over `map` when present: one call per map task
 *                                             (its whole input split, whole lines, each ending in \n); key:
 *                                             `<input>:<first line>`. For in-mapper combining: aggregate in the
 *                                             call, emit each key once. `at(offset)` (optional to call) marks the
 *                                             character offset it has reached, so an error names that line
 *   export function reduce(key, values)       the values of one key in map-task order; returns the output value
 *   export function combine(key, values)      optional: folds values of one key inside a map task; called as
 *                                             values arrive, with [so far, next], so zero or more times per key
 *   export function partition(key, reducers)  optional: the reduce task of a key (default: FNV-1a of the key)
 *
 * Keys are strings, values anything JSON can carry. Outputs are lines `[key,value]` in JSON, sorted by key (code
 * units), so equal work gives equal bytes and replicas can be compared by digest.
 */
export type Emit = (key: string, value: unknown) => void;

/** Marks the character offset of its split a `mapChunk` call has reached (for error reports). */
export type At = (offset: number) => void;

export interface JobModule {
  /** Absent only when `mapChunk` is there. */
  map(key: string, value: string, emit: Emit): void;
  mapChunk?(key: string, text: string, emit: Emit, at: At): void;
  reduce(key: string, values: unknown[]): unknown;
  combine?(key: string, values: unknown[]): unknown;
  partition?(key: string, reducers: number): number;
}

/** The job module's functions, or a message saying what is missing. */
export function checkModule(m: Record<string, unknown>): JobModule | string {
  if (typeof m.map !== 'function' && typeof m.mapChunk !== 'function') {
    return 'the job module exports no function `map` (nor `mapChunk`)';
  }
  if (typeof m.reduce !== 'function') return 'the job module exports no function `reduce`';
  for (const k of ['map', 'mapChunk', 'combine', 'partition']) {
    if (m[k] !== undefined && typeof m[k] !== 'function') return `the job module's \`${k}\` is not a function`;
  }
  return m as unknown as JobModule;
}

/** FNV-1a over the UTF-16 code units of a key: stable across processes and Node versions. */
export function defaultPartition(key: string, reducers: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % reducers;
}

/** A job error with the record it happened at; thrown through the runner to the worker. */
export class RecordError extends Error {
  constructor(
    readonly kind: 'throw' | 'invalid',
    message: string,
    readonly record: string | null,
  ) {
    super(message);
  }
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const notString = (k: unknown, record: string) =>
  new RecordError('invalid', `emitted a key that is not a string: ${typeof k}`, record);

/** One output line; a value JSON cannot carry is the job's error. */
export function outputLine(key: string, value: unknown, record: string | (() => string)): string {
  const v = JSON.stringify(value);
  if (v === undefined) {
    const at = typeof record === 'string' ? record : record();
    throw new RecordError('invalid', `the value of key ${JSON.stringify(key)} is not JSON`, at);
  }
  return `[${JSON.stringify(key)},${v}]\n`;
}

/**
 * Where a runner learns how far a `mapChunk` call got: `split` once before the call (the split's last line), `at`
 * whenever the job marks an offset. A runner that has to stop a stuck module names the split from these.
 */
export interface SplitMarks {
  split(lastLine: number): void;
  at: At;
}

/** Slots of the shared Int32Array through which a runner thread reports its progress (runner.ts reads it). */
export const PROGRESS = { record: 0, batch: 1, offset: 2, lastLine: 3, length: 4 } as const;

const NO_MARKS: SplitMarks = { split: () => {}, at: () => {} };

/**
 * The record naming a split of a batch map (`<input>:<first>-<last>`), with the offset the job last marked and, when
 * the text is at hand, that offset's line.
 */
export function splitRecord(
  input: string,
  firstLine: number,
  lastLine: number,
  offset: number | null,
  text?: string,
): string {
  const split = `${input}:${firstLine}-${lastLine}`;
  if (offset === null) return split;
  return text === undefined
    ? `${split} at offset ${offset}`
    : `${split} at offset ${offset} (line ${lineAt(text, offset, firstLine)})`;
}

/** The number of the line holding character `offset` of a chunk starting at `firstLine`. */
function lineAt(text: string, offset: number, firstLine: number): number {
  let n = firstLine;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The number of the last line of a chunk of whole lines starting at `firstLine`. */
function lastLineOf(text: string, firstLine: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < text.length - 1; i = text.indexOf('\n', i + 1)) n++;
  return firstLine + n;
}

/**
 * A map task over the lines of one chunk: per partition, the sorted output text. `current` receives the record
 * number before each call into the job module, so a runner that has to stop a stuck module can name the record. A job
 * with `mapChunk` gets the whole chunk in one call instead, and `marks` hears of it.
 */
export function runMap(
  job: JobModule,
  input: string,
  firstLine: number,
  text: string,
  reducers: number,
  current: (n: number) => void,
  marks: SplitMarks = NO_MARKS,
): string[] {
  // One table for the whole chunk; keys are partitioned once each at the end, not once per emit. With a combiner
  // each key holds one value, folded as values arrive (combine(k, [sofar, v])): no lists to grow and collect,
  // which made word count 1.8x slower than folding.
  const groups = new Map<string, unknown[]>();
  // A holder per key: one table lookup per emit (a get and a set cost two, each hashing the fresh key string).
  const folded = new Map<string, { v: unknown }>();
  let record = '';
  const combine = job.combine;
  const emit: Emit = combine
    ? (k, v) => {
        if (typeof k !== 'string') throw notString(k, record);
        const slot = folded.get(k);
        if (slot === undefined) folded.set(k, { v });
        else slot.v = combine(k, [slot.v, v]);
      }
    : (k, v) => {
        if (typeof k !== 'string') throw notString(k, record);
        const a = groups.get(k);
        if (a === undefined) groups.set(k, [v]);
        else a.push(v);
      };
  if (job.mapChunk) {
    const last = lastLineOf(text, firstLine);
    record = splitRecord(input, firstLine, last, null);
    marks.split(last);
    current(firstLine);
    mapSplit(job.mapChunk, `${input}:${firstLine}`, text, emit, marks.at, (offset) =>
      splitRecord(input, firstLine, last, offset, text),
    );
  } else {
    let start = 0;
    let line = firstLine;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      record = `${input}:${line}`;
      current(line);
      try {
        job.map(record, text.slice(start, end), emit);
      } catch (e) {
        if (e instanceof RecordError) throw e;
        throw new RecordError('throw', errorText(e), record);
      }
      start = end + 1;
      line++;
    }
  }
  if (combine) for (const [k, slot] of folded) groups.set(k, [slot.v]);
  return serializeParts(job, input, groups, reducers);
}

/** One `mapChunk` call; an error names the split and the offset the job last marked, if it marked one. */
function mapSplit(
  mapChunk: NonNullable<JobModule['mapChunk']>,
  key: string,
  text: string,
  emit: Emit,
  at: At,
  recordAt: (offset: number | null) => string,
): void {
  let offset: number | null = null;
  const mark: At = (o) => {
    if (!Number.isInteger(o) || o < 0 || o > text.length) return;
    offset = o;
    at(o);
  };
  try {
    mapChunk(key, text, emit, mark);
  } catch (e) {
    if (e instanceof RecordError) throw new RecordError(e.kind, e.message, recordAt(offset));
    throw new RecordError('throw', errorText(e), recordAt(offset));
  }
}

/** Per partition, the sorted output text of a map task (combined when the job has a combiner). */
function serializeParts(job: JobModule, input: string, groups: Map<string, unknown[]>, reducers: number): string[] {
  const parts: string[][] = Array.from({ length: reducers }, () => []);
  // Records are named only when something goes wrong: building one per key cost a tenth of a map task.
  const recordOf = (k: string) => `${input} key ${JSON.stringify(k)}`;
  for (const k of groups.keys()) {
    const p = job.partition
      ? callJob(() => (job.partition as NonNullable<JobModule['partition']>)(k, reducers), recordOf(k))
      : defaultPartition(k, reducers);
    if (!Number.isInteger(p) || p < 0 || p >= reducers) {
      throw new RecordError(
        'invalid',
        `partition(${JSON.stringify(k)}) returned ${p}, not 0..${reducers - 1}`,
        recordOf(k),
      );
    }
    (parts[p] as string[]).push(k);
  }
  return parts.map((keys) => {
    keys.sort(byKey);
    let out = '';
    for (const k of keys) {
      // Without a combiner the map output carries the list; reduce flattens it again.
      out += outputLine(k, groups.get(k), () => recordOf(k));
    }
    return out;
  });
}

/** A reduce task over the partition texts of every map task, in map order: the sorted output text. */
export function runReduce(job: JobModule, parts: string[], current: (n: number) => void): string {
  const groups = new Map<string, unknown[]>();
  for (const text of parts) {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const [k, vs] = JSON.parse(line) as [string, unknown[]];
      const a = groups.get(k);
      if (a) for (const v of vs) a.push(v);
      else groups.set(k, vs);
    }
  }
  const keys = [...groups.keys()].sort(byKey);
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const record = `key ${JSON.stringify(k)}`;
    current(i);
    const v = callJob(() => job.reduce(k, groups.get(k) as unknown[]), record);
    if (v !== undefined) out += outputLine(k, v, record);
  }
  return out;
}

function callJob<T>(fn: () => T, record: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RecordError) throw e;
    throw new RecordError('throw', errorText(e), record);
  }
}

export function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 2000);
}
