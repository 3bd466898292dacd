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
  execute(op: Uint8Array, ctx: ExecContext): Uint8Array;
  snapshot(): Uint8Array;
  restore(state: Uint8Array): void;
}
