/**
 * Shared-memory block buffers kept from one streamed operation to the next. A streamed DepSky-CA write fills about
 * fifty megabytes of encoded segments and a read a few dozen of fetched blocks; fresh memory costs a page fault per
 * 4 KiB on its first write (about 3 µs each on this class of VM: some 60 ms for a 64 MiB write, more than its
 * erasure coding). Operations of one process (a gateway, a node, a program using the client) reuse these instead.
 *
 * Only buffers whose every user settled are kept: the caller gives a buffer back once no put, read, digest or
 * cipher job can still touch it. Every user overwrites the bytes it uses before it reads them (a block is read
 * into whole, a segment sealed and coded whole), so old bytes never reach a cloud or a caller; and a buffer that
 * held plaintext is wiped before it is kept, so an object's plaintext does not outlive its operation here.
 */
import { isShared, sharedBytes } from './digest-thread.js';

/**
 * Bytes of idle buffers kept at most: about a streamed write's encoded segments (WRITE_SEGMENTS_IN_MEMORY and the
 * ones being hashed, n blocks each: 8 MiB per segment with n = 4 and 4 MiB segments), or a read's blocks and ring
 * with room to spare. Beyond it the oldest go to the garbage collector: a process that stopped streaming holds no
 * more than this. More (96 MiB) kept a write's and a read's buffers both, saved a few page faults per operation, and
 * cost 30 MB of the 4 GiB round trip's peak RSS. Not much less either: shared memory does not count towards the
 * collector's external-memory pressure, so a writer whose buffers are not reused leaves them to a collection that
 * comes late (with none kept, a 4 GiB put reached 2.9 GB of RSS).
 */
export const SHARED_POOL_MAX_BYTES = 64 << 20;

/** Smaller buffers are not kept: fresh ones cost little, and the pool stays a short list. */
export const SHARED_POOL_MIN_BYTES = 256 << 10;

/** Idle memory, oldest first, and its total size. */
const idle: SharedArrayBuffer[] = [];
let idleBytes = 0;
/**
 * Memory this pool handed out (as a view from its start): a view of it at offset 0 may come back. Any other view
 * of shared memory may be part of someone else's buffer and is never kept.
 */
const handedOut = new WeakSet<SharedArrayBuffer>();

/**
 * A shared buffer of exactly `size` bytes, holding anything (the caller overwrites what it uses): the start of
 * the smallest idle memory that holds it (a read's 2 MiB blocks fit in a write's 8 MiB segment buffers: a process
 * that writes and then reads keeps one set of memory, not two), or new.
 */
export function takeShared(size: number): Uint8Array {
  // Small ones never come from the pool either: a small file would take a segment buffer of a concurrent write.
  if (size < SHARED_POOL_MIN_BYTES) return sharedBytes(size);
  let best = -1;
  // Ties go to the newest: its pages are the likeliest to be in the CPU's caches.
  for (let i = idle.length - 1; i >= 0; i--) {
    const length = idle[i]!.byteLength;
    if (length >= size && (best < 0 || length < idle[best]!.byteLength)) best = i;
  }
  if (best < 0) {
    const fresh = sharedBytes(size);
    handedOut.add(fresh.buffer as SharedArrayBuffer);
    return fresh;
  }
  const memory = idle.splice(best, 1)[0]!;
  idleBytes -= memory.byteLength;
  return new Uint8Array(memory, 0, size);
}

/**
 * Keep the memory of `bytes` for a later take, zeroed first when it held `plaintext`. Only memory this pool handed
 * out, given back as it was (a view from its start), or a whole shared buffer: a view of part of someone else's
 * could be in use beside it. The caller must be sure nothing reads or writes it any more.
 */
export function giveShared(bytes: Uint8Array, plaintext = false): void {
  if (!isShared(bytes) || bytes.byteOffset !== 0) return;
  const memory = bytes.buffer as SharedArrayBuffer;
  if (bytes.byteLength !== memory.byteLength && !handedOut.has(memory)) return;
  const size = memory.byteLength;
  if (size < SHARED_POOL_MIN_BYTES || size > SHARED_POOL_MAX_BYTES || idle.includes(memory)) return;
  if (plaintext) bytes.fill(0);
  handedOut.add(memory);
  idle.push(memory);
  idleBytes += size;
  while (idleBytes > SHARED_POOL_MAX_BYTES) idleBytes -= idle.shift()!.byteLength;
}

/** Bytes held idle now (tests, benchmarks). */
export function sharedPoolBytes(): number {
  return idleBytes;
}
