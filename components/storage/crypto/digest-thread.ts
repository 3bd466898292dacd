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
import { createHash, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SEGMENT_AEAD_OVERHEAD as TAG_BYTES } from './primitives.js';

/** Buffers smaller than this are hashed on the calling thread (a message costs more than hashing them). */
export const OFF_THREAD_MIN_BYTES = 256 << 10;
const DIGEST_BYTES = 32;
/** Bytes the cipher thread encrypts or decrypts per call (as primitives.ts does: in and out stay in cache). */
const CIPHER_SLICE_BYTES = 256 << 10;

// Plain CommonJS evaluated in the worker: no module to resolve, so it runs the same from sources (tsx) and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createDecipheriv, createHash } = require('node:crypto');
// node:crypto's output of one slice, freed now that it was copied out (where ArrayBuffer.prototype.transfer exists:
// Node 22 on; see primitives.ts's dropOutput).
const dropOutput = typeof ArrayBuffer.prototype.transfer === 'function'
  ? (b) => {
      try {
        if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.byteLength > 0) b.buffer.transfer(0);
      } catch {}
    }
  : () => {};
// See openOnThread: open the sealed segment that the parts hold, in order, into out; whether it opened.
function open({ parts, sealed, key, nonce, aad, out }) {
  const body = sealed - ${TAG_BYTES};
  const plain = new Uint8Array(out[0], out[1], out[2]);
  if (body < 0 || plain.length < body) return false;
  const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: ${TAG_BYTES} });
  d.setAAD(aad);
  const tag = Buffer.alloc(${TAG_BYTES});
  let base = 0;
  let at = 0;
  for (const [buffer, offset, length] of parts) {
    const v = new Uint8Array(buffer, offset, length);
    // This part's share of the body is [0, bodyEnd), of the tag [bodyEnd, tagEnd); the rest is padding.
    const bodyEnd = Math.min(v.length, Math.max(0, body - base));
    for (let off = 0; off < bodyEnd; off += ${CIPHER_SLICE_BYTES}) {
      const p = d.update(v.subarray(off, Math.min(bodyEnd, off + ${CIPHER_SLICE_BYTES})));
      plain.set(p, at);
      at += p.length;
      dropOutput(p);
    }
    const tagEnd = Math.min(v.length, Math.max(0, sealed - base));
    if (tagEnd > bodyEnd) tag.set(v.subarray(bodyEnd, tagEnd), base + bodyEnd - body);
    base += v.length;
  }
  let fin;
  try {
    d.setAuthTag(tag);
    fin = d.final();
  } catch {
    // The tag does not match: a wrong key, nonce, AAD or byte. Any other failure is not the data's (undefined).
    return false;
  }
  plain.set(fin, at);
  return at + fin.length === body;
}
// See sealOnThread: seal plain into out (ciphertext || tag); whether it could.
function seal({ plain, key, nonce, aad, out }) {
  const src = new Uint8Array(plain[0], plain[1], plain[2]);
  const dst = new Uint8Array(out[0], out[1], out[2]);
  if (dst.length < src.length + ${TAG_BYTES}) return false;
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: ${TAG_BYTES} });
  c.setAAD(aad);
  let at = 0;
  for (let off = 0; off < src.length; off += ${CIPHER_SLICE_BYTES}) {
    const p = c.update(src.subarray(off, Math.min(src.length, off + ${CIPHER_SLICE_BYTES})));
    dst.set(p, at);
    at += p.length;
    dropOutput(p);
  }
  const fin = c.final();
  dst.set(fin, at);
  dst.set(c.getAuthTag(), at + fin.length);
  return true;
}
parentPort.on('message', ({ id, buffer, ranges, opening, sealing }) => {
  if (opening || sealing) {
    // true or false: what the data said; undefined: this thread could not do it (the caller does it itself).
    let done;
    try {
      done = opening ? open(opening) : seal(sealing);
    } catch {}
    parentPort.postMessage({ id, digests: new Uint8Array(0), done });
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

type Reply = { buffer?: ArrayBuffer; digests: Uint8Array; done?: boolean | undefined };

/** A region of shared memory as it travels to a digest thread: buffer, offset, length. */
type SharedRegion = readonly [SharedArrayBuffer, number, number];

/** What a thread needs to open one sealed segment (see openOnThread). */
interface OpenJob {
  parts: SharedRegion[];
  sealed: number;
  key: KeyObject;
  nonce: Uint8Array;
  aad: Uint8Array;
  out: SharedRegion;
}

/** What a thread needs to seal one segment (see sealOnThread). */
interface SealJob {
  plain: SharedRegion;
  key: KeyObject;
  nonce: Uint8Array;
  aad: Uint8Array;
  out: SharedRegion;
}
type Job = { resolve: (r: Reply) => void; reject: (e: unknown) => void };

/**
 * Digest threads: two where the machine has two cores or more. A write's hashing (n/(f+1) times the object) is
 * more than this thread's sealing and coding; two threads keep up with it, and a read's k blocks per segment are
 * hashed side by side.
 */
export const DIGEST_THREADS = Math.min(2, Math.max(1, availableParallelism()));

/**
 * The digest thread that seals and opens segments (openOnThread, sealOnThread): the last one, so that a writer's
 * hashing, which asks for the first thread only, runs beside its sealing rather than behind it.
 */
const CIPHER_THREAD = DIGEST_THREADS - 1;

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

  /** Hash `ranges` of `buffer`: moved there and back when an ArrayBuffer, shared (not copied) when shared. */
  run(
    id: number,
    buffer: ArrayBuffer | SharedArrayBuffer,
    ranges: readonly (readonly [number, number])[],
  ): Promise<Reply> {
    return this.post({ id, buffer, ranges }, buffer instanceof ArrayBuffer ? [buffer] : []);
  }

  /** Open one sealed segment into shared memory (openOnThread), or seal one (sealOnThread). */
  cipher(id: number, job: { opening: OpenJob } | { sealing: SealJob }): Promise<Reply> {
    return this.post({ id, ...job }, []);
  }

  private post(message: { id: number; [field: string]: unknown }, transfer: ArrayBuffer[]): Promise<Reply> {
    const done = new Promise<Reply>((resolve, reject) => this.jobs.set(message.id, { resolve, reject }));
    this.w.ref();
    try {
      this.w.postMessage(message, transfer);
    } catch (e) {
      // Not sent (a value that cannot be cloned): no answer will come, so nothing waits for one.
      this.jobs.delete(message.id);
      if (this.jobs.size === 0) this.w.unref();
      throw e;
    }
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

/** Whether `bytes` can travel to a digest thread in place (shared memory), and how. */
function region(bytes: Uint8Array): SharedRegion | undefined {
  return isShared(bytes) ? [bytes.buffer as SharedArrayBuffer, bytes.byteOffset, bytes.byteLength] : undefined;
}

/**
 * Open one sealed segment (ciphertext || tag, `sealed` bytes and padding, given as consecutive `parts` as
 * primitives.ts's openSegment takes them) with AES-256-GCM into `out`, on a digest thread: a read then leaves
 * this thread to its I/O. Always the same thread, the last (CIPHER_THREAD): node:crypto's output buffers (as many
 * bytes as the object, garbage at once) pile up in a thread's heap until its collector runs, some 45 MB, and in one
 * thread's only, not in every one's (the 4 GiB round trip's peak RSS rose by 90 MB when both opened). The hashing goes to
 * the least busy thread, so mostly to the other one. The caller checks the parts' digests first: `out` may be
 * where the plaintext finally lives, and holds unverified bytes if this resolves false. Resolves true when the
 * segment opened, false when it did not (a wrong tag, key, nonce or AAD), undefined when it cannot run there
 * (memory not shared, threads not online, a failure of the thread's own): the caller opens it here.
 */
export async function openOnThread(o: {
  parts: readonly Uint8Array[];
  sealed: number;
  key: KeyObject;
  nonce: Uint8Array;
  aad: Uint8Array;
  out: Uint8Array;
}): Promise<boolean | undefined> {
  const parts = o.parts.map(region);
  const out = region(o.out);
  const w = cipherThread();
  if (out === undefined || parts.some((p) => p === undefined) || !w) return undefined;
  const r = await w.cipher(nextId++, { opening: { ...o, parts: parts as SharedRegion[], out } });
  return r.done;
}

/**
 * Seal one streamed CA segment with AES-256-GCM from `plain` into `out` (ciphertext || tag, the bytes primitives.ts's
 * sealSegmentInto gives), on the thread that opens segments (openOnThread says why one thread): a write's sealing
 * then runs beside its erasure coding and I/O here. Resolves true when sealed, undefined when it cannot run there
 * (memory not shared, threads not online, `out` too small): the caller seals it here.
 */
export async function sealOnThread(o: {
  plain: Uint8Array;
  key: KeyObject;
  nonce: Uint8Array;
  aad: Uint8Array;
  out: Uint8Array;
}): Promise<true | undefined> {
  const plain = region(o.plain);
  const out = region(o.out);
  const w = cipherThread();
  if (plain === undefined || out === undefined || !w) return undefined;
  const r = await w.cipher(nextId++, { sealing: { ...o, plain, out } });
  return r.done === true ? true : undefined;
}

/** The thread that seals and opens segments, once the digest threads are online. */
function cipherThread(): DigestThread | undefined {
  if (!thread(DIGEST_THREADS)) return undefined;
  const w = threads![CIPHER_THREAD]!;
  return w.online ? w : undefined;
}
