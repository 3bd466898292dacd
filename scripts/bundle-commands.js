// Bundles the hot short-lived commands (now: validate) into one ESM file each, dist/bundle/<id>.js, after
// tsc has compiled dist/. Why: on Node 20 (no module compile cache) loading ~130 small ESM files (our
// topology modules and zod) costs more than the validation itself; one file loads in a fraction of that.
// @oclif/core stays external, so the process has one oclif (its classes and global state are shared with
// the launcher and the plugins); yaml stays external (loaded lazily, only for files outside the fast subset).
//
// cli/launch.ts points the command's manifest entry at the bundle only while every input recorded in the
// sidecar dist/bundle/<id>.json is unchanged; a later `tsc` without this step leaves the bundle unused.
//
// It also bundles the lean launcher path (cli/hot/: `storage put/get/ls/rm` without oclif) into dist/hot/storage.js,
// and records in dist/hot/storage.json the flag and argument definitions of those commands, read from the oclif
// command classes themselves, with the compiled files the bundle and the definitions came from. A command whose
// definitions use an oclif feature the lean parser does not implement is left out (oclif runs it).
// Best effort: without esbuild, or if bundling fails, the CLI runs from dist/commands as before.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMMANDS = ['validate'];
const outDir = path.join(root, 'dist', 'bundle');
const hotDir = path.join(root, 'dist', 'hot');

/** What cli/launch.ts compares: size and mtime of an input file. */
export function statKey(file) {
  const s = statSync(file);
  return `${s.size}:${s.mtimeMs}`;
}

/**
 * zod's `z.locales` namespace holds the messages of ~50 languages (almost half of the bundle). The CLI only
 * uses English (zod's default, set up by zod itself from locales/en.js), so in bundles `z.locales` is
 * reduced to `en`.
 */
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: path.join(path.dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

async function main() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    console.warn('bundle-commands: esbuild not found; commands run unbundled from dist/commands');
    return;
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const id of COMMANDS) {
    const outfile = path.join(outDir, `${id}.js`);
    try {
      const result = await esbuild.build({
        entryPoints: [path.join(root, 'dist', 'commands', `${id}.js`)],
        outfile,
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        sourcemap: false,
        minify: false,
        metafile: true,
        logLevel: 'warning',
        // Whitespace and syntax only: names stay (classes are matched by name in places), no source maps.
        minifyWhitespace: true,
        minifySyntax: true,
        external: ['@oclif/core', 'yaml'],
        plugins: [englishOnlyZod],
        absWorkingDir: root,
      });
      // Only our compiled files are checked at start (a few stat calls); packages change only with npm.
      const inputs = {};
      for (const input of Object.keys(result.metafile.inputs)) {
        if (input.startsWith('dist/')) inputs[input] = statKey(path.join(root, input));
      }
      writeFileSync(path.join(outDir, `${id}.json`), `${JSON.stringify({ command: id, inputs }, null, 1)}\n`);
    } catch (e) {
      rmSync(outfile, { force: true });
      console.warn(`bundle-commands: ${id} not bundled (${e.message.split('\n')[0]}); it runs from dist/commands`);
    }
  }
  // Not best effort: without it, cloud-init of a cloud deploy cannot be rendered from this build.
  await bundleBootFetcher(esbuild);
  await bundleHot(esbuild).catch((e) => {
    rmSync(hotDir, { recursive: true, force: true });
    console.warn(`bundle-commands: lean storage path not bundled (${e.message.split('\n')[0]}); oclif runs it`);
  });
}

/**
 * The first-boot artifact fetcher of cloud VMs (runtime/cloud-boot/artifact-main.ts): one self-contained,
 * minified file (node: builtins only) that cloud-init writes into user data, gzipped. stacks/pulumi/boot-fetcher.ts
 * reads it, or builds it the same way from the sources when running from them (BOOT_FETCHER_OPTIONS there).
 */
async function bundleBootFetcher(esbuild) {
  const dir = path.join(root, 'dist', 'boot');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { BOOT_FETCHER_OPTIONS } = await import(
    pathToFileURL(path.join(root, 'dist', 'stacks', 'pulumi', 'boot-fetcher.js')).href
  );
  await esbuild.build({
    ...BOOT_FETCHER_OPTIONS,
    entryPoints: [path.join(root, 'dist', 'runtime', 'cloud-boot', 'artifact-main.js')],
    outfile: path.join(dir, 'fetch-artifact.js'),
    absWorkingDir: root,
  });
}

