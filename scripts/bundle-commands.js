// Bundles the hot short-lived commands (now: validate) into one ESM file each, dist/bundle/<id>.js, after
// tsc has compiled dist/. Why: on Node 20 (no module compile cache) loading ~130 small ESM files (our
// topology modules and zod) costs more than the validation itself; one file loads in a fraction of that.
// @oclif/core stays external, so the process has one oclif (its classes and global state are shared with
// the launcher and the plugins); yaml stays external (loaded lazily, only for files outside the fast subset).
//
// cli/launch.ts points the command's manifest entry at the bundle only while every input recorded in the
// sidecar dist/bundle/<id>.json is unchanged; a later `tsc` without this step leaves the bundle unused.
// Best effort: without esbuild, or if bundling fails, the CLI runs from dist/commands as before.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMMANDS = ['validate'];
const outDir = path.join(root, 'dist', 'bundle');

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
}

await main();
