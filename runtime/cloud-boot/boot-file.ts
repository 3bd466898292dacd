/**
 * /etc/tclouds/boot.json: what a cloud VM knows about itself before it has fetched anything, written by
 * cloud-init and read by the artifact fetcher (at first boot) and by `tclouds node fetch-secrets` (before every
 * start). Nothing in it is secret: it names the secret store entries, never their values.
 *
 * `endpoints` exists for tests only: it points the instance metadata service, the object stores and the secret
 * stores at loopback stand-ins. The rendering code never writes it, and no environment variable can set it, so
 * a process on the VM cannot redirect where the node gets its identity or secrets without already being able to
 * write a root-owned file.
 */
import { readFileSync } from 'node:fs';
import { TcError } from '../../kernel/errors.js';
import { NodeCode } from '../codes.js';

export type BootProvider = 'aws' | 'azure' | 'gcp';

export const ENDPOINT_NAMES = [
  'awsImds',
  's3',
  'secretsManager',
  'azureImds',
  'azureBlob',
  'keyVault',
  'gcpMetadata',
  'gcs',
  'secretManager',
] as const;
export type EndpointName = (typeof ENDPOINT_NAMES)[number];

export interface BootSecret {
  kind: string;
  /** Secrets Manager ARN, Key Vault secret id (URL) or Secret Manager name (`projects/P/secrets/S`). */
  ref: string;
  /** Where the value is written (0600, owned by the user that runs the fetch). */
  path: string;
}

export interface BootFile {
  version: 1;
  nodeId: string;
  provider: BootProvider;
  region?: string;
  /**
   * Spec, keys and the `software` record (what to run: software.ts), each read at every start. The node software
   * is never named here, so a new build never changes boot.json (nor the VM's user data).
   */
  secrets: BootSecret[];
  paths: {
    /** The installed package (bin/run.js inside): a link to the version in use under `<dir>/versions/`. */
    app: string;
    /** The installed Node runtime (bin/node inside): a link to the runtime in use under `<dir>/runtimes/`. */
    node: string;
    /** The node spec the unit starts (one of the secrets). */
    spec: string;
  };
  endpoints?: Partial<Record<EndpointName, string>>;
}

function invalid(file: string, what: string): TcError {
  return new TcError(NodeCode.bootFileInvalid, `${file}: ${what}`, {
    hint: 'boot.json is written by cloud-init from the deployment; redeploy the node, or compare it with `tclouds plan --target <provider>`',
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Checks the shape by hand (the artifact fetcher is bundled into user data: no schema library in it). */
export function parseBootFile(text: string, file: string): BootFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid(file, 'is not valid JSON');
  }
  if (!isObject(raw) || raw.version !== 1) throw invalid(file, 'is not a version 1 boot file');
  if (!str(raw.nodeId)) throw invalid(file, 'has no nodeId');
  if (raw.provider !== 'aws' && raw.provider !== 'azure' && raw.provider !== 'gcp') {
    throw invalid(file, `names an unknown provider ${JSON.stringify(raw.provider)}`);
  }
  if (raw.region !== undefined && !str(raw.region)) throw invalid(file, 'has an empty region');
  if (
    !Array.isArray(raw.secrets) ||
    !raw.secrets.every((s) => isObject(s) && str(s.kind) && str(s.ref) && str(s.path))
  ) {
    throw invalid(file, 'secrets must be a list of { kind, ref, path }');
  }
  const p = raw.paths;
  if (!isObject(p) || !str(p.app) || !str(p.node) || !str(p.spec))
    throw invalid(file, 'paths needs app, node and spec');
  const e = raw.endpoints;
  if (e !== undefined) {
    if (!isObject(e)) throw invalid(file, 'endpoints must be an object');
    for (const [k, v] of Object.entries(e)) {
      if (!(ENDPOINT_NAMES as readonly string[]).includes(k) || !str(v)) throw invalid(file, `bad endpoint ${k}`);
    }
  }
  return raw as unknown as BootFile;
}

export function readBootFile(file: string): BootFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TcError(NodeCode.bootFileInvalid, `cannot read ${file}: ${(e as Error).message}`, {
      exit: 4,
      hint: 'on a cloud VM cloud-init writes /etc/tclouds/boot.json; pass --boot with its path',
    });
  }
  return parseBootFile(text, file);
}

/** The endpoint to use: the test override if boot.json has one, else the provider's real one. */
export function endpoint(boot: BootFile, name: EndpointName, real: string): string {
  return (boot.endpoints?.[name] ?? real).replace(/\/+$/, '');
}
