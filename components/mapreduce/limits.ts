/** Named bounds of the MapReduce component: every size, count and time it enforces is one of these. */

/** Largest input chunk a map task reads (a frame of the transport carries it whole, with room for its header). */
export const MAX_CHUNK_BYTES = 8 * 1024 * 1024;
/**
 * Chunk uploads a client keeps in flight: the tracker writes one while the next is on the wire (each connection's send
 * queue stays under 4 x MAX_CHUNK_BYTES).
 */
export const UPLOAD_WINDOW = 4;
/** Default chunk size for local file inputs. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
/** Smallest chunk size accepted (smaller ones only multiply task overhead). */
export const MIN_CHUNK_BYTES = 1024;
/** Most map tasks (input chunks) one job may have. */
export const MAX_MAP_TASKS = 10_000;
/** Most reduce tasks (partitions) one job may have. */
export const MAX_REDUCERS = 1024;
/** Largest job module source text. */
export const MAX_MODULE_BYTES = 1024 * 1024;
/** Largest output of one task partition carried in one message (a map partition or a reduce output). */
export const MAX_TASK_OUTPUT_BYTES = 12 * 1024 * 1024;
/** Largest message header (JSON) accepted from a peer or client. */
export const MAX_HEADER_BYTES = 256 * 1024;
/** Default wall-clock limit of one task replica, after which it is counted as timed out and another starts. */
export const DEFAULT_TASK_TIMEOUT_MS = 120_000;
export const MIN_TASK_TIMEOUT_MS = 100;
/**
 * A worker stops a task at its timeout and reports that itself; the tracker suspects a replica only this much later,
 * so a job module that never returns is reported as such rather than answered with one more replica.
 */
export const REPORT_MARGIN_MS = 5_000;
export const MAX_TASK_TIMEOUT_MS = 3_600_000;
/**
 * Straggler grace: once one replica of a task has finished, the others get max(this, STRAGGLER_FACTOR x its
 * running time) before they are suspected and another replica starts (a slow or silent worker costs this, not a
 * whole task timeout).
 */
export const DEFAULT_STRAGGLER_MS = 10_000;
export const STRAGGLER_FACTOR = 4;
/** Heap limit of the thread running a job module (MiB). */
export const DEFAULT_TASK_MEMORY_MB = 512;
export const MIN_TASK_MEMORY_MB = 32;
export const MAX_TASK_MEMORY_MB = 8192;
/** Tasks one worker runs at once. */
export const WORKER_SLOTS = 1;
/** Replacements of replicas lost with a dying worker, per task, beyond the 2f+1 that votes may need. */
export const MAX_LOST_RESTARTS = 8;
/** Job records a tracker keeps (the oldest finished ones are deleted beyond it). */
export const MAX_JOBS_KEPT = 64;
/** Jobs running at once at one tracker. */
export const MAX_RUNNING_JOBS = 8;
/** A job whose client sent no chunk for this long before starting it is dropped (its slot freed). */
export const UPLOAD_IDLE_MS = 10 * 60_000;
/** How often the tracker looks for overdue replicas. */
export const TRACKER_TICK_MS = 250;
/** Delay a worker in `slow` mode adds before reporting each task. */
export const SLOW_MODE_DELAY_MS = 5_000;
/** How long a client waits for one answer of the tracker. */
export const CLIENT_REQUEST_TIMEOUT_MS = 60_000;
/** How long a reduce task waits for one map partition from a worker before trying another source. */
export const FETCH_TIMEOUT_MS = 30_000;
/** Map partitions a reduce task fetches at once (from the workers that agreed on them). */
export const FETCH_PARALLEL = 8;
/** Core inputs the tracker's journal takes before it writes the core whole and empties its log. */
export const JOURNAL_COMPACT_INPUTS = 5_000;
/**
 * After a restart, the workers the core counted alive get this long to reconnect (they re-dial within 2 s) before
 * they are declared down and their running replicas replaced.
 */
export const TRACKER_RECONNECT_GRACE_MS = 15_000;
/** Deadline of one ordered input a replicated tracker's shell sends; a later view, report or tick follows anyway. */
export const REPLICATED_SUBMIT_TIMEOUT_MS = 10_000;
/** How often each shell of a replicated tracker orders a tick (every tick is one SMR instance). */
export const REPLICATED_TICK_MS = 1_000;
/** How often a replicated tracker replica looks whether its copy of the state has caught up with a request. */
export const REPLICATED_POLL_MS = 20;
/** A warm task thread with no task for this long stops (runner.ts). */
export const THREAD_IDLE_MS = 30_000;
/** Tasks one warm thread runs before it is replaced (what its job module keeps at module level lives as long). */
export const THREAD_MAX_TASKS = 32;
