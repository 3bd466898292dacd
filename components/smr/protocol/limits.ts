/**
 * Every bound of the SMR protocol, in one place. Most exist because a Byzantine peer or client chooses what it
 * sends: without a bound, one faulty replica could make the others buffer, decode or check without end. Others are
 * timer factors (in request timeouts, the core's unit of time) that keep eventual synchrony from doubling a timeout
 * forever. Changing one changes behaviour: the simulator (test/smr) runs every one of them.
 */

// ---------------------------------------------------------------- consensus instances

/**
 * PROPOSE, WRITE and ACCEPT messages for an instance up to this many ahead of the current one are kept
 * (out-of-context messages, BFT-SMaRt's "high mark") and handled once it starts; later ones are dropped and only
 * counted as a sign that this replica lags (state transfer catches it up instead).
 */
export const OUT_OF_CONTEXT_INSTANCES = 4;

/**
 * Out-of-context messages kept per future instance, per replica of the group (so 4n in all): room for every
 * replica's PROPOSE, WRITE and ACCEPT of one regency. The bound is on memory: messages past it are dropped.
 */
export const OUT_OF_CONTEXT_PER_REPLICA = 4;

/**
 * WRITEs and ACCEPTs are recorded for regencies this close to ours (either side): votes of the regency before a
 * leader change that arrive late, and of the next ones that arrive before we install them, still count; a
 * Byzantine replica cannot make us keep votes for regencies far away.
 */
export const VOTE_WINDOW_REGENCIES = 2;

/** A proposal with more requests is invalid: bounds what a Byzantine leader makes every follower decode and check. */
export const MAX_BATCH_REQUESTS = 4096;

/**
 * A proposal whose timestamp is further ahead of this replica's wall clock is invalid (ms): a Byzantine leader
 * cannot push the agreed clock (which services read) far into the future. Generous, as clocks of clouds differ.
 */
export const MAX_TIMESTAMP_AHEAD_MS = 600_000;

// ---------------------------------------------------------------- requests and their timers

/**
 * Requests a replica pools per client (logical client id) before refusing more. Set by the node for every replica
 * (the simulator uses the same); the total is the component's `maxPending`.
 */
export const MAX_PENDING_PER_CLIENT = 64;

/**
 * Emptied client queues stay in the pool (see RequestPool.prune) until the pool holds more than twice this many
 * queues beyond the requests it holds: then they are swept.
 */
export const EMPTY_QUEUES_SLACK = 1024;

/** Requests a follower forwards to the leader per tick, and takes from one FWD message. */
export const MAX_FORWARDED_REQUESTS = 256;

/** Timed-out requests a STOP carries (so every replica can pool them), and that a receiver takes from one. */
export const MAX_STOP_REQUESTS = 64;

/**
 * The shortest request timeout, in ticks: the node rounds requestTimeoutMs to ticks and never goes below this, so
 * a very short timeout (or a long tick) still gives a leader more than one tick to order a request.
 */
export const MIN_REQUEST_TIMEOUT_TICKS = 2;

/**
 * A pooled request is forwarded to the leader after one request timeout and starts a leader change after this
 * many (BFT-SMaRt's two-step request timer).
 */
export const STOP_AFTER_TIMEOUTS = 2;

/**
 * Every leader change started by a request timeout doubles the request timeout (eventual synchrony: the bound is
 * unknown), up to this many times the configured one; each decision brings it one tick back down.
 */
export const MAX_REQUEST_TIMEOUT_FACTOR = 16;

// ---------------------------------------------------------------- leader change

/**
 * A leader change that does not complete in its timeout moves on to the next regency with the timeout doubled, up
 * to this many times the configured request timeout; a decision resets it.
 */
export const MAX_LEADER_CHANGE_TIMEOUT_FACTOR = 32;

/**
 * A STOPDATA addressed to us as the leader of a regency we have not installed yet is kept when that regency is at
 * most this many ahead of ours (one per sender): a follower may install it before we do.
 */
export const EARLY_STOPDATA_REGENCIES = 8;

/** A SYNC for a regency at most this many ahead of ours is kept until we install that regency. */
export const EARLY_SYNC_REGENCIES = 2;

/** Entries a collect's write set may list; a collect with more is refused (collect.ts decodeCollect). */
export const MAX_COLLECT_WRITES = 64;

// ---------------------------------------------------------------- lagging, heartbeats, state transfer

/**
 * More than f replicas have been working on later instances for this many ticks: this replica lags and asks for
 * the state (a shorter wait would start transfers for messages merely reordered).
 */
export const LAG_TICKS = 3;

/** Every replica sends a heartbeat (regency and last decision) every this many request timeouts. */
export const HEARTBEAT_TIMEOUTS = 2;

/**
 * Decisions a STATE reply carries, in bytes of their values: frames have a size limit, so a long log goes in
 * several rounds (the requester installs what f+1 agree on and asks again from there).
 */
export const STATE_LOG_BYTES = 4 * 1024 * 1024;

// ---------------------------------------------------------------- decoding and the wire

/**
 * Interned client ids (codec.ts decodeId): past this many the table starts again. Ids are decoded before their
 * request is authenticated, so a Byzantine leader chooses them; the bound keeps the table from growing without end.
 */
export const MAX_INTERNED_IDS = 65_536;

/** Ids per bucket of the intern table: ids made to share a key cost a decoder a few comparisons, never a scan. */
export const MAX_INTERN_BUCKET = 8;

/** Client ids whose identity (`base` of `base/session`) is cached (wire.ts clientBase), bounded like the id table. */
export const MAX_CACHED_CLIENT_BASES = 65_536;

/**
 * Bytes a replies message may hold before the rest of a step's replies go in another one: a batch of large results
 * must not become one message over the client transport's frame limit (16 MiB by default), which would drop it.
 */
export const REPLIES_MESSAGE_BYTES = 1 << 20;

/**
 * Largest frame between replicas: a checkpoint travels whole in one STATE message, so the peer transport allows
 * large frames (the client transport keeps the transport's default).
 */
export const PEER_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Bytes the peer transport queues on one connection to a slow replica; a message past it is dropped. */
export const PEER_MAX_QUEUE_BYTES = 512 * 1024 * 1024;
