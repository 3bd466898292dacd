/**
 * The result of `tclouds validate` as a value: the stable --json shape and the exit code.
 * Kept out of the command so the shape is testable without a process and shared by other callers.
 */
import path from 'node:path';
import { ExitCode, type ExitCodeValue, isTcError, type Problem } from '../kernel/errors.js';
import { DEFAULT_TOPOLOGY_FILE, displayName, readTopologyText, validateTopologyText } from './load.js';
import type { Topology } from './schema.js';

/** One problem in `validate --json`: always these keys, in this order (null when unknown). */
export interface ReportedProblem {
  code: string;
  message: string;
  line: number | null;
  column: number | null;
  path: string | null;
  hint: string | null;
}

export interface ValidationReport {
  valid: boolean;
  /** The topology with every default applied; null when invalid. */
  topology: Topology | null;
  errors: ReportedProblem[];
  warnings: ReportedProblem[];
}

export function reportProblem(p: Problem): ReportedProblem {
  return {
    code: p.code,
    message: p.message,
    line: p.line ?? null,
    column: p.column ?? null,
    path: p.path ?? null,
    hint: p.hint ?? null,
  };
}

export interface ValidationOutcome {
  report: ValidationReport;
  exit: ExitCodeValue;
  /** File name as shown in messages. */
  shown: string;
  /** Problems with their file, for human output (errors and warnings, in file order). */
  problems: Problem[];
}

/** Read and validate a topology file; never throws for anything wrong with the file itself. */
export async function validateTopologyFile(file: string = DEFAULT_TOPOLOGY_FILE): Promise<ValidationOutcome> {
  const absolute = path.resolve(file);
  const shown = displayName(absolute);
  let text: string;
  try {
    text = await readTopologyText(absolute, shown);
  } catch (e) {
    if (!isTcError(e)) throw e;
    const problem: Problem = {
      code: e.code,
      severity: 'error',
      message: e.message,
      ...(e.hint === undefined ? {} : { hint: e.hint }),
      ...e.location,
    };
    return {
      report: { valid: false, topology: null, errors: [reportProblem(problem)], warnings: [] },
      exit: e.exit,
      shown,
      problems: [problem],
    };
  }
  const { topology, errors, warnings } = validateTopologyText(text, shown);
  const valid = topology !== undefined && errors.length === 0;
  const problems = [...errors, ...warnings].sort(
    (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
  return {
    report: {
      valid,
      topology: valid ? topology : null,
      errors: errors.map(reportProblem),
      warnings: warnings.map(reportProblem),
    },
    exit: valid ? ExitCode.ok : ExitCode.invalid,
    shown,
    problems,
  };
}
