/**
 * The topology file and the places it names: its default name and size bound, how it is named in messages, its
 * stack directory, and the data directories of its local clouds. Apart from load.ts so that callers which take a
 * validated topology from elsewhere (topology/validated-cache.ts, for the lean storage path) need not load the
 * zod schema.
 */
import path from 'node:path';
import { ExitCode, TcError } from '../kernel/errors.js';
import type { LoadedTopology } from './load.js';

export const DEFAULT_TOPOLOGY_FILE = 'tclouds.yaml';
/** Names of stacks, clouds and components. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;
/** Far larger than any sensible topology (500 components take ~35 KiB), small enough to bound parse time. */
export const MAX_TOPOLOGY_BYTES = 1024 * 1024;

/** How a file is named in messages: relative to the working directory when inside it. */
export function displayName(absolute: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, absolute);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : absolute;
}

/** <dir>/.tclouds/<name>: where deployments of this topology keep their records and local state. */
export function stackDir(loaded: LoadedTopology): string {
  return path.join(loaded.dir, '.tclouds', loaded.topology.name);
}

/** Absolute data directory of a local cloud: its `path` (relative to the topology file) or the default. */
export function localCloudDir(loaded: LoadedTopology, cloud: string): string {
  const c = loaded.topology.clouds[cloud];
  if (!c) {
    throw new TcError('TC013', `cloud "${cloud}" is not declared in ${displayName(loaded.file)}`, {
      exit: ExitCode.invalid,
      hint: `declared clouds: ${Object.keys(loaded.topology.clouds).join(', ')}`,
    });
  }
  if (c.path !== undefined) return path.resolve(loaded.dir, c.path);
  return path.join(stackDir(loaded), 'clouds', cloud);
}
