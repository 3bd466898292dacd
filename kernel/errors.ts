/**
 * Typed errors shared by every part of tclouds.
 *
 * Errors are part of the interface: every problem a user can cause is a
 * TcError with a stable code, a message, an optional source position and a hint saying what to do.
 * Commands turn them into `file:line:column error CODE message` lines, or into JSON with `--json`,
 * and exit with the documented exit code of their class. Nothing else should reach the user as a stack trace.
 */

/** Documented exit codes (README, "Exit codes"). Stable: CI pipelines branch on them. */
export const ExitCode = {
  ok: 0,
  /** An operation failed (deployment failed, quorum not reached, internal error). */
  failure: 1,
  /** Command-line usage error (unknown flag, missing argument). oclif uses 2 as well. */
  usage: 2,
  /** The input was read but is invalid (topology errors, bad layout, bad key file). */
  invalid: 3,
  /** A file, object, deployment or key that was named does not exist or cannot be read. */
  notFound: 4,
  /** `plan --exit-code`: the plan has changes that a deploy would apply. */
  changesPending: 5,
  /** Another tclouds process holds the lock of this deployment. */
  locked: 6,
  /** A required external program is missing (e.g. the `pulumi` CLI for cloud targets). */
  missingDependency: 7,
  /** Not enough nodes or clouds answered to reach a quorum. */
  unavailable: 8,
  /**
   * The operation ran and was agreed, but its condition did not hold, so it changed nothing (`smr cas` whose
   * expected value did not match): like grep's 1 for "no match", distinct so scripts can branch on it.
   */
  notApplied: 9,
  /** Interrupted by Ctrl-C / SIGTERM after a clean cancel. */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Where a problem is: a file and position, and/or a path inside the document (e.g. components.vault.f). */
export interface SourceLocation {
  file?: string;
  line?: number;
  column?: number;
  /** Dotted path inside the document, e.g. `components.vault.clouds[2]`. */
  path?: string;
}

export interface ProblemJson {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  hint?: string;
  file?: string;
  line?: number;
  column?: number;
  path?: string;
}

/** One problem found in user input. Several are collected and reported at once. */
export interface Problem extends SourceLocation {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  hint?: string;
}

export class TcError extends Error {
  readonly code: string;
  readonly exit: ExitCodeValue;
  readonly hint: string | undefined;
  readonly location: SourceLocation | undefined;
  /** Further problems found along with this one (e.g. all errors of a topology file). */
  readonly problems: readonly Problem[];

  constructor(
    code: string,
    message: string,
    opts: {
      exit?: ExitCodeValue;
      hint?: string;
      location?: SourceLocation;
      problems?: readonly Problem[];
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TcError';
    this.code = code;
    this.exit = opts.exit ?? ExitCode.failure;
    this.hint = opts.hint;
    this.location = opts.location;
    this.problems = opts.problems ?? [];
  }

  toJSON(): ProblemJson & { problems?: ProblemJson[] } {
    const base = problemToJson({
      code: this.code,
      severity: 'error',
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...this.location,
    });
    return this.problems.length > 0 ? { ...base, problems: this.problems.map(problemToJson) } : base;
  }
}

export function isTcError(e: unknown): e is TcError {
  return e instanceof TcError;
}

/** Stable JSON shape of a problem: fields in a fixed order, absent fields omitted. */
export function problemToJson(p: Problem): ProblemJson {
  const out: ProblemJson = { code: p.code, severity: p.severity, message: p.message };
  if (p.hint !== undefined) out.hint = p.hint;
  if (p.file !== undefined) out.file = p.file;
  if (p.line !== undefined) out.line = p.line;
  if (p.column !== undefined) out.column = p.column;
  if (p.path !== undefined) out.path = p.path;
  return out;
}

/** `file:line:column severity CODE message` (the position parts that are known). */
export function formatProblem(p: Problem): string {
  const where = [p.file, p.line, p.line === undefined ? undefined : p.column].filter((x) => x !== undefined).join(':');
  const head = `${where ? `${where} ` : ''}${p.severity} ${p.code} ${p.message}`;
  return p.hint ? `${head}\n  hint: ${p.hint}` : head;
}
