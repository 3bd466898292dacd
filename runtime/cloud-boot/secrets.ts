/**
 * `tclouds node fetch-secrets`: reads each secret boot.json names from the provider's secret store with the VM's
 * own identity and writes it to its file (atomically, mode 0600, owned by the user running the fetch: the node's
 * user under systemd). AWS Secrets Manager GetSecretValue (SigV4 with the instance role), Azure Key Vault (a
 * managed-identity token), GCP Secret Manager `:access` (the service account's token). Always the latest
 * version, at every start: a changed spec reaches the node at its next restart, never through user data.
 */
import { writeFileAtomic } from '../../kernel/atomic-file.js';
import { TcError } from '../../kernel/errors.js';
import { NodeCode } from '../codes.js';
import { type BootFile, type BootSecret, endpoint } from './boot-file.js';
import { type Attempted, bodyText, describe, fetchWithRetry } from './fetch.js';
import { awsRoleCredentials, azureToken, gcpToken } from './identity.js';
import { signV4 } from './sigv4.js';

const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
export const KEY_VAULT_API_VERSION = '7.4';

type Reader = (s: BootSecret) => Promise<{ got: Attempted; value: (json: unknown) => Buffer | undefined }>;

interface Store {
  read: Reader;
  /** What the VM's identity needs on `ref` (the hint of a refusal). */
  grant: (ref: string) => string;
}

async function awsStore(boot: BootFile): Promise<Store> {
  const credentials = await awsRoleCredentials(boot);
  return {
    grant: (ref) =>
      `the instance role needs secretsmanager:GetSecretValue on ${ref} (and kms:Decrypt if the secret uses a customer key)`,
    read: async (s) => {
      const region = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(s.ref)?.[1] ?? boot.region ?? '';
      const url = `${endpoint(boot, 'secretsManager', `https://secretsmanager.${region}.amazonaws.com`)}/`;
      const body = JSON.stringify({ SecretId: s.ref });
      const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' };
      const got = await fetchWithRetry(url, () => ({
        method: 'POST',
        body,
        headers: signV4({
          method: 'POST',
          url: new URL(url),
          headers,
          body,
          region,
          service: 'secretsmanager',
          credentials,
          now: new Date(),
        }),
      }));
      return {
        got,
        value: (j) => {
          const r = j as { SecretString?: string; SecretBinary?: string };
          if (typeof r.SecretString === 'string') return Buffer.from(r.SecretString, 'utf8');
          return typeof r.SecretBinary === 'string' ? Buffer.from(r.SecretBinary, 'base64') : undefined;
        },
      };
    },
  };
}

async function azureStore(boot: BootFile): Promise<Store> {
  const token = await azureToken(boot, KEY_VAULT_RESOURCE);
  return {
    grant: (ref) =>
      `the VM's managed identity needs the Key Vault Secrets User role on ${ref} (or "get" on secrets in the vault's access policy)`,
    read: async (s) => {
      const u = new URL(s.ref);
      const override = boot.endpoints?.keyVault;
      const url = `${override ? `${endpoint(boot, 'keyVault', override)}${u.pathname}` : s.ref}?api-version=${KEY_VAULT_API_VERSION}`;
      const got = await fetchWithRetry(url, () => ({ headers: { authorization: `Bearer ${token}` } }));
      return {
        got,
        value: (j) =>
          typeof (j as { value?: unknown }).value === 'string'
            ? Buffer.from((j as { value: string }).value, 'utf8')
            : undefined,
      };
    },
  };
}

async function gcpStore(boot: BootFile): Promise<Store> {
  const token = await gcpToken(boot);
  return {
    grant: (ref) => `the VM's service account needs roles/secretmanager.secretAccessor on ${ref}`,
    read: async (s) => {
      const url = `${endpoint(boot, 'secretManager', 'https://secretmanager.googleapis.com')}/v1/${s.ref}/versions/latest:access`;
      const got = await fetchWithRetry(url, () => ({ headers: { authorization: `Bearer ${token}` } }));
      return {
        got,
        value: (j) => {
          const data = (j as { payload?: { data?: unknown } }).payload?.data;
          return typeof data === 'string' ? Buffer.from(data, 'base64') : undefined;
        },
      };
    },
  };
}

const STORES = { aws: awsStore, azure: azureStore, gcp: gcpStore } as const;

/** The store's error type, when its answer names one (AWS `__type`, Google/Azure `error.status`/`error.code`). */
function errorType(text: string): string {
  try {
    const j = JSON.parse(text) as { __type?: string; error?: { status?: string; code?: string | number } };
    const t = j.__type ?? j.error?.status ?? j.error?.code;
    return t === undefined ? '' : ` ${String(t).replace(/^.*#/, '')}`;
  } catch {
    return '';
  }
}

async function readOne(boot: BootFile, store: Store, s: BootSecret): Promise<Buffer> {
  const { got, value } = await store.read(s);
  const what = `${boot.provider}: cannot read the ${s.kind} secret ${s.ref}`;
  const text = await bodyText(got);
  // Secrets Manager answers a refusal with 400 and an AccessDeniedException type, the others with 401/403.
  const denied = got.response?.status === 401 || got.response?.status === 403 || /AccessDenied/.test(text);
  if (denied)
    throw new TcError(NodeCode.secretDenied, `${what}: refused (${describe(got)})`, { hint: store.grant(s.ref) });
  if (!got.response?.ok) {
    const hint =
      got.response?.status === 404 || /ResourceNotFound/.test(text)
        ? 'the secret does not exist (yet): run `tclouds deploy` again'
        : 'the VM could not reach the secret store: check its outbound access and DNS';
    throw new TcError(NodeCode.secretFetchFailed, `${what} (${describe(got)}${errorType(text)})`, { hint });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const v = parsed === undefined ? undefined : value(parsed);
  if (!v || v.length === 0) {
    throw new TcError(NodeCode.secretFetchFailed, `${what}: the answer holds no value`, {
      hint: 'run `tclouds deploy` again to rewrite the secret',
    });
  }
  return v;
}

/** Reads the one secret of boot.json of this kind (the `software` record), without writing it anywhere. */
export async function readSecret(boot: BootFile, kind: string): Promise<Buffer> {
  const s = boot.secrets.find((x) => x.kind === kind);
  if (!s) {
    throw new TcError(NodeCode.bootFileInvalid, `boot.json names no ${kind} secret`, {
      hint: 'boot.json is written at first boot; a VM created before this secret existed needs to be replaced once',
    });
  }
  return readOne(boot, await STORES[boot.provider](boot), s);
}

/** Fetches every secret of boot.json into its file; returns the kinds and paths written (never the values). */
export async function fetchSecrets(boot: BootFile): Promise<{ kind: string; path: string }[]> {
  const store = await STORES[boot.provider](boot);
  const written: { kind: string; path: string }[] = [];
  for (const s of boot.secrets) {
    const value = await readOne(boot, store, s);
    try {
      await writeFileAtomic(s.path, value, { mode: 0o600 });
    } catch (e) {
      throw new TcError(
        NodeCode.secretWriteFailed,
        `cannot write the ${s.kind} secret to ${s.path}: ${(e as Error).message}`,
        {
          hint: 'the unit runs the fetch as the node user; its RuntimeDirectory must exist and belong to that user',
        },
      );
    }
    written.push({ kind: s.kind, path: s.path });
  }
  return written;
}
