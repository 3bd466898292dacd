/**
 * Loading a topology without paying for the zod schema every time: a topology whose exact text validated once is
 * remembered, and later loads of the same text take the remembered result. Used by the lean storage path
 * (cli/hot/), where building the schema and zod itself would be about a third of a 1 MiB `storage get`.
 *
 * Same result as loadTopology (load.ts), by construction:
 * - validateTopologyText is pure, so its result depends only on the text, the name the file is shown under, and
 *   the code (`codeId`: the caller's build identity, which changes whenever the compiled modules do). All three
 *   make the key (SHA-256), so an edit, another working directory or a new build never hits an old entry;
 * - only a regular file of at most MAX_TOPOLOGY_BYTES of valid UTF-8 is read here; anything else (missing,
 *   directory, too big, binary) goes to loadTopology, which reports it as always;
 * - only topologies without errors are remembered: invalid ones are validated (and reported) every time.
 * Entries live in the user's cache directory ($XDG_CACHE_HOME or ~/.cache, `tclouds/topology/`, private to the
 * user: an entry says which clouds a command talks to, so it must not be writable by others), at most
 * MAX_ENTRIES of them. Writing is best effort: a read-only home just validates every time.
 */

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Problem } from '../kernel/errors.js';
import { displayName, MAX_TOPOLOGY_BYTES } from './files.js';
import type { LoadedTopology } from './load.js';
import type { Topology } from './schema.js';
import { effectiveStackName } from './stack-name.js';

/** Distinct topology texts remembered; the oldest entries go first beyond it. */
const MAX_ENTRIES = 64;
/** Bumped when the entry format changes. */
const FORMAT = 1;

interface Entry {
  format: number;
  topology: Topology;
  warnings: Problem[];
}

/** The default place of the cache: `<user cache dir>/tclouds/topology`. */
export function defaultTopologyCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'tclouds', 'topology');
}

/** The file's text when it is a regular file within the size bound and valid UTF-8; else undefined. */
async function plainText(absolute: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(absolute);
    if (!st.isFile() || st.size > MAX_TOPOLOGY_BYTES) return undefined;
    const bytes = await fs.readFile(absolute);
    if (bytes.length > MAX_TOPOLOGY_BYTES) return undefined;
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

async function readEntry(file: string): Promise<Entry | undefined> {
  try {
    const entry = JSON.parse(await fs.readFile(file, 'utf8')) as Entry;
    return entry.format === FORMAT && entry.topology && Array.isArray(entry.warnings) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Write an entry (atomically, private to the user) and drop the oldest ones beyond MAX_ENTRIES. */
async function writeEntry(dir: string, file: string, entry: Entry): Promise<void> {
  const { writeFileAtomic } = await import('../kernel/atomic-file.js');
  await writeFileAtomic(file, JSON.stringify(entry), { mode: 0o600, mkdir: true });
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json'));
  if (names.length <= MAX_ENTRIES) return;
  const dated = await Promise.all(
    names.map(async (n) => ({ n, t: (await fs.stat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  dated.sort((a, b) => a.t - b.t);
  await Promise.all(dated.slice(0, dated.length - MAX_ENTRIES).map((d) => fs.rm(path.join(dir, d.n), { force: true })));
}

/** loadTopology(file), answered from the cache when this exact text validated before (see the module comment). */
export async function loadTopologyCached(file: string, o: { codeId: string; dir?: string }): Promise<LoadedTopology> {
  const absolute = path.resolve(file);
  const shown = displayName(absolute);
  const text = await plainText(absolute);
  if (text === undefined) return (await import('./load.js')).loadTopology(file);
  const dir = o.dir ?? defaultTopologyCacheDir();
  const key = createHash('sha256').update(`${FORMAT}\0${o.codeId}\0${shown}\0${text}`).digest('hex');
  const entryFile = path.join(dir, `${key}.json`);
  const hit = await readEntry(entryFile);
  if (hit)
    return named({ file: absolute, dir: path.dirname(absolute), topology: hit.topology, warnings: hit.warnings });
  const { invalidTopologyError, validateTopologyText } = await import('./load.js');
  const { topology, errors, warnings } = validateTopologyText(text, shown);
  if (!topology || errors.length > 0) throw invalidTopologyError(shown, errors);
  await writeEntry(dir, entryFile, { format: FORMAT, topology, warnings }).catch(() => {});
  return named({ file: absolute, dir: path.dirname(absolute), topology, warnings });
}

/** The stack name as the environment makes it, as loadTopology does; the cache keeps the file's own name. */
function named(loaded: LoadedTopology): LoadedTopology {
  return { ...loaded, topology: { ...loaded.topology, name: effectiveStackName(loaded.topology.name, process.env) } };
}
