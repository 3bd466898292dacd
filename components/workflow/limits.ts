/**
 * Every bound of the workflow engine, named. The engine is a replicated state machine: whatever it keeps is in
 * every replica's memory and in every checkpoint, so each collection has a ceiling and an operation that would
 * pass it is refused (TC478) rather than slowing every replica down.
 */

/** Largest definition accepted, in bytes of its JSON. */
export const MAX_DEFINITION_BYTES = 256 * 1024;
/** States in one definition, nested branches and Map processors included. */
export const MAX_STATES = 1000;
/** Names of deployed definitions, and versions kept per name. */
export const MAX_DEFINITIONS = 1000;
export const MAX_VERSIONS_PER_DEFINITION = 100;
/** Largest execution input, call result or state output kept, in bytes of its JSON. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Executions running at once on a component. */
export const MAX_RUNNING_EXECUTIONS = 10_000;
/** Finished executions kept for status and history; the oldest finished one goes first. */
export const MAX_FINISHED_EXECUTIONS = 10_000;
/** History events kept per execution; past it the history says it was truncated (the execution goes on). */
export const MAX_HISTORY_EVENTS = 5000;
/** States one execution may run, all branches together: a loop without an exit ends as States.Runtime. */
export const MAX_STEPS_PER_EXECUTION = 100_000;
/** Items of one Map state, and branches of one Parallel state. */
export const MAX_MAP_ITEMS = 10_000;
export const MAX_BRANCHES = 100;
/** Longest Wait or retry interval: a timer further away is refused when the definition is checked or run. */
export const MAX_WAIT_SECONDS = 365 * 24 * 3600;
/** Retry attempts one retrier may ask for. */
export const MAX_RETRY_ATTEMPTS = 100;
/** Default and largest TimeoutSeconds of a Task (an HTTP call). */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 60;
export const MAX_TASK_TIMEOUT_SECONDS = 3600;
/** Longest execution or definition name (Step Functions allows 80). */
export const MAX_NAME_LENGTH = 80;
/** Entries one `workflow ls` returns. */
export const MAX_LIST = 1000;
/** Events one `workflow history` request returns; the client pages through longer histories. */
export const MAX_HISTORY_PAGE = 1000;
/** Outgoing HTTP calls one engine replica has open at once; more wait their turn. */
export const MAX_CALLS_IN_FLIGHT = 256;
/** Largest response body an engine reads from a web service; a longer one fails the call (States.TaskFailed). */
export const MAX_RESPONSE_BYTES = MAX_PAYLOAD_BYTES;
/** Start requests whose reply waits for their execution to end (`waitMs`); past it a start answers at once. */
export const MAX_WAITERS = 10_000;
/** Longest a start's reply may wait for its execution to end: under the clients' request deadline (40 s). */
export const MAX_START_WAIT_MS = 20_000;
