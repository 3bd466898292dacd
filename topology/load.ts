/**
 * Loading a topology: read the file (bounded, text only), parse YAML with positions, validate with the
 * zod schema (defaults applied there), run the semantic rules, and report every problem at once.
 *
 * `validateTopologyText` is pure (no I/O), so editors, tests and `validate` share one code path.
 */

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ExitCode, isTcError, type Problem, TcError } from '../kernel/errors.js';
import { DEFAULT_TOPOLOGY_FILE, displayName, MAX_TOPOLOGY_BYTES } from './files.js';
import {
  type Cloud,
  CloudSchema,
  type Component,
  ComponentSchema,
  MODES,
  type Mode,
  type Topology,
  TopologySchema,
} from './schema.js';
import { issueToProblems } from './schema-issues.js';
import { type CheckedParts, checkSemantics } from './semantics.js';
import { effectiveStackName } from './stack-name.js';
import { parseYaml } from './yaml-source.js';

// The file's limits and path helpers live in files.ts (no zod there, for callers that must not load the schema).
export { DEFAULT_TOPOLOGY_FILE, displayName, localCloudDir, MAX_TOPOLOGY_BYTES, stackDir } from './files.js';

export interface LoadedTopology {
  /** Absolute path of the topology file. */
  file: string;
  /** Absolute directory of the file: relative paths in the topology (local cloud `path`) resolve against it. */
  dir: string;
  topology: Topology;
  warnings: Problem[];
}

export interface TextValidation {
  /** Present only when there are no errors. */
  topology?: Topology;
  errors: Problem[];
  warnings: Problem[];
}

function byPosition(a: Problem, b: Problem): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) || a.code.localeCompare(b.code);
}

/** Validate the text of a topology file. `file` is only used to label problems. Pure: no I/O. */
export function validateTopologyText(text: string, file: string): TextValidation {
  const parsed = parseYaml(text, file);
  if (parsed.errors.length > 0 || parsed.data === undefined) {
    return { errors: parsed.errors.sort(byPosition), warnings: parsed.warnings };
  }
  const errors: Problem[] = [];
  const warnings: Problem[] = [...parsed.warnings];

  const result = TopologySchema.safeParse(parsed.data);
  let parts: CheckedParts;
  if (result.success) {
    const t = result.data;
    parts = {
      name: t.name,
      mode: t.mode,
      clouds: t.clouds,
      cloudNames: Object.keys(t.clouds),
      components: t.components,
      componentsDeclared: true,
    };
  } else {
    for (const issue of result.error.issues) errors.push(...issueToProblems(issue, parsed, file));
    parts = partialParts(parsed.data);
  }

  const semantic = checkSemantics(parts, parsed, file);
  errors.push(...semantic.errors);
  warnings.push(...semantic.warnings);
  errors.sort(byPosition);
  warnings.sort(byPosition);
  if (errors.length === 0 && result.success) return { topology: result.data, errors, warnings };
  return { errors, warnings };
}

