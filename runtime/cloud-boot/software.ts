/**
 * The node software of a cloud VM, installed before every start (the unit's first ExecStartPre, as root, and the
 * boot script at first boot): the node's `software` secret holds a software record (what to run: the artifact
 * object and its SHA-256, or a published package, and the pinned Node runtime). When the record names something
 * other than what is installed, the new version is downloaded with the VM's own identity, checked against its
 * SHA-256, unpacked into a new versioned directory and only then put in use by renaming a link over the old one
 * (`<dir>/app -> versions/<id>`, `<dir>/node -> runtimes/<id>`). A refused or failed download leaves the installed
 * version and its links exactly as they were. The version in use before stays on disk for a rollback (a deploy of
 * the old build switches back without downloading); older ones are removed.
 *
 * The record lives in the secret store rather than in user data, so a new build changes no VM: `deploy` writes the
 * new record and restarts the nodes in waves (stacks/pulumi/rollout.ts), each installing it at its restart.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { TcError } from '../../kernel/errors.js';
import { SoftwareCode } from '../codes.js';
import { fetchArtifact } from './artifact.js';
import type { BootFile } from './boot-file.js';
import { DOWNLOAD_TIMEOUT_MS, describe, fetchWithRetry } from './fetch.js';

/** What a node runs. Written by the deploy (stacks/pulumi/node-boot.ts `softwareRecordOf`) into its secret. */
export interface SoftwareRecord {
  version: 1;
  /** The stack's artifact object (`s3://`, `https://ACCOUNT.blob.core.windows.net/`, `gs://`) and its SHA-256. */
  artifact?: { locator: string; sha256: string };
  /** A published package (`--node-package`), instead of the artifact. */
  package?: string;
  /** The pinned Node runtime: an official tarball and its SHA-256. */
  nodeRuntime: { version: string; url: string; sha256: string };
}

/** What is in use and what was before (`<dir>/installed.json`). */
export interface Installed {
  current: InstalledVersion;
  previous?: InstalledVersion;
}
export interface InstalledVersion {
  /** Directory names under versions/ and runtimes/. */
  software: string;
  runtime: string;
  /** The artifact's SHA-256, or the package spec. */
  what: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
/** Values that become directory names or command arguments: nothing a shell or a path could misread. */
const SAFE = /^[A-Za-z0-9@._/:+=-]+$/;
const RUNTIME_ID_HASH_CHARS = 16;

function invalid(why: string): TcError {
  return new TcError(SoftwareCode.recordInvalid, `the node's software record ${why}`, {
    hint: 'the record is written by `tclouds deploy`; deploy again to rewrite it',
  });
}

const str = (v: unknown): v is string => typeof v === 'string' && SAFE.test(v);

/** Checks the record by hand (this code is bundled into user data: no schema library). */
export function parseSoftwareRecord(text: string): SoftwareRecord {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw invalid('is not JSON');
  }
  if (typeof r !== 'object' || r === null || r.version !== 1) throw invalid('is not a version 1 record');
  const a = r.artifact as Record<string, unknown> | undefined;
  const rt = r.nodeRuntime as Record<string, unknown> | undefined;
  if (a !== undefined && !(str(a.locator) && typeof a.sha256 === 'string' && HEX64.test(a.sha256)))
    throw invalid('has an artifact without a locator and a lower-case hex SHA-256');
  if (r.package !== undefined && !str(r.package)) throw invalid('has an unsafe package spec');
  if ((a === undefined) === (r.package === undefined)) throw invalid('must name either an artifact or a package');
  if (!rt || !str(rt.version) || !str(rt.url) || typeof rt.sha256 !== 'string' || !HEX64.test(rt.sha256))
    throw invalid('has no Node runtime with a version, a URL and a SHA-256');
  return r as unknown as SoftwareRecord;
}

