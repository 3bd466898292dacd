/**
 * SHA-256 of large buffers on a second thread, without copying them: the buffer is transferred to a worker, hashed
 * there (node:crypto, SHA-NI where the CPU has it) and transferred back. A streamed DepSky-CA write hashes n/(f+1)
 * times the object and a read the object once; on the calling thread that costs as much as the encryption, so
 * both sides hand their hashing to this thread and encrypt, erasure-code or decrypt the next segment meanwhile.
 *
 * WebCrypto's digest also runs off-thread, but copies its input into fresh memory first (page faults on every
 * block); this does not. One worker per process, started when a caller first asks for it (a large object: a
 * command storing one small object never starts it), unreferenced while idle (it never keeps a command alive).
 * Until it is online, and when a buffer cannot be moved (a view into a larger or shared buffer) or the worker
 * cannot start, the digest is computed here instead: the same bytes, the same result.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Buffers smaller than this are hashed on the calling thread (a message costs more than hashing them). */
export const OFF_THREAD_MIN_BYTES = 256 << 10;
const DIGEST_BYTES = 32;

// Plain CommonJS evaluated in the worker: no module to resolve, so it runs the same from sources (tsx) and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, buffer, ranges }) => {
  const digests = new Uint8Array(ranges.length * ${DIGEST_BYTES});
  ranges.forEach(([offset, length], i) => {
    digests.set(createHash('sha256').update(new Uint8Array(buffer, offset, length)).digest(), i * ${DIGEST_BYTES});
  });
  parentPort.postMessage({ id, buffer, digests }, [buffer]);
});
`;

type Job = { resolve: (r: { buffer: ArrayBuffer; digests: Uint8Array }) => void; reject: (e: unknown) => void };

let worker: Worker | undefined;
let online = false;
/** Resolves true once the thread runs, false when it cannot start or stopped. */
let started: Promise<boolean> | undefined;
let broken = false;
const jobs = new Map<number, Job>();
let nextId = 0;

function failAll(e: unknown): void {
  broken = true;
  worker = undefined;
  online = false;
  for (const j of jobs.values()) j.reject(e);
  jobs.clear();
}

/** The digest thread once it runs; starts it (and returns undefined meanwhile) on the first call. */
function thread(): Worker | undefined {
  if (worker || broken) return online ? worker : undefined;
  try {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    started = new Promise((resolve) => {
      w.once('online', () => {
        online = true;
        resolve(true);
      });
      w.once('exit', () => resolve(false));
    });
    w.on('message', (m: { id: number; buffer: ArrayBuffer; digests: Uint8Array }) => {
      const job = jobs.get(m.id);
      jobs.delete(m.id);
      if (jobs.size === 0) w.unref();
      job?.resolve(m);
    });
    w.on('error', failAll);
    w.on('exit', () => failAll(new Error('digest thread exited')));
    w.unref();
    worker = w;
  } catch {
    broken = true;
  }
  return undefined;
}

/** Start the digest thread if it is not running; resolves true once it is online (tests, warm-up). */
export function startDigestThread(): Promise<boolean> {
  thread();
  return started ?? Promise.resolve(false);
}

function hashHere(bytes: Uint8Array, ranges: readonly (readonly [number, number])[]): Uint8Array[] {
  return ranges.map(([o, l]) =>
    createHash('sha256')
      .update(bytes.subarray(o, o + l))
      .digest(),
  );
}

/** Whether `bytes` is a whole, movable ArrayBuffer (a view of part of one would detach its neighbours). */
function movable(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

/**
 * SHA-256 of `ranges` ([offset, length] within `bytes`); off this thread when `offThread` (the caller has many
 * large buffers to hash) and the digest thread runs. Returns the digests and the bytes to use from now on: when
 * hashed off-thread, `bytes` was detached (moved to the worker and back) and `bytes` in the result is the same
 * memory under a new view. The caller must not touch the old view while this runs.
 */
export async function digestRanges(
  bytes: Uint8Array,
  ranges: readonly (readonly [number, number])[],
  offThread: boolean,
): Promise<{ bytes: Uint8Array; digests: Uint8Array[] }> {
  const w = offThread && bytes.byteLength >= OFF_THREAD_MIN_BYTES && movable(bytes) ? thread() : undefined;
  if (!w) return { bytes, digests: hashHere(bytes, ranges) };
  const id = nextId++;
  const done = new Promise<{ buffer: ArrayBuffer; digests: Uint8Array }>((resolve, reject) =>
    jobs.set(id, { resolve, reject }),
  );
  w.ref();
  const buffer = bytes.buffer as ArrayBuffer;
  w.postMessage({ id, buffer, ranges }, [buffer]);
  const r = await done;
  const digests = Array.from({ length: ranges.length }, (_, i) =>
    r.digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES),
  );
  return { bytes: new Uint8Array(r.buffer), digests };
}

/** SHA-256 of all of `bytes` (see digestRanges). */
export async function digestWhole(
  bytes: Uint8Array,
  offThread: boolean,
): Promise<{ bytes: Uint8Array; digest: Uint8Array }> {
  const r = await digestRanges(bytes, [[0, bytes.length]], offThread);
  return { bytes: r.bytes, digest: r.digests[0]! };
}