/** Flag features the lean parser (cli/hot/argv.ts) reads exactly as oclif; a flag using any other is refused. */
const UNSUPPORTED_FLAG_FIELDS = ['multiple', 'dependsOn', 'exclusive', 'exactlyOne', 'relationships', 'required'];

/** A command's oclif definitions as cli/hot/argv.ts takes them, or a reason why the lean path cannot parse them. */
function hotSpec(Cmd) {
  if (Cmd.strict === false) return 'not strict';
  const flags = {};
  const all = { ...Cmd.baseFlags, ...Cmd.flags, ...(Cmd.enableJsonFlag ? { json: { type: 'boolean' } } : {}) };
  for (const [name, f] of Object.entries(all)) {
    const used = UNSUPPORTED_FLAG_FIELDS.filter((k) => f[k] !== undefined && f[k] !== false);
    if (used.length > 0 || f.allowNo || typeof f.default === 'function') return `flag --${name} uses ${used}`;
    if (f.type !== 'boolean' && f.type !== 'option') return `flag --${name} is of type ${f.type}`;
    if (f.env && f.type === 'boolean') return `flag --${name} reads a boolean from ${f.env}`;
    flags[name] = {
      type: f.type,
      ...(f.char ? { char: f.char } : {}),
      ...(f.env ? { env: f.env } : {}),
      ...(f.aliases?.length ? { aliases: f.aliases } : {}),
      ...(f.charAliases?.length ? { charAliases: f.charAliases } : {}),
      ...(f.default !== undefined ? { default: f.default } : {}),
      ...(f.options ? { options: f.options } : {}),
    };
  }
  const args = Object.entries(Cmd.args ?? {});
  if (args.some(([, a]) => !a.required || a.default !== undefined || a.options)) return 'optional arguments';
  return { args: args.map(([name]) => name), flags };
}

async function bundleHot(esbuild) {
  rmSync(hotDir, { recursive: true, force: true });
  mkdirSync(hotDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'dist', 'cli', 'hot', 'storage.js')],
    outdir: hotDir,
    // Modules imported dynamically (the topology validator with zod, used only when the validated-topology
    // cache misses) go to separate chunks, loaded (and parsed) only when needed.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    metafile: true,
    logLevel: 'warning',
    minifyWhitespace: true,
    minifySyntax: true,
    // The cloud SDKs are imported by the drivers only when a stack uses that cloud: they stay outside.
    external: ['yaml', '@aws-sdk/*', '@azure/*', '@google-cloud/*'],
    plugins: [englishOnlyZod],
    absWorkingDir: root,
  });
  const oclif = Object.keys(result.metafile.inputs).find((i) => i.includes('node_modules/@oclif/'));
  if (oclif) throw new Error(`the lean path must not load oclif, but bundles ${oclif}`);
  // Packages left outside are loaded on demand only (a local stack never loads a cloud SDK): no static import.
  for (const output of Object.values(result.metafile.outputs)) {
    const eager = output.imports.find(
      (i) => i.external && i.kind === 'import-statement' && !i.path.startsWith('node:'),
    );
    if (eager) throw new Error(`the lean path must load ${eager.path} only when needed, not at start`);
  }
  const { HOT_COMMAND_IDS } = await import(pathToFileURL(path.join(root, 'dist', 'cli', 'hot', 'dispatch.js')).href);
  const commands = {};
  const commandFiles = [];
  for (const id of HOT_COMMAND_IDS) {
    const file = `${path.join(root, 'dist', 'commands', ...id.split(':'))}.js`;
    const spec = hotSpec((await import(pathToFileURL(file).href)).default);
    if (typeof spec === 'string') {
      console.warn(`bundle-commands: ${id} stays on oclif (${spec})`);
      continue;
    }
    commands[id] = spec;
    commandFiles.push(file);
  }
  // The definitions come from the command modules and what they import: those files are inputs too.
  const defs = await esbuild.build({
    entryPoints: commandFiles,
    outdir: hotDir,
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    logLevel: 'silent',
    absWorkingDir: root,
  });
  const inputs = {};
  for (const input of [...Object.keys(result.metafile.inputs), ...Object.keys(defs.metafile.inputs)].sort()) {
    if (input.startsWith('dist/')) inputs[input] = statKey(path.join(root, input));
  }
  writeFileSync(path.join(hotDir, 'storage.json'), `${JSON.stringify({ commands, inputs }, null, 1)}\n`);
}

await main();
