/**
 * The lean launcher path: `tclouds storage put/get/ls/rm` without oclif.
 *
 * oclif's start (its config, plugins, manifest and the command module graph) costs more than a 1 MiB DepSky
 * write itself, and scripts that store many small objects pay it every time. `npm run build` bundles these
 * commands' logic into dist/hot/storage.js (scripts/bundle-commands.js) and records next to it, in
 * dist/hot/storage.json, the commands' flag and argument definitions as oclif holds them and the compiled files
 * the bundle and those definitions came from (size and mtime).
 *
 * The launcher takes this path only when all of this holds, and otherwise runs oclif as before:
 * - the command line is one that cli/hot/argv.ts reads exactly as oclif would (so --help, usage errors and any
 *   unusual syntax always go to oclif);
 * - TCLOUDS_CONTENT_TYPE is not set (oclif reads it as --json);
 * - every recorded input is unchanged (a later `tsc` without the bundling step leaves the bundle unused).
 * The bundle is imported while the inputs are checked: a stale bundle costs a wasted load, never a wrong run.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type HotCommandSpec, parseHotArgv } from './argv.js';

/** Where the build writes the bundle and its sidecar, relative to the package root. */
export const HOT_DIR = ['dist', 'hot'] as const;
export const HOT_BUNDLE = 'storage.js';
export const HOT_SIDECAR = 'storage.json';

/** What scripts/bundle-commands.js records next to the bundle. */
export interface HotSidecar {
  commands: Record<string, HotCommandSpec>;
  /** Compiled files (relative to the root) the bundle and the definitions came from: `size:mtimeMs`. */
  inputs: Record<string, string>;
}

interface HotModule {
  runHotCommand(
    id: string,
    args: Record<string, string>,
    flags: Record<string, string | boolean>,
    codeId: string,
  ): Promise<void>;
}

/** The commands the lean path runs (cli/hot/storage.ts has their actions). */
export const HOT_COMMAND_IDS: readonly string[] = ['storage:put', 'storage:get', 'storage:ls', 'storage:rm'];

/** The command id (`storage:put`) when argv starts with the topic and command of a hot command. */
function hotId(argv: readonly string[]): string | undefined {
  const id = `${argv[0]}:${argv[1]}`;
  return HOT_COMMAND_IDS.includes(id) ? id : undefined;
}

async function readSidecar(dir: string): Promise<HotSidecar | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, HOT_SIDECAR), 'utf8')) as HotSidecar;
  } catch {
    return undefined;
  }
}

/** Whether every recorded input still has its recorded size and mtime. */
export async function inputsUnchanged(root: string, inputs: Record<string, string>): Promise<boolean> {
  const entries = Object.entries(inputs);
  if (entries.length === 0) return false;
  const stats = await Promise.all(entries.map(([rel]) => fs.stat(path.join(root, rel)).catch(() => undefined)));
  return entries.every(([, key], i) => key === `${stats[i]?.size}:${stats[i]?.mtimeMs}`);
}

/**
 * Run the command on the lean path if it qualifies (see the module comment); false means oclif must run it.
 * Once it returns true the command ran to the end (or exited the process with its error's code).
 */
export async function runHot(root: string, argv: readonly string[]): Promise<boolean> {
  const id = hotId(argv);
  if (id === undefined || process.env.TCLOUDS_CONTENT_TYPE !== undefined) return false;
  const dir = path.join(root, ...HOT_DIR);
  const sidecar = await readSidecar(dir);
  const spec = sidecar?.commands[id];
  const parsed = spec ? parseHotArgv(argv.slice(2), spec, process.env) : undefined;
  if (!sidecar || !parsed) return false;
  const [fresh, mod] = await Promise.all([
    inputsUnchanged(root, sidecar.inputs),
    (import(pathToFileURL(path.join(dir, HOT_BUNDLE)).href) as Promise<HotModule>).catch(() => undefined),
  ]);
  if (!fresh || !mod) return false;
  await mod.runHotCommand(id, parsed.args, parsed.flags, JSON.stringify(sidecar.inputs));
  return true;
}
