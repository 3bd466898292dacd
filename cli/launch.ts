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
 * `npm run build` also bundles the hottest command (validate: our topology modules and zod, ~130 ESM files)
 * into dist/bundle/validate.js (scripts/bundle-commands.js; @oclif/core stays external, so there is one
 * oclif). The manifest entry of a bundled command points at its bundle while the compiled files it was built
 * from are unchanged (checked through the fingerprint); otherwise the command loads from dist/commands.
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
 * Bundled commands (scripts/bundle-commands.js writes dist/bundle/<id>.js and a sidecar <id>.json listing the
 * compiled files it was built from, with their size and mtime). A bundle is usable only while every one of
 * those files is unchanged: a later `tsc` without the bundling step leaves it unused.
 */
async function readBundles(root: string): Promise<{ files: string[]; usable: string[] }> {
  const dir = path.join(root, 'dist', 'bundle');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const files: string[] = [];
  const usable: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const id = name.slice(0, -'.json'.length);
    try {
      const sidecar = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')) as {
        inputs?: Record<string, string>;
      };
      const inputs = Object.entries(sidecar.inputs ?? {});
      const bundle = path.join(dir, `${id}.js`);
      const stats = await Promise.all([bundle, ...inputs.map(([rel]) => path.join(root, rel))].map((f) => fs.stat(f)));
      files.push(bundle, ...inputs.map(([rel]) => path.join(root, rel)));
      if (inputs.length > 0 && inputs.every(([, key], i) => key === `${stats[i + 1]?.size}:${stats[i + 1]?.mtimeMs}`)) {
        usable.push(id);
      }
    } catch {
      // A missing input or a broken sidecar: the command runs from dist/commands.
    }
  }
  return { files, usable };
}

/**
 * Fingerprint of the compiled commands (and of dist/cli, where shared flag helpers live, and of the bundles
 * with their inputs) and the package version: changes whenever one of those files does. Also returns how
 * many command files there are, and which bundles match their inputs.
 */
export async function commandsFingerprint(
  root: string,
  version: string,
): Promise<{ id: string; commands: number; bundles: string[] }> {
  const commandsDir = path.join(root, 'dist', 'commands');
  const [commandFiles, cliFiles, bundles] = await Promise.all([
    listFiles(commandsDir),
    listFiles(path.join(root, 'dist', 'cli')),
    readBundles(root),
  ]);
  commandFiles.sort();
  const files = [...commandFiles, ...cliFiles.sort(), ...bundles.files];
  const stats = await Promise.all(files.map((f) => fs.stat(f).catch(() => undefined)));
  const text = [
    version,
    ...files.map((f, i) => `${path.relative(root, f)}:${stats[i]?.size}:${stats[i]?.mtimeMs}`),
    `bundles:${bundles.usable.join(',')}`,
  ].join('\n');
  // Two FNV-1a passes with different seeds: plenty for change detection, and no crypto module to load.
  return {
    id: `${fnv1a(text, 0x811c9dc5)}${fnv1a(text, 0x01000193)}:${commandFiles.length}`,
    commands: commandFiles.length,
    bundles: bundles.usable,
  };
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
): Promise<{ fresh: boolean; fingerprint: string; commands: number; bundles: string[] }> {
  const [{ id: fingerprint, commands, bundles }, manifest] = await Promise.all([
    commandsFingerprint(root, version),
    readManifest(root),
  ]);
  const fresh = manifest?.tcloudsFingerprint === fingerprint && manifest.version === version;
  if (!fresh && manifest) await fs.rm(path.join(root, MANIFEST_FILE), { force: true }).catch(() => {});
  return { fresh, fingerprint, commands, bundles };
}

/**
 * Write the manifest oclif computed while scanning (same content `oclif manifest` would write). Not when a
 * command failed to load (fewer commands than files): the failure may come from a module the fingerprint
 * does not cover, and a manifest without that command would hide it after the module is fixed.
 */
export async function writeManifest(
  config: Config,
  fingerprint: string,
  commandFiles: number,
  bundles: readonly string[] = [],
): Promise<void> {
  // The loaded root plugin is oclif's Plugin class, which holds the manifest it just computed; the public
  // IPlugin type does not declare the field.
  const root = config.plugins.get(config.name) as unknown as
    | { manifest?: { commands?: Record<string, object> } }
    | undefined;
  const commands = root?.manifest?.commands;
  if (!commands || Object.keys(commands).length < commandFiles) return;
  // oclif imports a command from the manifest's relativePath: point bundled commands at their bundle.
  const withBundles = { ...commands };
  for (const id of bundles) {
    const entry = withBundles[id];
    if (entry) withBundles[id] = { ...entry, isESM: true, relativePath: ['dist', 'bundle', `${id}.js`] };
  }
  const manifest = { ...root.manifest, commands: withBundles, tcloudsFingerprint: fingerprint };
  // Loaded here, not at the top: atomic-file pulls in node:crypto, which the fast path does not need.
  const { writeFileAtomic } = await import('../kernel/atomic-file.js');
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
  const root = path.resolve(path.dirname(fileURLToPath(binUrl)), '..');
  // `storage put/get/ls/rm` without oclif when the command line allows it (cli/hot/dispatch.ts).
  if (argv[0] === 'storage') {
    const { runHot } = await import('./hot/dispatch.js');
    if (await runHot(root, argv)) return;
  }
  // 1 = Sparkplug (baseline) is the highest tier; see the module comment. Must run before oclif is imported.
  if (isShortLived(argv)) setFlagsFromString('--max-opt=1');
  const { Config, flush, handle, run } = await import('@oclif/core');
  try {
    const version = (JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8')) as { version: string })
      .version;
    const { fresh, fingerprint, commands, bundles } = await ensureFreshManifest(root, version);
    const config = await Config.load({ root });
    if (!fresh) await writeManifest(config, fingerprint, commands, bundles).catch(() => {});
    await run(argv, config);
    await flush();
  } catch (error) {
    await handle(error as Error);
  }
}
