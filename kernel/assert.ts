/**
 * Assertions at the invariants that matter. A failed assertion is a bug, never bad input: bad input gets a TcError
 * with its own code where it is read. `assert` throws an InvariantError (TC600) carrying what was seen, and the
 * shell that drives a pure core treats it as fatal: a node logs one line and exits (its supervisor restarts it from
 * durable state), the simulator reports the seed. Running on in a state nobody designed is the one thing worse.
 */
import { ExitCode, TcError } from './errors.js';

/** Error codes of the kernel itself (TC600-TC699). */
export const KernelCode = {
  /** An internal invariant does not hold: a bug. The node stops and is restarted; report it with its log line. */
  invariant: 'TC600',
} as const;

export class InvariantError extends TcError {
  /** What the assertion saw (numbers and short strings only: it goes into a log line). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(KernelCode.invariant, `invariant violated: ${message}`, {
      exit: ExitCode.failure,
      hint: 'this is a bug in tclouds; the node stops so that it restarts from its durable state. Report the log line',
    });
    this.name = 'InvariantError';
    this.details = details;
  }
}

export function isInvariantError(e: unknown): e is InvariantError {
  return e instanceof InvariantError;
}

/** Throws an InvariantError when `condition` is false. `details` should say what was seen, not what was wanted. */
export function assert(condition: unknown, message: string, details?: Record<string, unknown>): asserts condition {
  if (!condition) throw new InvariantError(message, details);
}
