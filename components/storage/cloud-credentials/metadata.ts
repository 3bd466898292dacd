/**
 * The instance metadata services a gateway asks for its VM's identity, and the one HTTP helper that asks them.
 * By default the providers' link-local addresses, contacted only when a cloud's credential source is an instance
 * identity. Overridable per gateway (`config.metadataEndpoints`) or per process (TCLOUDS_*_METADATA_ENDPOINT), so
 * tests point them at a loopback stand-in.
 */
import { ExitCode, TcError } from '../../../kernel/errors.js';
import { StorageCode } from '../codes.js';
import type { CredentialSourceName, MetadataEndpoints } from './source.js';

export type IdentityProvider = 'aws' | 'azure' | 'gcp';

/**
 * The providers' documented link-local addresses (EC2 IMDS, Azure IMDS, the GCE metadata server, which also
 * answers as `metadata.google.internal`: the address needs no DNS).
 */
export const DEFAULT_METADATA_ENDPOINTS: Record<IdentityProvider, string> = {
  aws: 'http://169.254.169.254',
  azure: 'http://169.254.169.254',
  gcp: 'http://169.254.169.254',
};

export const METADATA_ENDPOINT_ENV: Record<IdentityProvider, string> = {
  aws: 'TCLOUDS_AWS_METADATA_ENDPOINT',
  azure: 'TCLOUDS_AZURE_METADATA_ENDPOINT',
  gcp: 'TCLOUDS_GCP_METADATA_ENDPOINT',
};

/** A metadata service answers on the VM's own host; anything slower is not coming. */
export const METADATA_TIMEOUT_MS = 3_000;
/** Tries per request (the services throttle and restart; a short wait between tries). */
export const METADATA_ATTEMPTS = 3;
export const METADATA_RETRY_MS = 100;

/** The endpoint of `provider`: the gateway's config, else the environment, else the link-local default. */
export function metadataEndpoint(
  provider: IdentityProvider,
  config: MetadataEndpoints | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const url = config?.[provider] ?? env[METADATA_ENDPOINT_ENV[provider]] ?? DEFAULT_METADATA_ENDPOINTS[provider];
  return url.replace(/\/+$/, '');
}

/** Which bucket a credential is for, named in every error. */
export interface CredentialSubject {
  cloud: string;
  bucket: string;
  source: CredentialSourceName;
}

export function credentialError(code: string, who: CredentialSubject, message: string, hint: string): TcError {
  return new TcError(code, `cloud ${who.cloud}, bucket ${who.bucket}, credentials ${who.source}: ${message}`, {
    exit: code === StorageCode.metadataUnreachable ? ExitCode.failure : ExitCode.invalid,
    hint,
    location: { path: `config.credentials.${who.cloud}` },
  });
}

const HINTS: Record<IdentityProvider, { down: string; refused: string }> = {
  aws: {
    down: 'the gateway must run on an EC2 instance with IMDSv2 reachable (hop limit >= 1); elsewhere set TCLOUDS_AWS_METADATA_ENDPOINT or use a `file` source',
    refused: 'attach an instance profile whose role may read and write the bucket (the cloud deploy does this)',
  },
  azure: {
    down: 'the gateway must run on an Azure VM; elsewhere set TCLOUDS_AZURE_METADATA_ENDPOINT or use a `file` source',
    refused:
      'assign the node its managed identity with "Storage Blob Data Contributor" on the container (the cloud deploy does this)',
  },
  gcp: {
    down: 'the gateway must run on a GCE VM; elsewhere set TCLOUDS_GCP_METADATA_ENDPOINT or use a `file` source',
    refused:
      'run the VM as a service account with roles/storage.objectAdmin on the bucket (the cloud deploy does this)',
  },
};

export function metadataRefused(provider: IdentityProvider, who: CredentialSubject, what: string): TcError {
  return credentialError(StorageCode.metadataRefused, who, what, HINTS[provider].refused);
}

/**
 * One request to a metadata service; its body as text. Connection failures and timeouts are retried a few times,
 * then TC218; an error status is TC219 at once (the service answered: retrying does not attach a role).
 */
export async function metadataRequest(
  provider: IdentityProvider,
  who: CredentialSubject,
  url: string,
  init: { method?: string; headers: Record<string, string> },
): Promise<string> {
  let last: unknown;
  for (let attempt = 1; attempt <= METADATA_ATTEMPTS; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(METADATA_TIMEOUT_MS), redirect: 'error' });
    } catch (e) {
      last = e;
      if (attempt < METADATA_ATTEMPTS) await new Promise((r) => setTimeout(r, METADATA_RETRY_MS * attempt));
      continue;
    }
    const body = await res.text();
    if (!res.ok) throw metadataRefused(provider, who, `${new URL(url).pathname} answered ${res.status}`);
    return body;
  }
  const reason = (last as { cause?: { code?: string } })?.cause?.code ?? (last as Error)?.name ?? String(last);
  throw credentialError(
    StorageCode.metadataUnreachable,
    who,
    `the metadata service at ${new URL(url).origin} did not answer (${reason}, ${METADATA_ATTEMPTS} tries)`,
    HINTS[provider].down,
  );
}

/** Parse a metadata answer as JSON, or TC219. */
export function metadataJson(
  provider: IdentityProvider,
  who: CredentialSubject,
  text: string,
): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw metadataRefused(provider, who, 'the metadata service answered something that is not a JSON object');
}
