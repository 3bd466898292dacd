/**
 * Where a cloud stack keeps its Pulumi state and how its secrets are encrypted, without a Pulumi account:
 *
 * - state: `file://<stackDir>/pulumi-state` by default; `--backend` or TCLOUDS_PULUMI_BACKEND names a shared
 *   bucket for teams (`s3://`, `azblob://`, `gs://`) or another directory (`file://`). Nothing else is accepted:
 *   Pulumi Cloud (`https://`) would need an account and a token this tool never asks for.
 * - secrets: Pulumi's passphrase provider. The passphrase is PULUMI_CONFIG_PASSPHRASE or the file named by
 *   PULUMI_CONFIG_PASSPHRASE_FILE when set (a team shares it that way), else TCLOUDS_PASSPHRASE (older releases),
 *   else a random one generated once into `<stackDir>/pulumi-passphrase` (0600). The engine is given the file's
 *   path, never the text, so the passphrase is in no environment, log or --json output.
 *
 * `resolveBackend` and `resolveSecrets` decide without touching anything; `ensureStackPassphrase` writes the file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ExitCode, TcError } from '../../kernel/errors.js';
import { DeployCode } from '../codes.js';

/** The state directory and passphrase file inside a stack directory (local destroy leaves both alone). */
export const STATE_DIR_NAME = 'pulumi-state';
export const PASSPHRASE_FILE_NAME = 'pulumi-passphrase';

/** Environment variables read here, in the order they win. */
export const BACKEND_ENV = ['TCLOUDS_PULUMI_BACKEND', 'TCLOUDS_BACKEND'] as const;

/** Random bytes of a generated passphrase (hex encoded: 64 characters). */
const PASSPHRASE_BYTES = 32;

export const BACKEND_SCHEMES = ['file', 's3', 'azblob', 'gs'] as const;
export type BackendKind = (typeof BACKEND_SCHEMES)[number];

export interface BackendChoice {
  url: string;
  kind: BackendKind;
  /** Where the choice came from: the default in the stack directory, `--backend`, or an environment variable. */
  source: 'default' | 'flag' | (typeof BACKEND_ENV)[number];
  /** file backends: the directory (absolute). */
  dir?: string;
}

export interface SecretsChoice {
  source: 'PULUMI_CONFIG_PASSPHRASE' | 'PULUMI_CONFIG_PASSPHRASE_FILE' | 'TCLOUDS_PASSPHRASE' | 'stack-file';
  /** The file the engine reads it from (PULUMI_CONFIG_PASSPHRASE_FILE, or the stack's file). */
  file?: string;
  /** The text itself only when it came from an environment variable (then it is in the environment already). */
  passphrase?: string;
}

/** The state backend of a stack: the flag, else the environment, else the file backend in the stack directory. */
export function resolveBackend(stackDir: string, flag?: string, env: NodeJS.ProcessEnv = process.env): BackendChoice {
  if (flag !== undefined && flag !== '') return parseBackend(flag, 'flag', stackDir);
  for (const name of BACKEND_ENV) {
    const v = env[name];
    if (v !== undefined && v !== '') return parseBackend(v, name, stackDir);
  }
  const dir = join(resolve(stackDir), STATE_DIR_NAME);
  return { url: pathToFileURL(dir).href, kind: 'file', source: 'default', dir };
}

