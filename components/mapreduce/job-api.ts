/**
 * What a job module is (the contract users write against; templates/mapreduce/ has examples), and the pure parts of
 * running one that the runner thread, the single-process reference of the tests and the bench share:
 *
 *   export function map(key, value, emit)     key: `<input>:<line>`, value: one line of text; emit(k: string, v)
 *   export function reduce(key, values)       the values of one key in map-task order; returns the output value
 *   export function combine(key, values)      optional: folds values of one key inside a map task; called as
 *                                             values arrive, with [so far, next], so zero or more times per key
 *   export function partition(key, reducers)  optional: the reduce task of a key (default: FNV-1a of the key)
 *
 * Keys are strings, values anything JSON can carry. Outputs are lines `[key,value]` in JSON, sorted by key (code
 * units), so equal work gives equal bytes and replicas can be compared by digest.
 */
export type Emit = (key: string, value: unknown) => void;

export interface JobModule {
  map(key: string, value: string, emit: Emit): void;
  reduce(key: string, values: unknown[]): unknown;
  combine?(key: string, values: unknown[]): unknown;
  partition?(key: string, reducers: number): number;
}

/** The job module's functions, or a message saying what is missing. */
export function checkModule(m: Record<string, unknown>): JobModule | string {
  if (typeof m.map !== 'function') return 'the job module exports no function `map`';
  if (typeof m.reduce !== 'function') return 'the job module exports no function `reduce`';
  for (const k of ['combine', 'partition']) {
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
 * A map task over the lines of one chunk: per partition, the sorted output text. `current` receives the record
 * number before each call into the job module, so a runner that has to stop a stuck module can name the record.
 */
export function runMap(
  job: JobModule,
  input: string,
  firstLine: number,
  text: string,
  reducers: number,
  current: (n: number) => void,
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
  if (combine) for (const [k, slot] of folded) groups.set(k, [slot.v]);
  return serializeParts(job, input, groups, reducers);
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
