/**
 * The cloud driver interface: the five passive-storage operations of DepSky's system model (list, get, create,
 * put, remove; seed L1010), on a bucket owned by one cloud. A DepSky "container" (one data unit) is a prefix
 * inside that bucket. Every call takes an AbortSignal: the executor cancels slow calls once a quorum answered.
 *
 * Contract (every driver, tested against each backend):
 * - get/getStream of a missing object resolve `undefined` (not an error);
 * - remove of a missing object and removeContainer of a missing container succeed (idempotent);
 * - list of a missing container resolves [];
 * - put replaces atomically: a reader sees the old or the new object, never a part.
 */
import type { Readable } from 'node:stream';
import { isTcError, type TcError } from '../../../kernel/errors.js';
import type { Payload } from '../protocol/types.js';

export interface CallOptions {
  signal?: AbortSignal;
  /**
   * put() only, for drivers that sync directories (local): the caller puts a later file into the same container
   * whose own put syncs the directory, and nothing refers to this file before that one is stored (a streamed CA
   * write's blocks and manifests: the metadata comes last, after every block of its cloud). This put then fsyncs
   * the file but not the directory: the later directory fsync makes this rename durable too.
   */
  deferDirectorySync?: boolean;
  /**
   * Called when an attempt was given up on without waiting for its end (it timed out, or the caller aborted): the
   * driver's own call may still be reading the payload, whatever the operation's result, so the caller must not
   * reuse that memory (ResilientDriver calls it; a streamed CA write then never pools the segment's buffer).
   */
  onAbandoned?: () => void;
}

export interface CloudDriver {
  /** Cloud name from the topology (used in messages). */
  readonly cloud: string;
  readonly kind: 'local' | 's3' | 'azure' | 'gcs' | string;
  /** Create the bucket if it does not exist (deployments usually did). */
  createContainer(o?: CallOptions): Promise<void>;
  listContainers(o?: CallOptions): Promise<string[]>;
  list(container: string, o?: CallOptions): Promise<string[]>;
  get(container: string, name: string, o?: CallOptions): Promise<Uint8Array | undefined>;
  getStream(container: string, name: string, o?: CallOptions): Promise<Readable | undefined>;
  put(container: string, name: string, payload: Payload, o?: CallOptions): Promise<void>;
  remove(container: string, name: string, o?: CallOptions): Promise<void>;
  removeContainer(container: string, o?: CallOptions): Promise<void>;
  close?(): Promise<void>;
  /**
   * Optional fast path: read an object into one buffer and hash it (SHA-256, hex) at the same time, overlapping
   * the reads (thread pool) with the hashing (this thread). Same result as get() + sha256.
   */
  getHashed?(
    container: string,
    name: string,
    o?: CallOptions,
  ): Promise<{ bytes: Uint8Array; digest: string } | undefined>;
  /**
   * Optional fast path: get() into the caller's buffer `into` (reused from block to block: no fresh memory per
   * read). Returns `into` when the object has exactly its length, else the object in a new buffer (the caller
   * sees the size it did not expect); undefined when it does not exist.
   */
  getInto?(container: string, name: string, into: Uint8Array, o?: CallOptions): Promise<Uint8Array | undefined>;
}

/** A driver error that retrying cannot fix (bad credentials, missing bucket, bad name). */
export class PermanentDriverError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentDriverError';
  }
}

/** Object and container names accepted by every driver (one path segment, no dot names, printable). */
export function checkSegment(s: string, what: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (s.length === 0 || s.length > 900 || s === '.' || s === '..' || /[/\\\u0000-\u001f]/.test(s)) {
    throw new PermanentDriverError(`invalid ${what} name ${JSON.stringify(s)}`);
  }
}

export function isAbortError(e: unknown): boolean {
  return (
    e instanceof Error &&
    (e.name === 'AbortError' || e.name === 'TimeoutError' || (e as { code?: string }).code === 'ABORT_ERR')
  );
}

/**
 * A TcError somewhere in an SDK error's cause chain (a credential provider of ours failed inside the SDK's
 * signing step): the error to report, as is.
 */
export function tcErrorIn(e: unknown): TcError | undefined {
  for (let x = e, depth = 0; x && depth < MAX_CAUSE_DEPTH; x = (x as { cause?: unknown }).cause, depth++) {
    if (isTcError(x)) return x;
  }
  return undefined;
}
const MAX_CAUSE_DEPTH = 8;
