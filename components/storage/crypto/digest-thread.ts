/**
 * SHA-256 of large buffers on a second thread, without copying them: the buffer is transferred to a worker, hashed
 * there (node:crypto, SHA-NI where the CPU has it) and transferred back. A streamed DepSky-CA write hashes n/(f+1)
 * times the object and a read the object once; on the calling thread that costs as much as the encryption, so
 * both sides hand their hashing to this thread and encrypt, erasure-code or decrypt the next segment meanwhile.
 *
 * WebCrypto's digest also runs off-thread, but copies its input into fresh memory first (page faults on every
 * block); this does not. DIGEST_THREADS workers per process, started when a caller first asks for them (a large
 * object: a command storing one small object never starts them), unreferenced while idle (they never keep a
 * command alive).
 * Until it is online, and when a buffer cannot be moved (a view into a larger or shared buffer) or the worker
 * cannot start, the digest is computed here instead: the same bytes, the same result.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Buffers smaller than this are hashed on the calling thread (a message costs more than hashing them). */
export const OFF_THREAD_MIN_BYTES = 256 << 10;
const DIGEST_BYTES = 32;
/** Bytes between the words a page-touching job writes: the smallest page size of the platforms Node runs on. */
const TOUCH_STRIDE = 4096;

// Plain CommonJS evaluated in the worker: no module to resolve, so it runs the same from sources (tsx) and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, buffer, ranges, touch }) => {
  if (touch) {
    // One atomic no-op write per page: the kernel maps the page here, and whatever another thread wrote stays.
    // Each range gets its own word window (plain arithmetic: offsets pass 2 GiB); a job that cannot be done
    // answers with no pages, never kills the thread.
    let pages = 0;
    try {
      for (const [offset, length] of ranges) {
        if (length <= 0) continue;
        const start = offset - (offset % 4);
        const count = Math.ceil((offset + length - start) / 4);
        const words = new Int32Array(buffer, start, count);
        for (let i = 0; i < count; i += ${TOUCH_STRIDE / 4}, pages++) Atomics.compareExchange(words, i, 0, 0);
        Atomics.compareExchange(words, count - 1, 0, 0);
      }
    } catch {}
    parentPort.postMessage({ id, digests: new Uint8Array(0), pages });
    return;
  }
  const digests = new Uint8Array(ranges.length * ${DIGEST_BYTES});
  ranges.forEach(([offset, length], i) => {
    digests.set(createHash('sha256').update(new Uint8Array(buffer, offset, length)).digest(), i * ${DIGEST_BYTES});
  });
  // Shared memory stays where it is (the caller keeps using it); a moved buffer goes back.
  if (buffer instanceof ArrayBuffer) parentPort.postMessage({ id, buffer, digests }, [buffer, digests.buffer]);
  else parentPort.postMessage({ id, digests }, [digests.buffer]);
});
`;

type Reply = { buffer?: ArrayBuffer; digests: Uint8Array; pages?: number };
type Job = { resolve: (r: Reply) => void; reject: (e: unknown) => void };

/**
 * Digest threads: two where the machine has two cores or more. A write's hashing (n/(f+1) times the object) is
 * more than this thread's sealing and coding; two threads keep up with it, and a read's k blocks per segment are
 * hashed side by side.
 */
export const DIGEST_THREADS = Math.min(2, Math.max(1, availableParallelism()));

/** One digest thread and the jobs it has not answered yet. */
class DigestThread {
  readonly jobs = new Map<number, Job>();
  online = false;
  readonly started: Promise<boolean>;
  private readonly w: Worker;

  constructor(onBroken: (e: unknown) => void) {
    this.w = new Worker(WORKER_SOURCE, { eval: true });
    this.started = new Promise((resolve) => {
      this.w.once('online', () => {
        this.online = true;
        resolve(true);
      });
      this.w.once('exit', () => resolve(false));
    });
    this.w.on('message', (m: Reply & { id: number }) => {
      const job = this.jobs.get(m.id);
      this.jobs.delete(m.id);
      if (this.jobs.size === 0) this.w.unref();
      job?.resolve(m);
    });
    const fail = (e: unknown) => {
      this.online = false;
      for (const j of this.jobs.values()) j.reject(e);
      this.jobs.clear();
      onBroken(e);
    };
    this.w.on('error', fail);
    this.w.on('exit', () => fail(new Error('digest thread exited')));
    this.w.unref();
  }

  /** Keep the process alive until the thread is online (someone waits for it), then let it go again if idle. */
  async whenOnline(): Promise<boolean> {
    this.w.ref();
    const ok = await this.started;
    if (this.jobs.size === 0) this.w.unref();
    return ok;
  }

  /**
   * Hash `ranges` of `buffer`: moved there and back when an ArrayBuffer, shared (not copied) when shared; or, with
   * `touch`, only map their pages (shared memory).
   */
  run(
    id: number,
    buffer: ArrayBuffer | SharedArrayBuffer,
    ranges: readonly (readonly [number, number])[],
    touch = false,
  ): Promise<Reply> {
    const done = new Promise<Reply>((resolve, reject) => this.jobs.set(id, { resolve, reject }));
    this.w.ref();
    this.w.postMessage({ id, buffer, ranges, touch }, buffer instanceof ArrayBuffer ? [buffer] : []);
    return done;
  }
}

let threads: DigestThread[] | undefined;
let broken = false;
let nextId = 0;

/**
 * The least busy of the first `use` digest threads that run; starts them all (and returns undefined meanwhile) on
 * the first call.
 */
function thread(use: number): DigestThread | undefined {
  if (broken) return undefined;
  if (!threads) {
    try {
      threads = Array.from(
        { length: DIGEST_THREADS },
        () =>
          new DigestThread(() => {
            broken = true;
          }),
      );
    } catch {
      broken = true;
    }
    return undefined;
  }
  let best: DigestThread | undefined;
  for (const t of threads.slice(0, use)) if (t.online && (!best || t.jobs.size < best.jobs.size)) best = t;
  return best;
}

/** Start the digest threads if they are not running; resolves true once they are online (tests, warm-up). */
export async function startDigestThread(): Promise<boolean> {
  thread(0);
  if (!threads) return false;
  return (await Promise.all(threads.map((t) => t.whenOnline()))).every(Boolean);
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

/** The digests of one worker reply, one 32-byte view each. */
function split(digests: Uint8Array, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES));
}

/**
 * SHA-256 of `ranges` ([offset, length] within `bytes`); off this thread on one of the first `threads` digest
 * threads (0: here; a caller with many large buffers to hash asks for one or more) once they run. Returns the
 * digests and the bytes to use from now on: when hashed off-thread, `bytes` was detached (moved to the worker and
 * back) and `bytes` in the result is the same memory under a new view. The caller must not touch the old view
 * while this runs. Bytes in shared memory (see digestShared) are not moved: the result holds the same view.
 */
export async function digestRanges(
  bytes: Uint8Array,
  ranges: readonly (readonly [number, number])[],
  threads: number,
): Promise<{ bytes: Uint8Array; digests: Uint8Array[] }> {
  if (isShared(bytes)) return { bytes, digests: await digestShared(bytes, ranges, threads) };
  const w = threads > 0 && bytes.byteLength >= OFF_THREAD_MIN_BYTES && movable(bytes) ? thread(threads) : undefined;
  if (!w) return { bytes, digests: hashHere(bytes, ranges) };
  const r = await w.run(nextId++, bytes.buffer as ArrayBuffer, ranges);
  return { bytes: new Uint8Array(r.buffer!), digests: split(r.digests, ranges.length) };
}

/** Whether `bytes` lives in a SharedArrayBuffer (sharedBytes): the digest threads read it in place. */
export function isShared(bytes: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer;
}

/** Zeroed memory the digest threads can read in place while this thread keeps using it (and the kernel writes it). */
export function sharedBytes(size: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(size));
}

/**
 * SHA-256 of `ranges` of shared memory, spread over up to `threads` digest threads (the ranges split in as many
 * runs, each to the least busy thread) or here (0, small, threads not online). Nothing moves: this thread may
 * read the bytes meanwhile (encrypt, upload, decrypt them); it must not change them until this resolves.
 */
export async function digestShared(
  bytes: Uint8Array,
  ranges: readonly (readonly [number, number])[],
  threads: number,
): Promise<Uint8Array[]> {
  const abs = ranges.map(([o, l]) => [bytes.byteOffset + o, l] as const);
  const first = threads > 0 && bytes.byteLength >= OFF_THREAD_MIN_BYTES ? thread(threads) : undefined;
  if (!first) return hashHere(bytes, ranges);
  const parts = Math.min(threads, abs.length);
  const per = Math.ceil(abs.length / parts);
  const runs: Promise<Uint8Array[]>[] = [];
  for (let i = 0; i < abs.length; i += per) {
    const w = i === 0 ? first : (thread(threads) ?? first);
    const chunk = abs.slice(i, i + per);
    runs.push(w.run(nextId++, bytes.buffer as SharedArrayBuffer, chunk).then((r) => split(r.digests, chunk.length)));
  }
  return (await Promise.all(runs)).flat();
}

/** SHA-256 of all of `bytes` (see digestRanges). */
export async function digestWhole(
  bytes: Uint8Array,
  threads: number,
): Promise<{ bytes: Uint8Array; digest: Uint8Array }> {
  const r = await digestRanges(bytes, [[0, bytes.length]], threads);
  return { bytes: r.bytes, digest: r.digests[0]! };
}

/**
 * Map the pages of `ranges` of fresh shared memory on a digest thread, ahead of this thread writing them. The
 * first write to each page of fresh memory makes the kernel map (and zero) it: for a 64 MiB object opened straight
 * into its result buffer that cost more than decrypting it (about 50 ms against 30 on this machine's vCPUs), all on
 * the thread that decrypts. Touched on a digest thread, that work runs beside the decryption instead of before
 * it. Each touch is an atomic compare-and-exchange of zero with zero: a page this thread already wrote keeps its
 * bytes, so it may run before, during or after the writes here. Only an optimisation: resolves at once (nothing
 * done) for memory that is not shared or while the threads are not online. Resolves with the pages touched.
 */
export async function touchShared(bytes: Uint8Array, ranges: readonly (readonly [number, number])[]): Promise<number> {
  if (!isShared(bytes) || ranges.length === 0) return 0;
  const w = thread(DIGEST_THREADS);
  if (!w) return 0;
  const abs = ranges.map(([o, l]) => [bytes.byteOffset + o, l] as const);
  return (await w.run(nextId++, bytes.buffer as SharedArrayBuffer, abs, true)).pages ?? 0;
}
