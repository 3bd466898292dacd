/** `tclouds init` as library code: render the template, refuse to clobber, write topology + schema atomically. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../kernel/atomic-file.js';
import { ExitCode, TcError } from '../kernel/errors.js';
import { topologyJsonSchema } from './json-schema.js';
import { displayName } from './load.js';
import { type ReportedProblem, reportProblem } from './report.js';
import type { Mode, Provider } from './schema.js';
import { type InitCloud, renderTopology } from './templates.js';

/** Name of the JSON Schema file written beside the topology (the templates' `$schema=./...` points at it). */
export const SCHEMA_FILE = 'tclouds.schema.json';

export interface InitOptions {
  file: string;
  mode: Mode;
  providers: readonly Provider[];
  name: string;
  force: boolean;
}

/** `init --json` shape. */
export interface InitResult {
  file: string;
  schemaFile: string;
  mode: Mode;
  name: string;
  clouds: InitCloud[];
  components: string[];
  ignoredProviders: Provider[];
  overwritten: boolean;
  warnings: ReportedProblem[];
}

export async function initTopology(opts: InitOptions): Promise<InitResult> {
  const absolute = path.resolve(opts.file);
  const shown = displayName(absolute);
  const existing = await fs.lstat(absolute).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new TcError('TC031', `${shown} is a directory`, {
      exit: ExitCode.usage,
      hint: `pass a file name, e.g. --file ${path.join(shown, 'tclouds.yaml')}`,
    });
  }
  if (existing && !opts.force) {
    throw new TcError('TC030', `${shown} already exists; not overwriting it`, {
      exit: ExitCode.usage,
      hint: 'pass --force to replace it, or --file to write somewhere else',
      location: { file: shown },
    });
  }
  // Render (and validate) before touching the disk: a failure leaves nothing behind.
  const rendered = renderTopology({ mode: opts.mode, providers: opts.providers, name: opts.name });
  const schemaPath = path.join(path.dirname(absolute), SCHEMA_FILE);
  try {
    await writeJsonAtomic(schemaPath, topologyJsonSchema());
    await writeFileAtomic(absolute, rendered.text);
  } catch (e) {
    // A directory that does not exist or is not writable is a bad --file, not an internal error.
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new TcError('TC031', `cannot write ${shown} and ${SCHEMA_FILE} beside it: ${code}`, {
      exit: ExitCode.usage,
      hint: 'pass --file with a path in an existing, writable directory',
    });
  }
  return {
    file: shown,
    schemaFile: displayName(schemaPath),
    mode: rendered.mode,
    name: rendered.name,
    clouds: rendered.clouds,
    components: componentNames(rendered.text),
    ignoredProviders: rendered.ignoredProviders,
    overwritten: existing !== undefined,
    warnings: rendered.warnings.map(reportProblem),
  };
}

/** Active (not commented-out) component names of a rendered template, in file order. */
function componentNames(text: string): string[] {
  const block = text.split(/^components:\n/m)[1] ?? '';
  return [...block.matchAll(/^ {2}([a-z][a-z0-9-]*):/gm)].map((m) => m[1] as string);
}
