/**
 * CLI entry used by bin/run.js: oclif with a self-maintained command manifest.
 *
 * Without oclif.manifest.json, oclif imports every command module on every start to learn ids, flags and
 * summaries, so `tclouds --help` and `tclouds validate` would pay for every command's imports. With a
 * manifest it imports only the command that runs. A manifest goes stale when commands change, and a stale
 * one hides new commands, so ours carries a fingerprint of dist/commands (names, sizes, mtimes). On start we
 * compare it (a few stat calls); when it is missing or stale, oclif scans the commands as usual and we write
 * the fresh manifest it computed (atomically, best effort: a read-only install just stays on the slow path).
 *
 * Short-lived commands (help, validate, init, schema) also cap V8's JIT at the baseline tier before any
 * module is loaded: an optimizing compile never pays back in a process that lives a few hundred ms, and
 * skipping it halves the CPU time of parsing a large topology. Long-running commands (node hosts,
 * deployments, benchmarks) keep the full JIT.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import type { Config } from '@oclif/core';

export const MANIFEST_FILE = 'oclif.manifest.json';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full)));
    else if (e.isFile() && e.name.endsWith('.js')) out.push(full);
  }
  return out;
}

/**
 * Fingerprint of the compiled commands (and of dist/cli, where shared flag helpers live) and the package
 * version: changes whenever one of those files does. Also returns how many command files there are.
 */
export async function commandsFingerprint(root: string, version: string): Promise<{ id: string; commands: number }> {
  const commandsDir = path.join(root, 'dist', 'commands');
  const commandFiles = (await listFiles(commandsDir)).sort();
  const files = [...commandFiles, ...(await listFiles(path.join(root, 'dist', 'cli'))).sort()];
  const stats = await Promise.all(files.map((f) => fs.stat(f)));
  const text = [
    version,
    ...files.map((f, i) => `${path.relative(root, f)}:${stats[i]?.size}:${stats[i]?.mtimeMs}`),
  ].join('\n');
  // Two FNV-1a passes with different seeds: plenty for change detection, and no crypto module to load.
  return { id: `${fnv1a(text, 0x811c9dc5)}${fnv1a(text, 0x01000193)}:${files.length}`, commands: commandFiles.length };
}

function fnv1a(text: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

interface ManifestOnDisk {
  version?: string;
  tcloudsFingerprint?: string;
}

async function readManifest(root: string): Promise<ManifestOnDisk | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(root, MANIFEST_FILE), 'utf8')) as ManifestOnDisk;
  } catch {
    return undefined;
  }
}

/** Whether oclif.manifest.json matches the compiled commands; removes a stale one so oclif will not use it. */
export async function ensureFreshManifest(
  root: string,
  version: string,
): Promise<{ fresh: boolean; fingerprint: string; commands: number }> {
  const [{ id: fingerprint, commands }, manifest] = await Promise.all([
    commandsFingerprint(root, version),
    readManifest(root),
  ]);
  const fresh = manifest?.tcloudsFingerprint === fingerprint && manifest.version === version;
  if (!fresh && manifest) await fs.rm(path.join(root, MANIFEST_FILE), { force: true }).catch(() => {});
  return { fresh, fingerprint, commands };
}

/**
 * Write the manifest oclif computed while scanning (same content `oclif manifest` would write). Not when a
 * command failed to load (fewer commands than files): the failure may come from a module the fingerprint
 * does not cover, and a manifest without that command would hide it after the module is fixed.
 */
export async function writeManifest(config: Config, fingerprint: string, commandFiles: number): Promise<void> {
  // The loaded root plugin is oclif's Plugin class, which holds the manifest it just computed; the public
  // IPlugin type does not declare the field.
  const root = config.plugins.get(config.name) as unknown as { manifest?: { commands?: object } } | undefined;
  const commands = root?.manifest?.commands;
  if (!commands || Object.keys(commands).length < commandFiles) return;
  const manifest = { ...root.manifest, tcloudsFingerprint: fingerprint };
  // Loaded here, not at the top: atomic-file pulls in node:crypto, which the fast path does not need.
  const { writeFileAtomic } = await import('../runtime/atomic-file.js');
  await writeFileAtomic(path.join(config.root, MANIFEST_FILE), `${JSON.stringify(manifest)}\n`, { mkdir: false });
}

/** Commands that finish in well under a second and never run long enough for optimized code to pay off. */
const SHORT_LIVED = new Set(['validate', 'init', 'schema', 'help', 'autocomplete', 'version', '--version', '-v']);

export function isShortLived(argv: readonly string[]): boolean {
  const first = argv[0];
  if (first === undefined) return true;
  if (argv.includes('--help') || argv.includes('-h')) return true;
  return SHORT_LIVED.has(first);
}

export async function launch(binUrl: string): Promise<void> {
  const argv = process.argv.slice(2);
  // 1 = Sparkplug (baseline) is the highest tier; see the module comment. Must run before oclif is imported.
  if (isShortLived(argv)) setFlagsFromString('--max-opt=1');
  const { Config, flush, handle, run } = await import('@oclif/core');
  const root = path.resolve(path.dirname(fileURLToPath(binUrl)), '..');
  try {
    const version = (JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8')) as { version: string })
      .version;
    const { fresh, fingerprint, commands } = await ensureFreshManifest(root, version);
    const config = await Config.load({ root });
    if (!fresh) await writeManifest(config, fingerprint, commands).catch(() => {});
    await run(argv, config);
    await flush();
  } catch (error) {
    await handle(error as Error);
  }
}
