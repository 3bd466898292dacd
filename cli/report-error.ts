/**
 * How a command reports a failure, shared by every command (cli/base-command.ts) and by the lean launcher path
 * (cli/hot/), which must print exactly the same bytes without oclif: a TcError as `file:line:col error CODE
 * message` + hint on stderr, or as `{"error":{...}}` on stdout with --json; anything else as internal error TC000,
 * one line, no stack trace unless TCLOUDS_DEBUG=1.
 */
import { style } from '../dashboard/style.js';
import { ExitCode, formatProblem, TcError } from '../kernel/errors.js';
import { jsonText } from './json-numbers.js';

/** Write the error the way every command does (the caller exits with `err.exit`). */
export function writeError(err: TcError, json: boolean): void {
  if (json) {
    process.stdout.write(`${jsonText({ error: err.toJSON() })}\n`);
    return;
  }
  const problems =
    err.problems.length > 0
      ? err.problems
      : [
          {
            ...err.location,
            code: err.code,
            severity: 'error' as const,
            message: err.message,
            ...(err.hint ? { hint: err.hint } : {}),
          },
        ];
  for (const p of problems) {
    const text = formatProblem(p);
    process.stderr.write(
      `${p.severity === 'error' ? style.red(text, process.stderr) : style.yellow(text, process.stderr)}\n`,
    );
  }
}

/** An error that is not a TcError is a bug: TC000, with the stack on stderr only when TCLOUDS_DEBUG=1. */
export function internalError(err: Error): TcError {
  if (process.env.TCLOUDS_DEBUG === '1') process.stderr.write(`${err.stack ?? String(err)}\n`);
  return new TcError('TC000', `internal error: ${err.message}`, {
    exit: ExitCode.failure,
    hint: 'this is a bug in tclouds; rerun with TCLOUDS_DEBUG=1 for the stack trace and report it',
  });
}
