/**
 * The TcError a call throws, for tests that check an error's code, exit code and message: anything else thrown
 * (or nothing thrown) fails the test.
 */
import { TcError } from '../../kernel/errors.js';

export function thrownTcError(f: () => unknown): TcError {
  try {
    f();
  } catch (e) {
    if (e instanceof TcError) return e;
    throw e;
  }
  throw new Error('expected a TcError');
}

/** The TcError a promise rejects with (see thrownTcError). */
export async function rejectedTcError(p: Promise<unknown>): Promise<TcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TcError) return e;
    throw e;
  }
  throw new Error('expected a TcError');
}
