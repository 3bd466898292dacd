/**
 * The node software a cloud deploy ships, on this machine: the artifact (the build that runs the deploy, packed) or
 * a published package the user named with `--node-package`. Never a silent default from the environment.
 *
 * `npmPackArtifact` packs this installation with `npm pack` (no scripts: the build already exists) and hashes the
 * file; the boot side's `packArtifact` (artifact.ts, with the locked production dependencies) takes its place where
 * the realizer is created.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ExitCode, TcError } from '../../kernel/errors.js';
import type { NodeRuntimeRef } from './boot-refs.js';
import { PulumiCode } from './codes.js';
import type { SoftwareInput } from './program-env.js';

/** Packs the node software into `outDir`: the file, its SHA-256 (lower-case hex) and its size. */
export type ArtifactSource = (opts: { outDir: string }) => Promise<{ path: string; sha256: string; bytes: number }>;

/** What `npm pack` may print before giving up; a pack is a few hundred KB of JSON at most. */
const PACK_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Safe characters of an npm package spec handed to the VM (`name@version`, scoped names, tags). */
const PACKAGE_SPEC = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*@[A-Za-z0-9._+-]+$/;

/**
 * The Node runtime VMs install, pinned by version and checksum (nodejs.org SHASUMS256.txt). The boot side's
 * node-runtime.ts owns the pin; this value stands in for it until that lands.
 */
export const INTERIM_NODE_RUNTIME: NodeRuntimeRef = {
  version: '22.2.0',
  url: 'https://nodejs.org/dist/v22.2.0/node-v22.2.0-linux-x64.tar.gz',
  sha256: '2c6eaf8bfd0f886ed8764ffce19c795e909639105e4056b1d9f8f917bad12cf1',
};

/** `--node-package tclouds@x.y.z`: checked here, before anything is created, since it ends up in user data. */
export function publishedPackage(spec: string): SoftwareInput {
  if (!PACKAGE_SPEC.test(spec)) {
    throw new TcError(PulumiCode.badNodePackage, `--node-package ${JSON.stringify(spec)} is not a package@version`, {
      exit: ExitCode.usage,
      hint: 'name an exact published version, e.g. --node-package tclouds@0.1.0, or leave it out to ship this build',
    });
  }
  return { packageSpec: spec };
}

/** The package root of this installation (sources or dist/), found by its package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'tclouds')
      return dir;
    dir = dirname(dir);
  }
  throw new TcError(PulumiCode.artifactFailed, 'cannot find the tclouds package to ship to the VMs', {
    exit: ExitCode.notFound,
    hint: 'reinstall tclouds, or deploy a published version with --node-package tclouds@x.y.z',
  });
}

/**
 * npm's CLI script: the npm running us (`npm_execpath`), else the one installed beside this Node. Run with this
 * Node, so packing works whatever PATH holds (CI jobs often trim it).
 */
function npmCli(): string {
  const candidates = [
    process.env.npm_execpath,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ];
  const found = candidates.find((c): c is string => !!c && /npm-cli\.js$/.test(c) && existsSync(c));
  if (!found) {
    throw new TcError(PulumiCode.artifactFailed, 'cannot find npm to pack the node software', {
      exit: ExitCode.notFound,
      hint: 'install npm beside Node, or deploy a published version with --node-package tclouds@x.y.z',
    });
  }
  return found;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** `npm pack` of this installation into `outDir`, hashed. */
export const npmPackArtifact: ArtifactSource = async ({ outDir }) => {
  await fs.mkdir(outDir, { recursive: true, mode: 0o700 });
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(
      process.execPath,
      [npmCli(), 'pack', '--ignore-scripts', '--json', '--pack-destination', outDir],
      { cwd: packageRoot(), maxBuffer: PACK_OUTPUT_BYTES },
    ));
  } catch (e) {
    throw new TcError(PulumiCode.artifactFailed, `packing the node software failed: ${(e as Error).message}`, {
      exit: ExitCode.failure,
      hint: 'run the npm command above by hand to see why, or deploy a published version with --node-package tclouds@x.y.z',
    });
  }
  const packed = (JSON.parse(stdout) as { filename: string }[])[0];
  if (!packed) throw new TcError(PulumiCode.artifactFailed, 'npm pack produced no file', { exit: ExitCode.failure });
  const path = join(outDir, packed.filename.replace(/^@/, '').replace(/\//, '-'));
  const [sha256, st] = await Promise.all([sha256File(path), fs.stat(path)]);
  return { path, sha256, bytes: st.size };
};
