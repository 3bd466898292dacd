/**
 * GCP buckets from an AWS or Azure VM without a key: workload identity federation. The VM proves its own identity to
 * Google's STS, which returns a short-lived access token for the principal the stack's pool maps it to; the bucket's
 * IAM binding names that principal.
 * - AWS: a GetCallerIdentity request signed with the instance role's credentials (./aws-subject.ts).
 * - Azure: a managed-identity token for `api://AzureADTokenExchange` from Azure IMDS (a JWT naming the identity).
 * The STS endpoint is overridable (`config.metadataEndpoints.googleSts`, TCLOUDS_GOOGLE_STS_ENDPOINT) so tests
 * point it at a loopback stand-in. The token is cached and fetched again before expiry (./token-cache.ts).
 */
import { ExitCode, TcError } from '../../../kernel/errors.js';
import { StorageCode } from '../codes.js';
import { awsSubjectToken } from './aws-subject.js';
import { awsInstanceRole } from './identities.js';
import {
  type CredentialSubject,
  metadataEndpoint,
  metadataJson,
  metadataRefused,
  metadataRequest,
} from './metadata.js';
import type { MetadataEndpoints } from './source.js';
import { type Expiring, RefreshingCredential } from './token-cache.js';

export const DEFAULT_GOOGLE_STS = 'https://sts.googleapis.com/v1/token';
export const GOOGLE_STS_ENV = 'TCLOUDS_GOOGLE_STS_ENDPOINT';
/** The audience Azure AD issues federation tokens for (Microsoft's documented value). */
export const AZURE_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
export const GCS_SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const SUBJECT_TOKEN_TYPES = {
  aws: 'urn:ietf:params:aws:token-type:aws4_request',
  azure: 'urn:ietf:params:oauth:token-type:jwt',
} as const;
const AZURE_IMDS_API_VERSION = '2018-02-01';
/** STS answers in well under a second; a slower answer is not coming. */
export const STS_TIMEOUT_MS = 10_000;
export const STS_ATTEMPTS = 3;
const STS_RETRY_MS = 100;

export type FederatedIdentity = keyof typeof SUBJECT_TOKEN_TYPES;

export function googleStsEndpoint(config: MetadataEndpoints | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return config?.googleSts ?? env[GOOGLE_STS_ENV] ?? DEFAULT_GOOGLE_STS;
}

function stsError(code: string, who: CredentialSubject, message: string, hint: string): TcError {
  return new TcError(code, `cloud ${who.cloud}, bucket ${who.bucket}, credentials federated: ${message}`, {
    exit: code === StorageCode.federationUnreachable ? ExitCode.failure : ExitCode.invalid,
    hint,
    location: { path: `config.credentials.${who.cloud}` },
  });
}

const REFUSED_HINT =
  "the stack's workload identity pool must have a provider for this VM's cloud and the bucket a binding for its identity: deploy every provider in one deployment, `tclouds deploy --target clouds` (its GCP part creates both from this VM's identity)";

/** The Azure managed identity's token for the federation audience. */
async function azureSubjectToken(imds: string, who: CredentialSubject, clientId: string | undefined): Promise<string> {
  const q = new URLSearchParams({ 'api-version': AZURE_IMDS_API_VERSION, resource: AZURE_EXCHANGE_AUDIENCE });
  if (clientId) q.set('client_id', clientId);
  const url = `${imds}/metadata/identity/oauth2/token?${q.toString()}`;
  const body = metadataJson('azure', who, await metadataRequest('azure', who, url, { headers: { Metadata: 'true' } }));
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw metadataRefused('azure', who, 'the token answer has no access_token');
  }
  return body.access_token;
}

/** One token exchange at Google's STS; the access token and its expiry. */
export async function exchangeAtSts(
  sts: string,
  who: CredentialSubject,
  form: Record<string, string>,
  now: () => number,
): Promise<Expiring<string>> {
  let last: unknown;
  for (let attempt = 1; attempt <= STS_ATTEMPTS; attempt++) {
    let res: Response;
    const sentAt = now();
    try {
      res = await fetch(sts, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
        signal: AbortSignal.timeout(STS_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (e) {
      last = e;
      if (attempt < STS_ATTEMPTS) await new Promise((r) => setTimeout(r, STS_RETRY_MS * attempt));
      continue;
    }
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // reported below
    }
    const detail = typeof body.error_description === 'string' ? `: ${body.error_description}` : '';
    if (!res.ok)
      throw stsError(StorageCode.federationRefused, who, `Google STS answered ${res.status}${detail}`, REFUSED_HINT);
    const token = body.access_token;
    const expiresIn = Number(body.expires_in);
    if (typeof token !== 'string' || token === '' || !Number.isFinite(expiresIn)) {
      throw stsError(StorageCode.federationRefused, who, 'Google STS gave no access token', REFUSED_HINT);
    }
    return { value: token, expiresAt: sentAt + expiresIn * 1000 };
  }
  const reason = (last as { cause?: { code?: string } })?.cause?.code ?? (last as Error)?.name ?? String(last);
  throw stsError(
    StorageCode.federationUnreachable,
    who,
    `Google STS at ${new URL(sts).origin} did not answer (${reason}, ${STS_ATTEMPTS} tries)`,
    `the gateway needs outbound HTTPS to sts.googleapis.com; elsewhere set ${GOOGLE_STS_ENV}`,
  );
}

export interface FederatedOptions {
  identity: FederatedIdentity;
  /** The pool provider: `//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>`. */
  audience: () => Promise<string>;
  endpoints: MetadataEndpoints | undefined;
  clientId?: string;
  now?: () => number;
}

/** A GCS access token for the VM's AWS role or Azure managed identity, through Google's STS. */
export function googleFederated(who: CredentialSubject, o: FederatedOptions): RefreshingCredential<string> {
  const now = o.now ?? Date.now;
  const sts = googleStsEndpoint(o.endpoints);
  const role = o.identity === 'aws' ? awsInstanceRole(metadataEndpoint('aws', o.endpoints), who, now) : undefined;
  return new RefreshingCredential(async () => {
    const audience = await o.audience();
    const subject = role
      ? awsSubjectToken((await role.get()).value, audience, now())
      : await azureSubjectToken(metadataEndpoint('azure', o.endpoints), who, o.clientId);
    return exchangeAtSts(
      sts,
      who,
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        audience,
        scope: GCS_SCOPE,
        requested_token_type: ACCESS_TOKEN_TYPE,
        subject_token_type: SUBJECT_TOKEN_TYPES[o.identity],
        subject_token: subject,
      },
      now,
    );
  }, now);
}

/** TC224: the source and the credentials file name no audience for this identity. */
export function noAudience(who: CredentialSubject, identity: FederatedIdentity, file: string | undefined): TcError {
  return stsError(
    StorageCode.federationAudience,
    who,
    `no workload identity pool provider audience for ${identity}${file ? ` (neither in the source nor in ${file})` : ''}`,
    `deploy every provider in one deployment, \`tclouds deploy --target clouds\` (its GCP part creates the pool provider for ${identity} gateways and hands its audience to them)`,
  );
}
