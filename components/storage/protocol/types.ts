/**
 * Shared vocabulary of the DepSky protocol cores: pure state machines, driven by a host loop (executor.ts).
 *
 * A core is a deterministic state machine: it is fed events (start, a cloud reply, a tick, the result of an
 * encode/sign step done outside) and answers with actions (cloud calls to make, calls to cancel, done/fail).
 * It never touches clocks, sockets, files or randomness; the executor (../executor.ts) does the I/O.
 * Payload bytes pass through a core as opaque values: it compares digests, never hashes or copies data.
 */

export type Protocol = 'depsky-a' | 'depsky-ca';

/**
 * Version of a data unit value: a counter plus the writer's id as a tiebreak (the "decimal part" of version numbers
 * with several writers, TClouds D2.2.1 ch. 6.3.8), so two writers racing on the same counter never overwrite each other's file.
 */
export interface Version {
  counter: number;
  /** Writer id: 1-16 lowercase hex characters. Empty only for version 0 (create). */
  writer: string;
}

/** What a put sends: bytes in memory, or a file the executor streams (DepSky-A, large objects). */
export type Payload = Uint8Array | { kind: 'file'; path: string; size: number };

/** A value fetched by a get: its digest and size as computed by the executor while reading, plus the bytes. */
export interface Fetched {
  digest: string;
  size: number;
  /** In-memory bytes (metadata, CA blocks, small A values). */
  bytes?: Uint8Array;
  /** Opaque handle of a spooled copy (A values streamed to a temp file); the executor owns its cleanup. */
  handle?: string;
}

export type CloudOp =
  | { kind: 'get'; container: string; name: string; stream?: boolean }
  | { kind: 'put'; container: string; name: string; payload: Payload }
  | { kind: 'list'; container: string }
  /** Containers (data units) of the cloud's bucket. */
  | { kind: 'listContainers' }
  | { kind: 'remove'; container: string; name: string }
  | { kind: 'removeContainer'; container: string };

export type OpResult =
  | { status: 'ok' }
  | { status: 'listed'; names: string[] }
  | { status: 'fetched'; value: Fetched }
  | { status: 'notFound' }
  | { status: 'error'; message: string };

export interface CloudReply {
  id: number;
  cloud: number;
  result: OpResult;
}

/** A failure a core reports: code from ../codes.ts, a message, a hint. */
export interface CoreFailure {
  code: string;
  message: string;
  hint?: string;
  /** Exit-code class for TcError. */
  kind: 'unavailable' | 'notFound' | 'invalid' | 'failure' | 'locked';
}

export type Action<T> =
  | { type: 'call'; id: number; cloud: number; op: CloudOp }
  | { type: 'cancel'; ids: number[] }
  /** Ask the host to compute the payloads of `version` and feed back an `encoded` event. */
  | { type: 'encode'; version: Version }
  | { type: 'done'; value: T }
  | { type: 'fail'; failure: CoreFailure };

export interface Encoded {
  /** One payload for all clouds (A) or one per cloud (CA). */
  payloads: Payload[];
  /**
   * A: [H(value)]; CA: H(d[i]) per cloud. May be left out and delivered later with a `digested` event: the
   * host then hashes while the value puts are under way (the digests are needed only for the metadata).
   */
  digests?: string[];
  size: number;
  /** CA: length of iv||ciphertext||tag, needed by the erasure decoder. */
  sealedSize?: number;
  /**
   * Streamed CA (format 2): the host already stored the segments and manifests on these clouds (n-f at least);
   * the core skips its data puts and puts the metadata on these clouds only. `payloads` is then empty.
   */
  stored?: number[];
  /** Streamed CA: clouds that failed or fell behind while the host stored the data. */
  failed?: { cloud: number; reason: string }[];
  /** Streamed CA: plaintext bytes per segment (signed in the metadata). */
  segmentBytes?: number;
}

export type CoreEvent =
  | { type: 'start' }
  | { type: 'reply'; reply: CloudReply }
  | { type: 'tick' }
  | { type: 'encoded'; encoded: Encoded }
  | { type: 'digested'; digests: string[] };

/**
 * The metadata of one version, signed by the data unit's writer key (Ed25519 over its canonical encoding).
 * Format 1: A, and CA values written whole (one block per cloud). Format 2: streamed CA (protocol/segments.ts):
 * the object is cut into segments of `segmentBytes`, and digests[i] is the digest of cloud i's manifest, which
 * lists the digests of that cloud's segment blocks.
 */
export interface Metadata {
  format: 1 | 2;
  /** Format 2 only: plaintext bytes per segment (the last segment may be shorter). */
  segmentBytes?: number;
  du: string;
  protocol: Protocol;
  version: Version;
  /** Plaintext size in bytes. */
  size: number;
  /** CA only: size of the sealed (encrypted) value that was erasure-coded. */
  sealedSize?: number;
  n: number;
  f: number;
  /** Names of the clouds, in block order: CA block i and digests[i] belong to clouds[i]. */
  clouds: string[];
  /** A: one digest of the value; CA: one digest per cloud (format 2: of its manifest). Lowercase hex SHA-256. */
  digests: string[];
}

/** Injected, pure crypto for the cores (production: Ed25519; tests may inject anything deterministic). */
export interface CoreCrypto {
  /** Signed file bytes for `meta`. */
  signMetadata(meta: Metadata): Uint8Array;
  /** Parse + verify a metadata file; `undefined` = malformed or bad signature. */
  openMetadata(bytes: Uint8Array): Metadata | undefined;
}

export interface CloudSet {
  /** Cloud names, index = cloud number used in actions and replies. */
  names: string[];
  f: number;
}
