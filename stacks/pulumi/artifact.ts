/**
 * The node software artifact: the build that runs the deploy (dist/, bin/, templates/, package.json and the
 * oclif manifest) with its locked production dependencies, packed into one gzipped tarball under `package/`
 * (the layout of `npm pack`) in the stack directory. A cloud VM downloads it with its own identity, checks the
 * SHA-256 returned here and unpacks it into /opt/tclouds/app: the nodes run exactly what deployed them.
 *
 * Deterministic: files sorted, fixed mtimes and owners, modes 0644/0755 only; the same build and lockfile give
 * the same SHA-256. Dependencies come from the installed node_modules, chosen by package-lock.json: the
 * production closure of package.json, without the Pulumi SDKs, which only the deploying machine loads (hundreds
 * of MB a VM never reads). Symbolic links (node_modules/.bin) are left out: nothing on the VM runs them.
 */
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  promises as fs,
  readdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { TcError } from '../../kernel/errors.js';
import { PulumiCode } from './codes.js';
import { tarEnd, tarEntry } from './tar-writer.js';

/** Production dependencies the node never loads: the deploy's infrastructure SDKs. */
export const DEPLOY_ONLY_PACKAGES = /^@pulumi\//;
/** Top-level entries of this package that go into the artifact (node_modules is chosen separately). */
export const PACKAGE_ENTRIES = ['package.json', 'oclif.manifest.json', 'bin', 'dist', 'templates'] as const;
/** What `tclouds node run` needs at least: packing without it is refused. */
export const REQUIRED_FILES = [
  'package.json',
  'bin/run.js',
  'dist/commands/node/run.js',
  'dist/commands/node/fetch-secrets.js',
];
const GZIP_LEVEL = 6;

interface LockPackage {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  dev?: boolean;
}

function packFailed(message: string, hint: string): TcError {
  return new TcError(PulumiCode.artifactPackFailed, message, { exit: 7, hint });
}

/** The root of this tclouds installation (where its package.json is). */
export function packageRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'tclouds') return dir;
    dir = join(dir, '..');
  }
  throw packFailed('cannot find the package.json of tclouds', 'reinstall tclouds');
}

/** node_modules/... directories of the production closure, resolved as Node resolves them (nearest first). */
export function productionModules(root: string): string[] {
  const lockFile = join(root, 'package-lock.json');
  if (!existsSync(lockFile))
    throw packFailed(
      `${lockFile} is missing`,
      'the artifact holds the locked dependencies: run `npm install` to write the lockfile',
    );
  const packages = (JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, LockPackage> }).packages;
  const found = new Set<string>();
  const queue: [string, string, boolean][] = [];
  const want = (from: string, deps: Record<string, string> | undefined, optional: boolean) => {
    for (const name of Object.keys(deps ?? {}))
      if (!DEPLOY_ONLY_PACKAGES.test(name)) queue.push([from, name, optional]);
  };
  const top = packages['']!;
  want('', top.dependencies, false);
  want('', top.optionalDependencies, true);
  while (queue.length > 0) {
    const [from, name, optional] = queue.shift()!;
    let at: string | undefined;
    for (let base = from; ; base = base.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, '')) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (packages[candidate] && existsSync(join(root, candidate))) {
        at = candidate;
        break;
      }
      if (base === '') break;
    }
    if (at === undefined) {
      if (optional) continue;
      throw packFailed(`${name} (needed by ${from || 'tclouds'}) is not installed`, 'run `npm ci` before deploying');
    }
    if (found.has(at)) continue;
    found.add(at);
    const p = packages[at]!;
    want(at, p.dependencies, false);
    want(at, p.optionalDependencies, true);
    want(at, p.peerDependencies, true);
  }
  return [...found].sort();
}

/** Every regular file under `dir` (relative to `root`, `/`-separated), skipping symlinks and .bin folders. */
function filesUnder(root: string, dir: string, out: string[]): void {
  for (const d of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${d.name}`;
    if (d.isDirectory()) {
      if (d.name === '.bin') continue;
      filesUnder(root, rel, out);
    } else if (d.isFile()) out.push(rel);
  }
}

/** The files of the artifact, relative to the package root, sorted (nested node_modules skipped: listed by path). */
export function artifactFiles(root: string): string[] {
  for (const f of REQUIRED_FILES) {
    if (!existsSync(join(root, f))) throw packFailed(`${f} is missing from ${root}`, 'build first: `npm run build`');
  }
  const out: string[] = [];
  for (const e of PACKAGE_ENTRIES) {
    if (!existsSync(join(root, e))) continue;
    if (statSync(join(root, e)).isDirectory()) filesUnder(root, e, out);
    else out.push(e);
  }
  const modules = productionModules(root);
  for (const m of modules) {
    const files: string[] = [];
    filesUnder(root, m, files);
    // A nested node_modules/ is a package of its own: packed only if the closure holds it.
    out.push(...files.filter((f) => !relative(m, f).split(/[\\/]/).includes('node_modules')));
  }
  return [...new Set(out.map((f) => f.split(sep).join('/')))].sort();
}

async function* tarStream(root: string, files: string[]): AsyncGenerator<Buffer> {
  for (const f of files) {
    const full = join(root, f);
    const data = await fs.readFile(full);
    yield* tarEntry({ path: `package/${f}`, data, executable: (statSync(full).mode & 0o111) !== 0 });
  }
  yield tarEnd();
}

async function sha256OfFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Packs this build into `<outDir>/tclouds-node-<version>.tgz` (atomically: a temporary name, then a rename) and
 * returns its path, SHA-256 and size.
 */
export async function packArtifact(opts: { outDir: string }): Promise<{ path: string; sha256: string; bytes: number }> {
  const root = packageRoot();
  const files = artifactFiles(root);
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  await fs.mkdir(opts.outDir, { recursive: true });
  const path = join(opts.outDir, `tclouds-node-${version}.tgz`);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await pipeline(
      Readable.from(tarStream(root, files)),
      createGzip({ level: GZIP_LEVEL }),
      createWriteStream(tmp, { mode: 0o644 }),
    );
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw packFailed(
      `cannot pack the node software into ${path}: ${(e as Error).message}`,
      'check the free space and permissions of the stack directory',
    );
  }
  return { path, sha256: await sha256OfFile(path), bytes: statSync(path).size };
}