/** The parts of an invalid file that are valid on their own, so semantic rules can still run on them. */
function partialParts(data: unknown): CheckedParts {
  const raw = isRecord(data) ? data : {};
  const mode: Mode | undefined =
    raw.mode === undefined ? 'client-resident' : MODES.includes(raw.mode as Mode) ? (raw.mode as Mode) : undefined;
  const clouds: Record<string, Cloud> = {};
  const rawClouds = isRecord(raw.clouds) ? raw.clouds : {};
  for (const [name, value] of Object.entries(rawClouds)) {
    const r = CloudSchema.safeParse(value);
    if (r.success) clouds[name] = r.data;
  }
  const components: Record<string, Component> = {};
  const rawComponents = isRecord(raw.components) ? raw.components : {};
  for (const [name, value] of Object.entries(rawComponents)) {
    const r = ComponentSchema.safeParse(value);
    if (r.success) components[name] = r.data;
  }
  return {
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    ...(mode === undefined ? {} : { mode }),
    clouds,
    cloudNames: Object.keys(rawClouds),
    components,
    componentsDeclared: isRecord(raw.components),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Read a topology file as text, with the errors of a missing, unreadable, huge or binary file. The TcError
 * lists itself in `problems`, so callers can treat every topology failure alike (all errors in problems[]).
 */
export async function readTopologyText(file: string, shown: string): Promise<string> {
  try {
    return await readText(file, shown);
  } catch (e) {
    if (!isTcError(e) || e.problems.length > 0) throw e;
    const self: Problem = {
      code: e.code,
      severity: 'error',
      message: e.message,
      ...(e.hint === undefined ? {} : { hint: e.hint }),
      ...e.location,
    };
    throw new TcError(e.code, e.message, {
      exit: e.exit,
      ...(e.hint === undefined ? {} : { hint: e.hint }),
      ...(e.location === undefined ? {} : { location: e.location }),
      problems: [self],
    });
  }
}

async function readText(file: string, shown: string): Promise<string> {
  let stat: import('node:fs').Stats;
  try {
    stat = await fs.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new TcError('TC001', `topology file ${shown} not found`, {
        exit: ExitCode.notFound,
        hint: 'run `tclouds init` to create one, or pass the path of an existing file',
        location: { file: shown },
      });
    }
    throw new TcError('TC009', `cannot read ${shown}: ${(e as Error).message}`, {
      exit: ExitCode.notFound,
      hint: 'check the permissions of the file and of its directories',
      location: { file: shown },
    });
  }
  if (stat.isDirectory()) {
    const inside = path.join(file, DEFAULT_TOPOLOGY_FILE);
    const hasDefault = await fs.stat(inside).then(
      (s) => s.isFile(),
      () => false,
    );
    throw new TcError('TC002', `${shown} is a directory, not a topology file`, {
      exit: ExitCode.notFound,
      hint: hasDefault
        ? `did you mean ${path.join(shown, DEFAULT_TOPOLOGY_FILE)}?`
        : 'pass the path of a YAML file, e.g. tclouds.yaml',
      location: { file: shown },
    });
  }
  if (!stat.isFile()) {
    throw new TcError('TC009', `${shown} is not a regular file`, {
      exit: ExitCode.notFound,
      hint: 'pass the path of a YAML file, e.g. tclouds.yaml',
      location: { file: shown },
    });
  }
  if (stat.size > MAX_TOPOLOGY_BYTES) {
    throw new TcError('TC003', `${shown} is ${stat.size} bytes; a topology file may be at most ${MAX_TOPOLOGY_BYTES}`, {
      exit: ExitCode.invalid,
      hint: 'check that the right file was given',
      location: { file: shown },
    });
  }
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new TcError('TC009', `cannot read ${shown}: ${(e as Error).message}`, {
      exit: ExitCode.notFound,
      hint: 'check the permissions of the file and of its directories',
      location: { file: shown },
    });
  }
  if (bytes.length > MAX_TOPOLOGY_BYTES) {
    throw new TcError('TC003', `${shown} is larger than ${MAX_TOPOLOGY_BYTES} bytes`, {
      exit: ExitCode.invalid,
      hint: 'check that the right file was given',
      location: { file: shown },
    });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TcError('TC004', `${shown} is not a UTF-8 text file`, {
      exit: ExitCode.invalid,
      hint: 'a topology is a UTF-8 YAML text file; check that the right file was given',
      location: { file: shown, line: 1, column: 1 },
    });
  }
}

/** The problems of a file as one TcError (exit 3), every error attached. */
export function invalidTopologyError(shown: string, errors: readonly Problem[]): TcError {
  const first = errors[0];
  const message = errors.length === 1 && first ? first.message : `${shown} has ${errors.length} errors`;
  return new TcError(first?.code ?? 'TC010', message, {
    exit: ExitCode.invalid,
    ...(first?.hint === undefined ? {} : { hint: first.hint }),
    location: { file: shown, ...(first?.line === undefined ? {} : { line: first.line, column: first.column }) },
    problems: errors,
  });
}

/**
 * Load and validate a topology file (default ./tclouds.yaml, resolved against the working directory). Its name is
 * the stack's, as `TCLOUDS_STACK` and `TCLOUDS_STACK_SUFFIX` make it (stack-name.ts).
 * Throws a TcError: exit 4 (notFound) for a missing or unreadable file or a directory, exit 3 (invalid)
 * for everything wrong inside it, with every error in `problems`.
 */
export async function loadTopology(file: string = DEFAULT_TOPOLOGY_FILE): Promise<LoadedTopology> {
  const absolute = path.resolve(file);
  const shown = displayName(absolute);
  const text = await readTopologyText(absolute, shown);
  const { topology, errors, warnings } = validateTopologyText(text, shown);
  if (!topology || errors.length > 0) throw invalidTopologyError(shown, errors);
  const name = effectiveStackName(topology.name, process.env);
  return { file: absolute, dir: path.dirname(absolute), topology: { ...topology, name }, warnings };
}
