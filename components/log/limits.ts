/** Named bounds of the log component: every size or count a producer, a reader or storage can push on. */

/** Largest entry message (UTF-16 code units); longer messages are refused, never cut. */
export const MAX_MESSAGE_LENGTH = 16_384;
/** Largest cloud, node, account, type or jurisdiction name. */
export const MAX_NAME_LENGTH = 128;
/** Most entries one append request carries (client-side batching packs up to this many). */
export const MAX_BATCH_ENTRIES = 1_000;
/** Most bytes of entries one append request carries (below the SMR request bound with room to spare). */
export const MAX_BATCH_BYTES = 1 << 20;
/** A segment is sealed (persisted to every cloud, tree head signed) once it holds this many entries. */
export const SEGMENT_ENTRIES = 4_096;
/** ... or once its oldest entry is this old by the agreed clock (ctx.timestamp), so quiet logs still persist. */
export const SEAL_AFTER_MS = 2_000;
/** Sealed segments a core replica keeps queued for storage; past it the replica reports itself degraded. */
export const MAX_PERSIST_QUEUE = 256;
/** Longest free-text query. */
export const MAX_QUERY_TEXT = 1_024;
/** Most entries one query returns (the rest is announced as truncated). */
export const MAX_QUERY_RESULTS = 100_000;
/** Most segments a reader loads (4096 entries each: 400 million entries). */
export const MAX_SEGMENTS = 100_000;
/** Console request bodies. */
export const MAX_CONSOLE_BODY_BYTES = 1 << 20;
/** Longest token lifetime the console issues or accepts. */
export const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
