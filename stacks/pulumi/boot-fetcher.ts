/**
 * The first-boot artifact fetcher as one JavaScript file, for cloud-init to write next to the boot script (the
 * node software is not installed yet when it runs). `npm run build` bundles runtime/cloud-boot/artifact-main
 * into dist/boot/fetch-artifact.js; running from the TypeScript sources (tests, tsx), the same bundle is built
 * here from the sources with esbuild, so it never lags behind them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TcError } from '../../kernel/errors.js';
import { PulumiCode } from './codes.js';

/** esbuild options shared with scripts/bundle-commands.js (which imports them from dist/). */
export const BOOT_FETCHER_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
} as const;

let cached: string | undefined;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) return dir;
    dir = dirname(dir);
  }
  throw new TcError(PulumiCode.bootFetcherMissing, 'cannot find the root of this tclouds installation', {
    hint: 'reinstall tclouds',
  });
}

export function bootFetcherSource(): string {
  if (cached !== undefined) return cached;
  const root = packageRoot();
  const fromSources = fileURLToPath(import.meta.url).endsWith('.ts');
  if (fromSources) {
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const out = esbuild.buildSync({
      ...BOOT_FETCHER_OPTIONS,
      entryPoints: [join(root, 'runtime', 'cloud-boot', 'artifact-main.ts')],
      write: false,
      absWorkingDir: root,
    });
    cached = out.outputFiles[0]!.text;
    return cached;
  }
  const file = join(root, 'dist', 'boot', 'fetch-artifact.js');
  if (!existsSync(file)) {
    throw new TcError(
      PulumiCode.bootFetcherMissing,
      `${file} is missing: cloud VMs of this build could not fetch their software`,
      {
        exit: 7,
        hint: 'build with `npm run build` (it bundles the boot fetcher with esbuild)',
      },
    );
  }
  cached = readFileSync(file, 'utf8');
  return cached;
}