/** The directory a version is unpacked into: the artifact's SHA-256, or the package spec. */
export function softwareId(r: SoftwareRecord): string {
  return r.artifact ? `sha256-${r.artifact.sha256}` : `pkg-${r.package!.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

export function runtimeId(r: SoftwareRecord): string {
  return `node-${r.nodeRuntime.version}-${r.nodeRuntime.sha256.slice(0, RUNTIME_ID_HASH_CHARS)}`;
}

interface Layout {
  dir: string;
  app: string;
  node: string;
  versions: string;
  runtimes: string;
  downloads: string;
  installed: string;
}

function layoutOf(boot: BootFile): Layout {
  const dir = path.dirname(boot.paths.app);
  return {
    dir,
    app: boot.paths.app,
    node: boot.paths.node,
    versions: path.join(dir, 'versions'),
    runtimes: path.join(dir, 'runtimes'),
    downloads: path.join(dir, 'downloads'),
    installed: path.join(dir, 'installed.json'),
  };
}

export function readInstalled(boot: BootFile): Installed | undefined {
  const file = layoutOf(boot).installed;
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Installed;
  } catch {
    return undefined;
  }
}

function installFailed(what: string, why: string): TcError {
  return new TcError(SoftwareCode.installFailed, `cannot install ${what}: ${why}`, {
    hint: 'the version installed before stays in use; look at the disk space and the artifact, then restart the node',
  });
}

function run(cmd: string, args: string[], what: string, env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw installFailed(what, `${cmd} ${args[0]} failed: ${(r.stderr || r.error?.message) ?? ''}`);
}

/** Unpacks a tarball into `<dest>.new`, checks it with `ok`, then renames it to `dest` (never a half tree). */
async function unpackInto(tarball: string, dest: string, what: string, ok: (dir: string) => void): Promise<void> {
  const tmp = `${dest}.new`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  try {
    run('tar', ['-xf', tarball, '-C', tmp, '--strip-components=1', '--no-same-owner'], what);
    ok(tmp);
    await fs.rename(tmp, dest);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Downloads the pinned Node tarball (public: no identity) and keeps it only if its SHA-256 is the pinned one. */
async function fetchRuntime(rt: SoftwareRecord['nodeRuntime'], out: string): Promise<void> {
  const got = await fetchWithRetry(rt.url, () => ({}), DOWNLOAD_TIMEOUT_MS);
  if (!got.response?.ok) {
    await got.response?.body?.cancel();
    throw new TcError(
      SoftwareCode.runtimeFetchFailed,
      `cannot download Node ${rt.version} from ${rt.url} (${describe(got)})`,
      {
        hint: 'the VM needs outbound HTTPS to nodejs.org; the runtime installed before stays in use',
      },
    );
  }
  const bytes = Buffer.from(await got.response.arrayBuffer());
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== rt.sha256) {
    throw new TcError(
      SoftwareCode.runtimeMismatch,
      `Node ${rt.version} from ${rt.url} has SHA-256 ${digest}, the pinned one is ${rt.sha256}: refusing to install it`,
      { hint: 'the runtime installed before stays in use; check the pin in stacks/pulumi/node-runtime.ts' },
    );
  }
  await fs.writeFile(out, bytes, { mode: 0o600 });
}

async function ensureRuntime(l: Layout, r: SoftwareRecord): Promise<string> {
  const dest = path.join(l.runtimes, runtimeId(r));
  if (existsSync(path.join(dest, 'bin', 'node'))) return dest;
  const file = path.join(l.downloads, `${runtimeId(r)}.tar`);
  await fetchRuntime(r.nodeRuntime, file);
  try {
    await unpackInto(file, dest, `Node ${r.nodeRuntime.version}`, (dir) =>
      run(path.join(dir, 'bin', 'node'), ['--version'], `Node ${r.nodeRuntime.version} (it does not run)`),
    );
  } finally {
    await fs.rm(file, { force: true });
  }
  return dest;
}

/** The version's directory and, inside it, the package root the app link points at. */
async function ensureApp(boot: BootFile, l: Layout, r: SoftwareRecord, runtime: string): Promise<string> {
  const dest = path.join(l.versions, softwareId(r));
  const root = r.artifact ? dest : path.join(dest, 'node_modules', 'tclouds');
  if (existsSync(path.join(root, 'bin', 'run.js'))) return root;
  const hasRunJs = (dir: string) => {
    const inside = r.artifact ? dir : path.join(dir, 'node_modules', 'tclouds');
    if (!existsSync(path.join(inside, 'bin', 'run.js')))
      throw installFailed('the node software', 'it has no bin/run.js');
  };
  if (r.artifact) {
    const file = path.join(l.downloads, `${softwareId(r)}.tgz`);
    await fetchArtifact(boot, r.artifact, file);
    try {
      await unpackInto(file, dest, `the node software ${r.artifact.locator}`, hasRunJs);
    } finally {
      await fs.rm(file, { force: true });
    }
    return root;
  }
  // npm resolves the package's dependencies next to it, with the runtime this version runs on.
  const tmp = `${dest}.new`;
  await fs.rm(tmp, { recursive: true, force: true });
  const env = { ...process.env, PATH: `${path.join(runtime, 'bin')}:${process.env.PATH ?? ''}` };
  try {
    run('npm', ['install', '--prefix', tmp, '--omit=dev', '--no-audit', '--no-fund', r.package!], r.package!, env);
    hasRunJs(tmp);
    await fs.rename(tmp, dest);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return root;
}

/** Points `link` at `target` (relative to the link's directory) by renaming a new link over it: atomic. */
async function switchLink(link: string, target: string): Promise<void> {
  const rel = path.relative(path.dirname(link), target);
  const tmp = `${link}.${process.pid}.link`;
  await fs.rm(tmp, { force: true });
  await fs.symlink(rel, tmp);
  await fs.rename(tmp, link);
}

/** Removes versions and runtimes other than the ones in use and the ones before them. */
async function prune(l: Layout, keep: Installed): Promise<void> {
  const kept = (k: 'software' | 'runtime') => new Set([keep.current[k], keep.previous?.[k]].filter(Boolean));
  for (const [dir, names] of [
    [l.versions, kept('software')],
    [l.runtimes, kept('runtime')],
  ] as const) {
    for (const entry of existsSync(dir) ? await fs.readdir(dir) : []) {
      if (!names.has(entry)) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
    }
  }
}

export interface InstallResult {
  /** Whether a new version was put in use (false: the wanted one already was). */
  changed: boolean;
  current: InstalledVersion;
  previous?: InstalledVersion;
}

/** Puts the record's software and runtime in use, downloading and checking what is not on disk yet. */
export async function installSoftware(boot: BootFile, r: SoftwareRecord): Promise<InstallResult> {
  const l = layoutOf(boot);
  const wanted: InstalledVersion = {
    software: softwareId(r),
    runtime: runtimeId(r),
    what: r.artifact ? r.artifact.sha256 : r.package!,
  };
  const before = readInstalled(boot);
  const same = (v?: InstalledVersion) => v?.software === wanted.software && v.runtime === wanted.runtime;
  if (same(before?.current) && existsSync(path.join(l.app, 'bin', 'run.js')) && existsSync(l.node)) {
    return { changed: false, current: wanted, ...(before?.previous ? { previous: before.previous } : {}) };
  }
  await fs.mkdir(l.downloads, { recursive: true, mode: 0o700 });
  await fs.mkdir(l.versions, { recursive: true });
  await fs.mkdir(l.runtimes, { recursive: true });
  const runtime = await ensureRuntime(l, r);
  const app = await ensureApp(boot, l, r, runtime);
  // Both are complete on disk: only now does anything in use change, one rename per link.
  await switchLink(l.node, runtime);
  await switchLink(l.app, app);
  // The version in use before stays for a rollback (a repaired link of the same version keeps the older one).
  const previous = same(before?.current) ? before?.previous : before?.current;
  const installed: Installed = { current: wanted, ...(previous ? { previous } : {}) };
  await fs.writeFile(`${l.installed}.tmp`, `${JSON.stringify(installed, null, 2)}\n`);
  await fs.rename(`${l.installed}.tmp`, l.installed);
  await prune(l, installed);
  return { changed: true, ...installed };
}