function parseBackend(raw: string, source: BackendChoice['source'], stackDir: string): BackendChoice {
  const m = /^([a-z0-9]+):\/\/(.*)$/.exec(raw);
  const scheme = m?.[1] as BackendKind | undefined;
  const rest = m?.[2] ?? '';
  if (!scheme || !(BACKEND_SCHEMES as readonly string[]).includes(scheme) || rest === '') {
    const from = source === 'flag' ? '--backend' : source;
    throw new TcError(DeployCode.badBackend, `${from} "${raw}" is not a state backend tclouds can use`, {
      exit: ExitCode.usage,
      hint:
        'use s3://<bucket>, azblob://<container>, gs://<bucket> (a bucket your team shares) or file://<directory>; ' +
        `leave it unset for the file backend in the stack directory (${join(stackDir, STATE_DIR_NAME)})`,
    });
  }
  if (scheme !== 'file') return { url: raw, kind: scheme, source };
  // file://relative/dir is read relative to the working directory, as the pulumi CLI does.
  const dir = rest.startsWith('/') ? fileURLToPath(raw) : resolve(rest);
  return { url: pathToFileURL(dir).href, kind: 'file', source, dir };
}

/** Where the passphrase comes from; the stack's own file when nothing in the environment names one. */
export function resolveSecrets(stackDir: string, env: NodeJS.ProcessEnv = process.env): SecretsChoice {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined && env.PULUMI_CONFIG_PASSPHRASE !== '')
    return { source: 'PULUMI_CONFIG_PASSPHRASE', passphrase: env.PULUMI_CONFIG_PASSPHRASE };
  if (env.PULUMI_CONFIG_PASSPHRASE_FILE)
    return { source: 'PULUMI_CONFIG_PASSPHRASE_FILE', file: resolve(env.PULUMI_CONFIG_PASSPHRASE_FILE) };
  if (env.TCLOUDS_PASSPHRASE !== undefined && env.TCLOUDS_PASSPHRASE !== '')
    return { source: 'TCLOUDS_PASSPHRASE', passphrase: env.TCLOUDS_PASSPHRASE };
  return { source: 'stack-file', file: join(resolve(stackDir), PASSPHRASE_FILE_NAME) };
}

/**
 * Makes the passphrase usable: a stack file is created (random, 0600) when it does not exist yet, and a named file
 * must be readable. Returns the choice unchanged; never returns or logs the text of a file.
 */
export async function ensureStackPassphrase(choice: SecretsChoice): Promise<SecretsChoice> {
  if (!choice.file) return choice;
  try {
    readFileSync(choice.file, 'utf8');
    return choice;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || choice.source !== 'stack-file')
      throw passphraseError(choice.file, e);
  }
  try {
    await fs.mkdir(dirname(choice.file), { recursive: true, mode: 0o700 });
    // Exclusive create: of two deploys racing to it, one writes and both then use that file.
    const h = await fs.open(choice.file, 'wx', 0o600);
    try {
      await h.writeFile(`${randomBytes(PASSPHRASE_BYTES).toString('hex')}\n`);
      await h.sync();
    } finally {
      await h.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw passphraseError(choice.file, e);
  }
  return choice;
}

function passphraseError(file: string, e: unknown): TcError {
  return new TcError(
    DeployCode.passphraseUnreadable,
    `the Pulumi secrets passphrase file ${file} cannot be used: ${(e as Error).message}`,
    {
      exit: ExitCode.notFound,
      hint: 'make the file readable (and its directory writable for the first deploy), or set PULUMI_CONFIG_PASSPHRASE; the same passphrase is needed for every later deploy, destroy and outputs of the stack',
      location: { file },
    },
  );
}

/** The one line a cloud deploy, destroy or plan prints about state and secrets (no secret in it). */
export function backendNotice(backend: BackendChoice, secrets: SecretsChoice): string {
  const state =
    backend.source === 'default'
      ? `Pulumi state: file backend in ${backend.dir} (no Pulumi account needed; --backend s3://|azblob://|gs:// to share it)`
      : `Pulumi state: ${backend.url} (from ${backend.source === 'flag' ? '--backend' : backend.source})`;
  const pass =
    secrets.source === 'stack-file'
      ? `secrets: passphrase provider, passphrase in ${secrets.file} (0600, generated once; keep it with the state)`
      : `secrets: passphrase provider, passphrase from ${secrets.source}`;
  return `${state}; ${pass}`;
}
