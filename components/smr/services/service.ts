/**
 * The deterministic service a replica runs (BFT-SMaRt's executeCommand/getState/setState).
 * `ctx.timestamp` and `ctx.seed` were chosen by the leader of the instance and are identical on every replica,
 * so services may read "the clock" and "random numbers" through them and stay deterministic: every replica must
 * compute the same result from the same request, or the f+1 matching replies a client needs never come.
 */
export interface ExecContext {
  client: string;
  seq: number;
  cid: number;
  timestamp: number;
  /** Per-request 32-bit value derived from the batch seed and the request's position. */
  nonce: number;
  readOnly: boolean;
}

export interface Service {
  /** The result, or DEFERRED: the reply comes later, from `takeDeferred` after another ordered request. */
  execute(op: Uint8Array, ctx: ExecContext): Uint8Array;
  snapshot(): Uint8Array;
  restore(state: Uint8Array): void;
  /**
   * Replies to requests executed earlier with DEFERRED that the requests executed since have made ready, in the
   * order the service made them ready. Deterministic like `execute` (it is part of the ordered execution): every
   * correct replica hands out the same replies after the same request, so f+1 of them match. Optional.
   */
  takeDeferred?(): DeferredReply[];
}

/** A reply the service gives later (see Service.takeDeferred). */
export interface DeferredReply {
  client: string;
  seq: number;
  result: Uint8Array;
}

/**
 * What `execute` returns for an ordered request whose reply is deferred (compared by identity): a long-poll, such
 * as a start that answers when its workflow execution ends, instead of a client polling for the outcome. The
 * request is executed (a retransmission is not executed again); only its reply waits.
 */
export const DEFERRED: Uint8Array = new Uint8Array(0);
