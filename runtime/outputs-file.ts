/**
 * The one reader of a deployment's records (`outputs.json`, and the local target's `state.json` reports the same
 * way): every command that finds one damaged says so with one code and one exit code, whichever command it is.
 * Lives below components/ because the clients (SMR, storage) read outputs as much as status and chaos do.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ExitCode, TcError } from '../kernel/errors.js';
import { type DeploymentOutputs, OUTPUTS_VERSION } from './node-spec.js';

/**
 * A deployment record exists but cannot be used: not JSON (truncated, edited by hand, a damaged disk), not the
 * expected shape, or unreadable. Stable: scripts match on it. Listed with TC500 in README section `status`.
 */
export const DEPLOYMENT_STATE_UNREADABLE = 'TC501';

export function unreadableState(file: string, why: string, hint: string): TcError {
  return new TcError(DEPLOYMENT_STATE_UNREADABLE, `deployment state unreadable: ${path.basename(file)} ${why}`, {
    exit: ExitCode.invalid,
    hint,
    location: { file },
  });
}

const REDEPLOY_HINT =
  'run `tclouds deploy` with the same topology: it rewrites the outputs and keeps running nodes whose spec is unchanged';

/** Parse and sanity-check an outputs.json text. */
export function parseOutputs(text: string, file: string): DeploymentOutputs {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw unreadableState(file, `is not valid JSON (${(e as Error).message})`, REDEPLOY_HINT);
  }
  const o = value as Partial<DeploymentOutputs> | null;
  if (!o || typeof o !== 'object' || typeof o.stack !== 'string' || !o.components || typeof o.components !== 'object') {
    throw unreadableState(file, 'does not look like tclouds deployment outputs', REDEPLOY_HINT);
  }
  if (o.version !== undefined && o.version !== OUTPUTS_VERSION) {
    throw unreadableState(
      file,
      `has version ${String(o.version)}, this release reads ${OUTPUTS_VERSION}`,
      'it was written by another tclouds release: use that release, or deploy again with this one',
    );
  }
  for (const [name, c] of Object.entries(o.components)) {
    if (!c || !Array.isArray(c.nodes) || !Array.isArray(c.buckets)) {
      throw unreadableState(file, `lists component "${name}" without nodes and buckets`, REDEPLOY_HINT);
    }
    c.client ??= {};
  }
  return o as DeploymentOutputs;
}

/** A deployment record's text; null when it does not exist, TC501 (with `hint`) when it cannot be read. */
export async function readRecordText(file: string, hint: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw unreadableState(file, `cannot be read (${why})`, hint);
  }
}

/** Read and parse an outputs file; null when it does not exist (nothing deployed), TC501 when it is damaged. */
export async function readOutputsFile(file: string): Promise<DeploymentOutputs | null> {
  const text = await readRecordText(file, REDEPLOY_HINT);
  return text === null ? null : parseOutputs(text, file);
}
